module github.com/istio-ecosystem/admiral

go 1.19
