package fence

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

func TestAWriteBelowTheFenceIsRefused(t *testing.T) {
	c := cluster(t)
	lease := newLease(t, c)
	enforcedBinding(t, c, lease)
	raised(t, c, lease, 5)
	cms := c.Resource(configMaps).Namespace("default")
	ctx := context.Background()

	// Create at the fence's epoch: admitted.
	cm := configMap(lease + "-a")
	Stamp(cm, lease, 5)
	created, err := cms.Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a write at the fence's epoch was refused: %v", err)
	}
	// Create below it: refused, with both epochs in the message.
	low := configMap(lease + "-b")
	Stamp(low, lease, 4)
	_, err = cms.Create(ctx, low, metav1.CreateOptions{})
	mustStale(t, err, 5, 4)
	if !strings.Contains(err.Error(), "lease="+lease) || !strings.Contains(err.Error(), "ask the sidecar") {
		t.Fatalf("the refusal does not name the lease and what to do: %v", err)
	}

	// A newer holder raises the fence: the older one's update is refused.
	raised(t, c, lease, 7)
	Stamp(created, lease, 5)
	_, err = cms.Update(ctx, created, metav1.UpdateOptions{})
	mustStale(t, err, 7, 5)

	// A patch carrying an old stamp is refused; one carrying the current stamp is admitted.
	patch := `{"metadata":{"annotations":{"drlease.io/epoch":"6","drlease.io/write":"6-p1"}},"data":{"k":"stale"}}`
	_, err = cms.Patch(ctx, created.GetName(), types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	mustStale(t, err, 7, 6)
	patch = `{"metadata":{"annotations":{"drlease.io/epoch":"7","drlease.io/write":"7-p2"}},"data":{"k":"new"}}`
	if _, err = cms.Patch(ctx, created.GetName(), types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("a patch at the fence's epoch was refused: %v", err)
	}
}

// Once a newer epoch has written an object, an older epoch's write to it is refused
// against the stored object, whatever the fence (the check made atomically with the
// object's resourceVersion, before any cache).
func TestAnObjectWrittenAtAHigherEpochRefusesALowerOne(t *testing.T) {
	c := cluster(t)
	lease := newLease(t, c)
	enforcedBinding(t, c, lease)
	raised(t, c, lease, 3)
	cms := c.Resource(configMaps).Namespace("default")
	ctx := context.Background()
	// Above the fence: a holder whose raise is still on its way.
	obj := stampedCM(t, c, lease+"-a", lease, 9)
	Stamp(obj, lease, 8)
	_, err := cms.Update(ctx, obj, metav1.UpdateOptions{})
	mustStale(t, err, 9, 8)
}

// A patch that leaves the stamp as it is could come from any writer: refused.
func TestAPatchThatDoesNotRestateTheStampIsRefused(t *testing.T) {
	c := cluster(t)
	lease := newLease(t, c)
	enforcedBinding(t, c, lease)
	raised(t, c, lease, 2)
	cms := c.Resource(configMaps).Namespace("default")
	ctx := context.Background()
	cm := stampedCM(t, c, lease+"-a", lease, 2)
	_, err := cms.Patch(ctx, cm.GetName(), types.MergePatchType, []byte(`{"data":{"k":"x"}}`), metav1.PatchOptions{})
	if _, ok := AsStale(err); !ok || !strings.Contains(err.Error(), "restates its stamp") {
		t.Fatalf("a patch that left the stamp in place was not refused as such: %v", err)
	}
}

func TestAGuardedWriteWithoutAStampIsRefused(t *testing.T) {
	c := cluster(t)
	lease := newLease(t, c)
	enforcedBinding(t, c, lease)
	raised(t, c, lease, 1)
	cm := configMap(lease + "-a")
	cm.SetLabels(map[string]string{LeaseLabel: lease})
	_, err := c.Resource(configMaps).Namespace("default").Create(context.Background(), cm, metav1.CreateOptions{})
	mustStale(t, err, 1, -1)
}

// Objects not labelled with the lease are other writers' business.
func TestObjectsOutsideTheFenceAreLeftAlone(t *testing.T) {
	c := cluster(t)
	lease := newLease(t, c)
	enforcedBinding(t, c, lease)
	raised(t, c, lease, 4)
	cms := c.Resource(configMaps).Namespace("default")
	ctx := context.Background()
	cm := configMap(lease + "-other")
	obj, err := cms.Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("an unlabelled create was refused: %v", err)
	}
	obj.Object["data"] = map[string]interface{}{"k": "changed"}
	if _, err := cms.Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("an unlabelled update was refused: %v", err)
	}
	if err := cms.Delete(ctx, obj.GetName(), metav1.DeleteOptions{}); err != nil {
		t.Fatalf("an unlabelled delete was refused: %v", err)
	}
}

// Before any holder raised the fence (first install), guarded writes are refused: there
// is nothing yet to tell a stale writer from a current one.
func TestBeforeAnyFenceGuardedWritesAreRefused(t *testing.T) {
	c := cluster(t)
	lease := newLease(t, c)
	enforcedBinding(t, c, lease)
	cm := configMap(lease + "-a")
	Stamp(cm, lease, 1)
	_, err := c.Resource(configMaps).Namespace("default").Create(context.Background(), cm, metav1.CreateOptions{})
	if err == nil {
		t.Fatal("a guarded write was admitted before any fence existed")
	}
	raised(t, c, lease, 1)
	Stamp(cm, lease, 1)
	if _, err := c.Resource(configMaps).Namespace("default").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a write at the raised fence's epoch was refused: %v", err)
	}
}

// A delete carries no object: it takes an update that marks it at the writer's epoch.
func TestADeleteIsFencedByItsMark(t *testing.T) {
	c := cluster(t)
	lease := newLease(t, c)
	enforcedBinding(t, c, lease)
	raised(t, c, lease, 3)
	cms := c.Resource(configMaps).Namespace("default")
	ctx := context.Background()
	for _, name := range []string{lease + "-a", lease + "-b"} {
		stampedCM(t, c, name, lease, 3)
	}
	if err := cms.Delete(ctx, lease+"-a", metav1.DeleteOptions{}); err == nil {
		t.Fatal("a bare delete of a guarded object was admitted")
	}
	if err := fenceOf(c, lease).Delete(ctx, cms, lease+"-a", 3); err != nil {
		t.Fatalf("a two-step delete at the fence's epoch failed: %v", err)
	}
	raised(t, c, lease, 4)
	mustStale(t, fenceOf(c, lease).Delete(ctx, cms, lease+"-b", 3), 4, 3)
}

// The fence only goes up: a lower raise is refused by Raise, and by the API server
// itself when written directly; two holders raising at once end at the higher epoch.
func TestTheFenceNeverGoesDown(t *testing.T) {
	c := cluster(t)
	lease := newLease(t, c)
	ctx := context.Background()
	f := New(c, lease)
	if _, err := f.Raise(ctx, 10, Holder{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.Raise(ctx, 3, Holder{})
	mustStale(t, err, 10, 3)
	obj, err := c.Resource(Resource).Get(ctx, lease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	obj.Object["spec"].(map[string]interface{})["epoch"] = int64(9)
	_, err = c.Resource(Resource).Update(ctx, obj, metav1.UpdateOptions{})
	if _, ok := AsStale(err); !ok {
		t.Fatalf("the API server let the fence go down from 10 to 9: %v", err)
	}

	// Two holders, each raising its own epochs as fast as it can.
	var wg sync.WaitGroup
	for side := 0; side < 2; side++ {
		wg.Add(1)
		go func(side int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				epoch := uint64(11 + 2*i + side)
				if _, err := f.Raise(ctx, epoch, Holder{Pod: "side"}); err != nil {
					if _, ok := AsStale(err); !ok {
						t.Errorf("raise %d: %v", epoch, err)
					}
				}
			}
		}(side)
	}
	seen := watchEpochs(t, c, lease, &wg)
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Fatalf("the fence went down from %d to %d (seen: %v)", seen[i-1], seen[i], seen)
		}
	}
	if got, _, _ := f.Get(ctx); got != 11+2*39+1 {
		t.Fatalf("after both holders, the fence holds %d, not the highest epoch raised (%d)", got, 11+2*39+1)
	}
}

// watchEpochs returns every epoch the fence held, in order, until wg is done.
func watchEpochs(t *testing.T, c dynamic.Interface, lease string, wg *sync.WaitGroup) []uint64 {
	t.Helper()
	w, err := c.Resource(Resource).Watch(context.Background(), metav1.ListOptions{FieldSelector: "metadata.name=" + lease})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var seen []uint64
	for {
		select {
		case ev := <-w.ResultChan():
			if u, ok := ev.Object.(*unstructured.Unstructured); ok {
				if e, err := epochOf(u); err == nil {
					seen = append(seen, e)
				}
			}
		case <-done:
			w.Stop()
			for ev := range w.ResultChan() {
				if u, ok := ev.Object.(*unstructured.Unstructured); ok {
					if e, err := epochOf(u); err == nil {
						seen = append(seen, e)
					}
				}
			}
			return seen
		}
	}
}

func TestAFenceCannotBeDeleted(t *testing.T) {
	c := cluster(t)
	lease := newLease(t, c)
	raised(t, c, lease, 2)
	// The protecting policy reaches the API server's cache a little after it is applied:
	// ask with dry runs until it answers, then for real.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		err := c.Resource(Resource).Delete(context.Background(), lease, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := c.Resource(Resource).Delete(context.Background(), lease, metav1.DeleteOptions{})
	if err == nil || !strings.Contains(err.Error(), "never deleted while bound") {
		t.Fatalf("deleting a fence was not refused as such: %v", err)
	}
}
