//go:build tools

// Package tools pins the helm that scripts/check-kube.sh builds to install the chart
// into a real API server.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
