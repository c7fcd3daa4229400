package fence

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

// Delete deletes a guarded object in the two steps the policy asks for, since a delete
// carries no object to stamp: an update that stamps it with epoch and marks it for
// deletion (the mark is that update's write value, so any later write voids it), then a
// delete conditional on that update's resourceVersion, so nothing can come between the
// two. A stale writer's delete fails at the first step with a *StaleError (see AsStale).
//
// A deleted object keeps no stamp, so nothing would stop an older writer from creating it
// again but the fence itself: Delete therefore refuses to delete before WaitEnforced has
// seen this fence enforced at epoch (on this API server).
func (f *Fence) Delete(ctx context.Context, objects dynamic.ResourceInterface, name string, epoch uint64) error {
	f.mu.Lock()
	enforced := f.enforced
	f.mu.Unlock()
	if enforced < epoch {
		return fmt.Errorf("fence %s: deleting %s at epoch %d before the fence is seen enforced at that epoch "+
			"(a stale writer could create it again): call WaitEnforced first", f.lease, name, epoch)
	}
	current, err := objects.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("fence: deleting %s: read: %w", name, err)
	}
	Stamp(current, f.lease, epoch)
	annotations := current.GetAnnotations()
	annotations[DeleteAnnotation] = annotations[WriteAnnotation]
	current.SetAnnotations(annotations)
	marked, err := objects.Update(ctx, current, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	rv, uid := marked.GetResourceVersion(), marked.GetUID()
	return objects.Delete(ctx, name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{ResourceVersion: &rv, UID: &uid},
	})
}
