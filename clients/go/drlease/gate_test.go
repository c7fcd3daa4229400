package drlease_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/drlease/drlease/clients/go/drlease"
	"github.com/drlease/drlease/clients/go/internal/sidecar"
)

func TestTheGateOpensWithTheLeaseAndClosesOnShutdown(t *testing.T) {
	s := sidecar.Start(t, "pod-a", "--store", "memory", "--interval", "200ms", "--write-window", "500ms")
	g := drlease.New(s.URL())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	// The epoch of an open window, in one read (Epoch is 0 once the window has closed, and
	// a window can close between two reads when a refresh is late on a loaded machine).
	var epoch uint64
	if sidecar.WaitFor(sidecar.Startup, func() bool { epoch = g.Epoch(); return epoch != 0 }) < 0 {
		t.Fatalf("never allowed to write:\n%s", s.Logs())
	}
	if epoch != 1 {
		t.Fatalf("epoch %d, want 1", epoch)
	}
	// Likewise a write context needs a window open when it is made: wait for one.
	var wctx context.Context
	wcancel := context.CancelFunc(func() {})
	if sidecar.WaitFor(5*time.Second, func() bool {
		c, cancel, err := g.WriteContext(context.Background())
		if err != nil {
			cancel()
			return false
		}
		wctx, wcancel = c, cancel
		return true
	}) < 0 {
		t.Fatalf("no write context:\n%s", s.Logs())
	}
	defer wcancel()
	deadline, ok := wctx.Deadline()
	if !ok || time.Until(deadline) > 500*time.Millisecond {
		t.Fatalf("a write context must end with the window (at most 500 ms): %v", time.Until(deadline))
	}
	s.Signal(syscall.SIGTERM)
	took := sidecar.WaitFor(5*time.Second, func() bool { return !g.MayWrite() })
	if took < 0 {
		t.Fatal("still allowed to write after the sidecar shut down")
	}
	t.Logf("may not write %v after SIGTERM", took)
	if _, _, err := g.WriteContext(context.Background()); err != drlease.ErrNotActive {
		t.Fatalf("WriteContext without a window: %v", err)
	}
}

func TestTheGateClosesOnTimeWhenTheSidecarDies(t *testing.T) {
	s := sidecar.Start(t, "pod-a", "--store", "memory", "--interval", "200ms", "--write-window", "300ms")
	g := drlease.New(s.URL())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	if sidecar.WaitFor(sidecar.Startup, g.MayWrite) < 0 {
		t.Fatal("never allowed to write")
	}
	s.Kill9()
	killed := time.Now()
	// Every window open from now on was granted by an answer to a request sent before the
	// kill, and the Gate times it from the send: it ends within 300 ms of the kill. Check
	// the ends of the windows themselves: how soon a poll here notices is up to the
	// scheduler of a loaded machine, not to the Gate.
	var latest time.Time
	if sidecar.WaitFor(5*time.Second, func() bool {
		wctx, wcancel, err := g.WriteContext(context.Background())
		defer wcancel()
		if err != nil {
			return true
		}
		if end, ok := wctx.Deadline(); ok && end.After(latest) {
			latest = end
		}
		return false
	}) < 0 {
		t.Fatal("still allowed to write long after the sidecar died")
	}
	if limit := killed.Add(300 * time.Millisecond); latest.After(limit) {
		t.Fatalf("a window open after the kill ended %v after it; windows were at most 300 ms", latest.Sub(killed))
	}
}

// Two sidecars on one lease in moto, a Gate on each, sampled every 100 µs: never both
// allowed to write, through kill -9, SIGTERM and a planned handover.
func TestTwoGatesNeverBothMayWrite(t *testing.T) {
	endpoint := os.Getenv("DRLEASE_TEST_DYNAMODB_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("DRLEASE_REQUIRE_STORE") != "" {
			t.Fatal("DRLEASE_TEST_DYNAMODB_ENDPOINT is not set: run scripts/test.sh")
		}
		t.Skip("no moto endpoint: run scripts/test.sh")
	}
	table := fmt.Sprintf("drlease-go-%d", time.Now().UnixNano())
	settings := []string{"--store", "dynamodb", "--endpoint-url", endpoint, "--region", "us-east-1",
		"--table", table, "--lease-name", "go", "--interval", "200ms", "--failure-threshold", "3"}
	if out, err := sidecar.Drlease(t, append([]string{"create-table"}, settings...)...); err != nil {
		t.Fatalf("create-table: %v\n%s", err, out)
	}
	pods := []*sidecar.Sidecar{sidecar.Start(t, "pod-a", settings...), sidecar.Start(t, "pod-b", settings...)}
	gates := make([]*drlease.Gate, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range pods {
		gates[i] = drlease.New(pods[i].URL())
		wg.Add(1)
		go func(g *drlease.Gate) { defer wg.Done(); g.Run(ctx) }(gates[i])
	}
	var both, samples int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			a, b := gates[0].MayWrite(), gates[1].MayWrite()
			atomic.AddInt64(&samples, 1)
			if a && b {
				atomic.AddInt64(&both, 1)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	holder := func() int {
		var h int = -1
		if sidecar.WaitFor(10*time.Second, func() bool {
			a, b := gates[0].MayWrite(), gates[1].MayWrite()
			switch {
			case a && !b:
				h = 0
			case b && !a:
				h = 1
			default:
				return false
			}
			return true
		}) < 0 {
			t.Fatalf("no single writer:\nA:\n%s\nB:\n%s", pods[0].Logs(), pods[1].Logs())
		}
		return h
	}
	// strike returns once the holder is down (or asked to move); the struck pod is
	// started again only after the other has taken over: a pod restarted at once
	// competes for the same takeover and may fairly win it.
	follow := func(what string, strike func(h int), restart bool) {
		h := holder()
		other := 1 - h
		// The other pod must have read the holder's tenure before the strike, as a running
		// candidate has (a pod just restarted may still be starting): wait for its answer
		// to name the holder, rather than for a fixed time.
		if sidecar.WaitFor(sidecar.Startup, func() bool {
			v, ok := pods[other].View()
			return ok && v.Role == "passive" && v.Holder == pods[h].Identity
		}) < 0 {
			t.Fatalf("%s: %s never saw %s hold the lease\n%s", what, pods[other].Identity, pods[h].Identity, pods[other].Logs())
		}
		start := time.Now()
		strike(h)
		took := sidecar.WaitFor(20*time.Second, gates[other].MayWrite)
		if took < 0 {
			t.Fatalf("%s: the other gate never opened\nstruck %s:\n%s\nother %s:\n%s",
				what, pods[h].Identity, pods[h].Logs(), pods[other].Identity, pods[other].Logs())
		}
		t.Logf("%s: the other pod's Go gate may write after %v", what, took.Round(time.Millisecond))
		fmt.Printf("go-gate %s %.0f ms\n", what, float64(time.Since(start).Microseconds())/1000)
		if restart {
			pods[h].Restart()
		}
	}
	follow("kill -9", func(h int) { pods[h].Kill9() }, true)
	follow("SIGTERM", func(h int) {
		pods[h].Signal(syscall.SIGTERM)
		pods[h].Wait()
	}, true)
	follow("handover", func(h int) {
		target := pods[1-h].Identity
		go func() {
			// The command refuses a target whose heartbeat it cannot see yet (a pod just
			// restarted on a loaded machine): ask again, as an operator would.
			for attempt := 0; attempt < 5; attempt++ {
				out, err := sidecar.Drlease(t, append([]string{"handover"}, append(settings, "--to", target, "--timeout", "10s")...)...)
				if err == nil {
					return
				}
				t.Logf("handover attempt %d: %v: %s", attempt+1, err, out)
				time.Sleep(time.Second)
			}
		}()
	}, false)
	close(stop)
	cancel()
	wg.Wait()
	if n := atomic.LoadInt64(&both); n > 0 {
		t.Fatalf("both gates allowed writing in %d of %d samples", n, atomic.LoadInt64(&samples))
	}
	t.Logf("%d samples, never both", atomic.LoadInt64(&samples))
}

func TestReadyClosesWhenTheSidecarIsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // nothing listens there now: connections are refused
	g := drlease.New(url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	select {
	case <-g.Ready():
	case <-time.After(sidecar.Startup):
		t.Fatal("Ready never closed although the sidecar cannot be reached")
	}
	if g.MayWrite() {
		t.Fatal("may write without a sidecar")
	}
	wctx, wcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer wcancel()
	if err := g.WaitWindow(wctx); err != context.DeadlineExceeded {
		t.Fatalf("WaitWindow = %v, want the context's deadline", err)
	}
}
