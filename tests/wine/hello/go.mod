module hns-emulator/tests/wine/hello

go 1.22
