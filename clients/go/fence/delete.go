package fence

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

// Delete deletes a guarded object in the two steps the policy asks for, since a delete
// carries no object to stamp: an update that stamps it with epoch and marks it for
// deletion, then a delete conditional on that update's resourceVersion, so nothing can
// come between the two. A stale writer's delete fails at the first step with a
// *StaleError (see AsStale). objects is the object's resource, namespaced if it is.
func Delete(ctx context.Context, objects dynamic.ResourceInterface, name, lease string, epoch uint64) error {
	current, err := objects.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("fence: deleting %s: read: %w", name, err)
	}
	Stamp(current, lease, epoch)
	annotations := current.GetAnnotations()
	annotations[DeleteAnnotation] = "true"
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
