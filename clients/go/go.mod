module github.com/drlease/drlease/clients/go

go 1.19
