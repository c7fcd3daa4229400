package admiral_test

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	drleaseadmiral "github.com/drlease/drlease/clients/go/admiral"
	"github.com/drlease/drlease/clients/go/internal/sidecar"
	"github.com/istio-ecosystem/admiral/admiral/pkg/clusters"
)

// The checker against Admiral's real state (admiral/pkg/clusters, Admiral's latest
// release), set the way the patched checker sets it. TestThePatchAppliesToAdmiralsRelease
// goes through Admiral's own start-up as well.
func TestAdmiralStateFollowsTheSidecar(t *testing.T) {
	s := sidecar.Start(t, "admiral-0", "--store", "memory", "--interval", "200ms")
	var mu sync.Mutex
	state := func() clusters.AdmiralState {
		mu.Lock()
		defer mu.Unlock()
		return clusters.CurrentAdmiralState
	}
	// As InitAdmiral does before it starts the checker.
	clusters.CurrentAdmiralState = clusters.AdmiralState{ReadOnly: clusters.ReadOnlyEnabled, IsStateInitialized: clusters.StateNotInitialized}
	checker := drleaseadmiral.New(s.URL())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		checker.Run(ctx, func(readOnly bool) {
			mu.Lock()
			defer mu.Unlock()
			clusters.CurrentAdmiralState.ReadOnly = readOnly
			clusters.CurrentAdmiralState.IsStateInitialized = clusters.StateInitialized
		})
	}()
	defer func() {
		cancel()
		<-done
	}()
	// Admiral exits unless the state is initialised within 60 s.
	if sidecar.WaitFor(sidecar.Startup, func() bool { return state().IsStateInitialized }) < 0 {
		t.Fatal("state never initialised")
	}
	if sidecar.WaitFor(sidecar.Startup, func() bool { return state().ReadOnly == clusters.ReadWriteEnabled }) < 0 {
		t.Fatalf("never read-write:\n%s", s.Logs())
	}
	s.Signal(syscall.SIGTERM)
	if sidecar.WaitFor(5*time.Second, func() bool { return state().ReadOnly == clusters.ReadOnlyEnabled }) < 0 {
		t.Fatal("still read-write after the sidecar shut down")
	}
}

func TestAdmiralIsReadOnlyWithoutASidecar(t *testing.T) {
	// Nothing listens on the port: the state is initialised, read-only, at once.
	checker := drleaseadmiral.New("http://127.0.0.1:1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	initialised := make(chan bool, 1)
	go checker.Run(ctx, func(readOnly bool) {
		select {
		case initialised <- readOnly:
		default:
		}
	})
	select {
	case readOnly := <-initialised:
		if !readOnly {
			t.Fatal("read-write without a sidecar")
		}
	case <-time.After(sidecar.Startup):
		t.Fatal("state never initialised without a sidecar")
	}
}

func TestGateURL(t *testing.T) {
	t.Setenv("DRLEASE_GATE_URL", "")
	if got := drleaseadmiral.GateURL(); got != drleaseadmiral.DefaultGateURL {
		t.Fatalf("GateURL() = %q without DRLEASE_GATE_URL, want %q", got, drleaseadmiral.DefaultGateURL)
	}
	t.Setenv("DRLEASE_GATE_URL", "http://127.0.0.1:7000")
	if got := drleaseadmiral.GateURL(); got != "http://127.0.0.1:7000" {
		t.Fatalf("GateURL() = %q, want DRLEASE_GATE_URL's", got)
	}
}
