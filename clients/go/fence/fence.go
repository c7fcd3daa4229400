// Package fence makes a Kubernetes API server refuse a stale controller's writes.
//
// drlease's promise ends at its answer: at no instant do two pods answer "active". Between
// the answer and the write stands the controller, which can stall (a GC pause, a stopped
// container, a slow call) and write after its window has ended; and on a multi-region
// eventually consistent table both regions hold the lease during a partition, by design.
// Only the resource can refuse such a write, by comparing a fencing token. drlease hands
// one out with every window (X-Drlease-Epoch; Gate.Epoch in the drlease package), and this
// package makes the API server compare it, with the ValidatingAdmissionPolicy
// drlease-fence-epoch that the chart installs (charts/drlease, fence.enabled):
//
//   - The fence of a lease, a cluster-scoped Fence object named after the lease, holds the
//     highest epoch the cluster has accepted. Raise sets it before the first write of a
//     window; the API server refuses to lower it, so two holders raising it at once end
//     with the higher epoch.
//   - Every guarded object is labelled with the lease and annotated with the epoch of the
//     window it is written in (Stamp). The API server refuses a write whose epoch is below
//     the fence, or below the epoch already on the stored object. The second check is made
//     against the stored object atomically with its resourceVersion, so once a newer holder
//     has written an object no older epoch's write to it is ever admitted, even before
//     this API server's policy cache has seen the raised fence. The first reaches every
//     guarded object, once the cache has it (WaitEnforced waits for that).
//   - A delete carries no object, so a guarded object is deleted in two steps (Delete).
//
// A refused write comes back as an error for which AsStale returns a *StaleError: the
// writer's lease has ended, and it must stop and ask the sidecar for a new window.
package fence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

const (
	// LeaseLabel puts an object under the fence of the lease it names.
	LeaseLabel = "drlease.io/lease"
	// EpochAnnotation carries the epoch of the window the object was written in.
	EpochAnnotation = "drlease.io/epoch"
	// DeleteAnnotation marks an object for deletion, the first step of Delete.
	DeleteAnnotation = "drlease.io/delete"
	// WriteAnnotation changes with every write ("<epoch>-<random>"), so that the policy can
	// tell a write that restated its stamp from a patch that left an older one in place.
	WriteAnnotation = "drlease.io/write"
	// ProbeLabel marks WaitEnforced's dry-run probe, which a binding of its own judges, so
	// that its expected refusals are not counted with stale writes (the alert).
	ProbeLabel = "drlease.io/probe"
	// MaxEpoch is the highest epoch the policies read (18 decimal digits): the sidecar's
	// epochs never come near it.
	MaxEpoch = 999_999_999_999_999_999
)

// Resource is the Fence custom resource (cluster-scoped, one per lease).
var Resource = schema.GroupVersionResource{Group: "drlease.io", Version: "v1alpha1", Resource: "fences"}

// Fence raises and reads the fence of one lease in one cluster.
type Fence struct {
	client dynamic.Interface
	lease  string

	mu       sync.Mutex
	enforced uint64 // the highest epoch WaitEnforced saw enforced
}

// New returns the fence of lease in the cluster client talks to.
func New(client dynamic.Interface, lease string) *Fence {
	return &Fence{client: client, lease: lease}
}

// Lease is the name of the lease (and of the Fence object).
func (f *Fence) Lease() string { return f.lease }

// Holder names who raised the fence, for people reading it (not checked).
type Holder struct {
	// Pod that holds the lease.
	Pod string
	// Writer is the user the holder's controller writes as (writer-identity mode only).
	Writer string
	// Writers are all users that write for this lease (writer-identity mode only).
	Writers []string
}

// Raise makes the fence at least epoch, creating it if it does not exist yet, and returns
// the epoch it holds now. It returns a *StaleError when the fence is already above epoch:
// a newer holder raised it, and this one must not write.
func (f *Fence) Raise(ctx context.Context, epoch uint64, who Holder) (uint64, error) {
	if epoch > MaxEpoch {
		return 0, fmt.Errorf("fence %s: epoch %d is above the highest the policies read (%d)", f.lease, epoch, uint64(MaxEpoch))
	}
	fences := f.client.Resource(Resource)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return 0, err
			}
		}
		current, err := fences.Get(ctx, f.lease, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = fences.Create(ctx, f.object(epoch, who), metav1.CreateOptions{FieldManager: "drlease"})
			if apierrors.IsAlreadyExists(err) {
				continue // another holder created it first: compare with it
			}
			if err != nil {
				return 0, f.wrap("create", err)
			}
			return epoch, nil
		}
		if err != nil {
			return 0, f.wrap("read", err)
		}
		held, err := epochOf(current)
		if err != nil {
			return 0, fmt.Errorf("fence %s: %w", f.lease, err)
		}
		if held > epoch {
			return held, &StaleError{Lease: f.lease, Fence: held, Epoch: int64(epoch)}
		}
		if held == epoch && writerOf(current) == who.Writer {
			return held, nil
		}
		next := f.object(epoch, who)
		next.SetResourceVersion(current.GetResourceVersion())
		_, err = fences.Update(ctx, next, metav1.UpdateOptions{FieldManager: "drlease"})
		if apierrors.IsConflict(err) {
			continue // raised meanwhile: read it again
		}
		if stale, ok := AsStale(err); ok {
			stale.Lease, stale.Epoch = f.lease, int64(epoch)
			if held, found, err := f.Get(ctx); err == nil && found {
				stale.Fence = held
			}
			return stale.Fence, stale
		}
		if err != nil {
			return 0, f.wrap("raise", err)
		}
		return epoch, nil
	}
}

// Get returns the epoch the fence holds; found is false before any holder raised it.
func (f *Fence) Get(ctx context.Context) (epoch uint64, found bool, err error) {
	current, err := f.client.Resource(Resource).Get(ctx, f.lease, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, f.wrap("read", err)
	}
	epoch, err = epochOf(current)
	return epoch, err == nil, err
}

func (f *Fence) object(epoch uint64, who Holder) *unstructured.Unstructured {
	spec := map[string]interface{}{"epoch": int64(epoch), "writer": who.Writer}
	if who.Pod != "" {
		spec["holder"] = who.Pod
	}
	if len(who.Writers) > 0 {
		writers := make([]interface{}, len(who.Writers))
		for i, w := range who.Writers {
			writers[i] = w
		}
		spec["writers"] = writers
	}
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "drlease.io/v1alpha1",
		"kind":       "Fence",
		"metadata":   map[string]interface{}{"name": f.lease},
		"spec":       spec,
	}}
}

func (f *Fence) wrap(what string, err error) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("fence %s: %s refused by RBAC (the writer needs get, create and update on fences.drlease.io): %w", f.lease, what, err)
	case apierrors.IsNotFound(err) && what == "create":
		return fmt.Errorf("fence %s: the Fence resource is not installed in this cluster (install charts/drlease-fence, or kubectl apply --server-side -k deploy/kubernetes/fence): %w", f.lease, err)
	}
	return fmt.Errorf("fence %s: %s: %w", f.lease, what, err)
}

func epochOf(o *unstructured.Unstructured) (uint64, error) {
	v, found, err := unstructured.NestedFieldNoCopy(o.Object, "spec", "epoch")
	if err != nil || !found {
		return 0, errors.New("the Fence object has no spec.epoch")
	}
	switch n := v.(type) {
	case int64:
		if n >= 0 {
			return uint64(n), nil
		}
	case float64:
		if n >= 0 && n <= math.MaxInt64 {
			return uint64(n), nil
		}
	}
	return 0, fmt.Errorf("the Fence object's spec.epoch is not an epoch: %v", v)
}

func writerOf(o *unstructured.Unstructured) string {
	w, _, _ := unstructured.NestedString(o.Object, "spec", "writer")
	return w
}

// Stamp labels obj as guarded by lease's fence and annotates it with the epoch of the
// window it is about to be written in, and with a new write value. Call it on every
// object before every write, patches included (a patch must carry both annotations).
func Stamp(obj metav1.Object, lease string, epoch uint64) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LeaseLabel] = lease
	obj.SetLabels(labels)
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[EpochAnnotation] = strconv.FormatUint(epoch, 10)
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	annotations[WriteAnnotation] = strconv.FormatUint(epoch, 10) + "-" + hex.EncodeToString(nonce[:])
	delete(annotations, DeleteAnnotation) // a mark for deletion belongs to the write that set it
	obj.SetAnnotations(annotations)
}

func pause(ctx context.Context, attempt int) error {
	d := time.Duration(attempt) * 10 * time.Millisecond
	if d > 200*time.Millisecond {
		d = 200 * time.Millisecond
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
