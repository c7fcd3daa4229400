package clusters

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/drlease/drlease/clients/go/internal/sidecar"
	commonUtil "github.com/istio-ecosystem/admiral/admiral/pkg/util"
)

// A copy of Admiral's interface (admiral/pkg/clusters/admiralStateChecker.go): the
// checker must satisfy it as it is there.
type AdmiralStateChecker interface {
	runStateCheck(ctx context.Context)
	shouldRunOnIndependentGoRoutine() bool
	initStateCache(interface{}) error
}

var _ AdmiralStateChecker = DrleaseSidecarStateChecker{}

func TestAdmiralFollowsTheSidecar(t *testing.T) {
	s := sidecar.Start(t, "admiral-0", "--store", "memory", "--interval", "200ms")
	var checker AdmiralStateChecker = NewDrleaseSidecarStateChecker(s.URL())
	if !checker.shouldRunOnIndependentGoRoutine() {
		t.Fatal("the checker runs until its context ends: it needs its own goroutine")
	}
	if err := checker.initStateCache(nil); err != nil {
		t.Fatal(err)
	}
	commonUtil.CurrentAdmiralState = commonUtil.AdmiralState{ReadOnly: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go checker.runStateCheck(ctx)
	// Admiral exits unless the state is initialised within 60 s; here it is at once.
	if sidecar.WaitFor(sidecar.Startup, func() bool { return commonUtil.CurrentAdmiralState.IsStateInitialized }) < 0 {
		t.Fatal("state never initialised")
	}
	if sidecar.WaitFor(5*time.Second, func() bool { return !commonUtil.IsAdmiralReadOnly() }) < 0 {
		t.Fatalf("never read-write:\n%s", s.Logs())
	}
	s.Signal(syscall.SIGTERM)
	if sidecar.WaitFor(5*time.Second, commonUtil.IsAdmiralReadOnly) < 0 {
		t.Fatal("still read-write after the sidecar shut down")
	}
}
