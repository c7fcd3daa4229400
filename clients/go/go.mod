module github.com/drlease/drlease/clients/go

go 1.19

// Admiral itself is not fetched (no module proxy is needed): the checker compiles against
// a stand-in with the same package path and the two names it uses (see admiral/stub).
require github.com/istio-ecosystem/admiral v0.0.0

replace github.com/istio-ecosystem/admiral => ./admiral/stub
