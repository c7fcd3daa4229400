//go:build tools

// Package tools pins what scripts/deploy-kube.sh generates the Prometheus Operator's CRDs
// (ServiceMonitor, PrometheusRule) from: the operator's API types and controller-gen, the
// generator the operator itself uses.
package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
