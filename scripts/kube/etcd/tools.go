//go:build tools

// Package tools pins the etcd that scripts/kube.sh builds for the tests.
package tools

import _ "go.etcd.io/etcd/server/v3"
