package fence

import (
	"context"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// WaitEnforced waits until the API server refuses a write one epoch below epoch under
// this lease's fence, and returns how long that took. The policy reads the fence from a
// cache that follows the stored object a little later: until then an older holder's
// write to an object the new holder has not written yet is still admitted. The probe is
// a dry-run create of a ConfigMap in namespace labelled drlease.io/probe=<lease>, judged by
// the lease's probe binding (nothing is stored; the writer needs RBAC create on
// configmaps there). With several API server replicas, each has its own cache and the
// probe reaches one of them.
func (f *Fence) WaitEnforced(ctx context.Context, namespace string, epoch uint64) (time.Duration, error) {
	start := time.Now()
	if epoch == 0 {
		return 0, nil // nothing is below epoch 0
	}
	probe := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   map[string]interface{}{"name": "drlease-fence-probe-" + f.lease},
	}}
	Stamp(probe, f.lease, epoch-1)
	// Judged by the lease's probe binding, not its main one: the refusal expected here is
	// not a stale write, and the alert counts only the main binding's.
	probe.SetLabels(map[string]string{ProbeLabel: f.lease})
	for attempt := 0; ; attempt++ {
		_, err := f.client.Resource(configMaps).Namespace(namespace).
			Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if stale, ok := AsStale(err); ok && stale.Fence >= epoch {
			f.mu.Lock()
			if epoch > f.enforced {
				f.enforced = epoch
			}
			f.mu.Unlock()
			return time.Since(start), nil
		}
		if err != nil && !apierrors.IsAlreadyExists(err) {
			if _, ok := AsStale(err); !ok {
				return time.Since(start), fmt.Errorf("fence %s: probing enforcement in namespace %s: %w", f.lease, namespace, err)
			}
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("fence %s: epoch %s not enforced after %v: %w",
				f.lease, strconv.FormatUint(epoch, 10), time.Since(start), ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}
