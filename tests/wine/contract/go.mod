module hns-emulator/tests/wine/contract

go 1.22
