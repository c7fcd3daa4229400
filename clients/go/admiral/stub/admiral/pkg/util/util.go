// Package util stands in for Admiral's admiral/pkg/util: the state every Admiral write
// path checks, with the same names and shape (util.go in istio-ecosystem/admiral).
package util

type AdmiralState struct {
	ReadOnly           bool
	IsStateInitialized bool
}

var (
	CurrentAdmiralState AdmiralState
)

func IsAdmiralReadOnly() bool {
	return CurrentAdmiralState.ReadOnly
}
