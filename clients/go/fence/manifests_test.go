package fence

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// The chart for target clusters ships the same CRD and policies as
// deploy/kubernetes/fence, which the tests apply: one of them edited alone fails here.
func TestTheChartShipsTheTestedManifests(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..", "..")
	for tested, shipped := range map[string]string{
		"deploy/kubernetes/fence/crd.yaml":      "charts/drlease-fence/crds/fences.drlease.io.yaml",
		"deploy/kubernetes/fence/policies.yaml": "charts/drlease-fence/files/policies.yaml",
	} {
		a, err := os.ReadFile(filepath.Join(root, tested))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(root, shipped))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s: copy the tested one over", shipped, tested)
		}
	}
}
