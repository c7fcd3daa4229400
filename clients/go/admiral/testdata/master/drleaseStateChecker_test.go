// This test is copied into Admiral's package admiral/pkg/clusters, patched with
// admiral-master.patch, by TestThePatchAppliesToAdmiralsMaster: it starts the checker the way
// Admiral's start-up does (InitAdmiral), by name, against a real drlease sidecar.
package clusters

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	commonUtil "github.com/istio-ecosystem/admiral/admiral/pkg/util"
)

func TestDrleaseStateCheckerSelectedByName(t *testing.T) {
	bin := os.Getenv("DRLEASE_BIN")
	if bin == "" {
		t.Fatal("DRLEASE_BIN is not set: run scripts/test.sh")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logPath := filepath.Join(t.TempDir(), "drlease.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	sidecar := exec.Command(bin, "run", "--store", "memory", "--interval", "200ms",
		"--identity", "admiral-0", "--listen", addr)
	sidecar.Stderr = logFile
	if err := sidecar.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sidecar.Wait() }()
	defer func() {
		_ = sidecar.Process.Kill()
		<-exited
	}()
	logs := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	t.Setenv("DRLEASE_GATE_URL", "http://"+addr)

	// As InitAdmiral does: read-only and uninitialised, then the checker named by
	// --admiral_state_checker_name, then Admiral's own wait for the state (it exits the
	// process after 60 s).
	commonUtil.CurrentAdmiralState = commonUtil.AdmiralState{ReadOnly: ReadOnlyEnabled, IsStateInitialized: StateNotInitialized}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	checker := initAdmiralStateChecker(ctx, "drleasesidecarstatechecker", "")
	RunAdmiralStateCheck(ctx, "drleasesidecarstatechecker", checker)
	pauseForAdmiralToInitializeState()

	if !waitFor(30*time.Second, func() bool { return commonUtil.CurrentAdmiralState.ReadOnly == ReadWriteEnabled }) {
		t.Fatalf("Admiral never read-write:\n%s", logs())
	}
	// The sidecar shuts down: Admiral must turn read-only (Admiral's default checker,
	// NoOPStateChecker, never would).
	_ = sidecar.Process.Signal(syscall.SIGTERM)
	if !waitFor(30*time.Second, func() bool { return commonUtil.CurrentAdmiralState.ReadOnly == ReadOnlyEnabled }) {
		t.Fatalf("Admiral still read-write after its sidecar shut down:\n%s", logs())
	}
	fmt.Println("drlease: Admiral followed its sidecar through start-up and shutdown")
}

func waitFor(limit time.Duration, cond func() bool) bool {
	for start := time.Now(); time.Since(start) < limit; time.Sleep(time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}
