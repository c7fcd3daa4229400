//go:build tools

// Package tools pins the kube-apiserver that scripts/kube.sh builds for the tests.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
