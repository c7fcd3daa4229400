// Package admiral makes Admiral (github.com/istio-ecosystem/admiral) read-write only while
// its drlease sidecar grants it a write window.
//
// Admiral cannot ask an HTTP endpoint by itself: its state checkers are compiled into
// its package admiral/pkg/clusters, behind an interface with unexported methods, and
// chosen by name at start-up (--admiral_state_checker_name). So Admiral must be patched
// and rebuilt: admiral.patch (for Admiral v1.4.0; admiral-master.patch for its master),
// in this module's directory, adds a file of about thirty lines to that package, which
// calls StateChecker.Run, and one case to the switch that selects it. See README.md in
// clients/go for the steps.
//
// This package imports nothing of Admiral's: Admiral imports it (an import back would be
// a cycle). Its tests run it against Admiral's real state type and, through the patch,
// Admiral's real start-up.
package admiral

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/drlease/drlease/clients/go/drlease"
)

// CheckerName is the value of Admiral's --admiral_state_checker_name that selects the
// drlease checker.
const CheckerName = "drleasesidecarstatechecker"

// DefaultGateURL is the sidecar's gate listener as the chart sets it (gateListen).
const DefaultGateURL = "http://127.0.0.1:9798"

// GateURL is the sidecar's gate listener: $DRLEASE_GATE_URL, else DefaultGateURL.
func GateURL() string {
	if url := os.Getenv("DRLEASE_GATE_URL"); url != "" {
		return url
	}
	return DefaultGateURL
}

// StateChecker copies a drlease Gate's answer into Admiral's state.
type StateChecker struct {
	Gate *drlease.Gate
	// How often the state is brought up to date with the Gate.
	Period time.Duration
}

// New returns a StateChecker following the sidecar at gateURL (see GateURL).
func New(gateURL string) *StateChecker {
	return &StateChecker{Gate: drlease.New(gateURL), Period: 10 * time.Millisecond}
}

// Run follows the sidecar until ctx ends, calling set with Admiral's read-only state:
// once the Gate has its first answer (at most its request timeout, 2 s, well inside the
// 60 s Admiral waits for its state to be initialised), then every Period. set(true) is
// the last call, when ctx ends. Admiral's checker sets CurrentAdmiralState.ReadOnly and
// IsStateInitialized from it.
//
// Admiral reads its state up to a Period after it was set: set turns read-only that much
// (twice, for scheduling) before the window closes, whether or not the sidecar still
// answers.
func (c *StateChecker) Run(ctx context.Context, set func(readOnly bool)) {
	period := c.Period
	if period <= 0 {
		period = 10 * time.Millisecond
	}
	gateDone := make(chan struct{})
	go func() {
		c.Gate.Run(ctx)
		close(gateDone)
	}()
	defer func() {
		set(true)
		<-gateDone
	}()
	select {
	case <-ctx.Done():
		return
	case <-c.Gate.Ready():
	}
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	wasReadOnly := true
	for {
		readOnly := !c.Gate.MayWriteFor(2 * period)
		set(readOnly)
		if readOnly != wasReadOnly {
			log.Printf("drlease: admiral is now read-only=%v (epoch %d)", readOnly, c.Gate.Epoch())
			wasReadOnly = readOnly
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
