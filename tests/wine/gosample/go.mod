module hns-emulator/tests/wine/gosample

go 1.22
