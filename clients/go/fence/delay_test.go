package fence

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

// The policy reads the fence from a cache: how long after a raise is stored does the API
// server enforce it? Measured quiet, then with other writers loading the API server.
// The figures are printed (docs/fencing.md); what is asserted is that every raise is
// enforced at all, within the 30 s WaitEnforced is given.
func TestEnforcementDelayIsMeasured(t *testing.T) {
	c := cluster(t)
	for _, loaded := range []bool{false, true} {
		lease := newLease(t, c)
		enforcedBinding(t, c, lease)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		if loaded {
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					load(c, fmt.Sprintf("%s-load-%d", lease, w), stop)
				}(w)
			}
		}
		var delays []time.Duration
		for epoch := uint64(1); epoch <= 40; epoch++ {
			delays = append(delays, raised(t, c, lease, epoch))
		}
		close(stop)
		wg.Wait()
		sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
		t.Logf("enforcement delay (loaded: %v), 40 raises: min %v, median %v, p90 %v, max %v", loaded,
			delays[0].Round(100*time.Microsecond), delays[20].Round(100*time.Microsecond),
			delays[36].Round(100*time.Microsecond), delays[39].Round(100*time.Microsecond))
	}
}

// load writes one unguarded ConfigMap over and over until stop is closed.
func load(c dynamic.Interface, name string, stop chan struct{}) {
	cms := c.Resource(configMaps).Namespace("default")
	ctx := context.Background()
	obj, err := cms.Create(ctx, configMap(name), metav1.CreateOptions{})
	for i := 0; err == nil; i++ {
		select {
		case <-stop:
			return
		default:
		}
		obj.Object["data"] = map[string]interface{}{"i": fmt.Sprint(i)}
		obj, err = cms.Update(ctx, obj, metav1.UpdateOptions{})
	}
}
