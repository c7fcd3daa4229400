// Copy this file into Admiral's admiral/pkg/clusters/ and add one case to
// initAdmiralStateChecker (admiralStateChecker.go):
//
//	case drleaseSidecarStateCheckerName:
//		admiralStateChecker = NewDrleaseSidecarStateChecker(drleaseGateURL())
//
// then run Admiral with --admiral_state_checker_name=drleasesidecarstatechecker. Admiral
// becomes read-write only while its drlease sidecar grants it a write window, and
// read-only the moment the window closes, whether or not the sidecar still answers.
package clusters

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/drlease/drlease/clients/go/drlease"
	commonUtil "github.com/istio-ecosystem/admiral/admiral/pkg/util"
)

const drleaseSidecarStateCheckerName = "drleasesidecarstatechecker"

// drleaseGateURL is the sidecar's gate listener: DRLEASE_GATE_URL, else the chart's.
func drleaseGateURL() string {
	if url := os.Getenv("DRLEASE_GATE_URL"); url != "" {
		return url
	}
	return "http://127.0.0.1:9798"
}

// DrleaseSidecarStateChecker sets Admiral's read-only state from a drlease Gate.
type DrleaseSidecarStateChecker struct {
	Gate *drlease.Gate
	// How often CurrentAdmiralState is brought up to date with the Gate.
	Period time.Duration
}

func NewDrleaseSidecarStateChecker(gateURL string) DrleaseSidecarStateChecker {
	return DrleaseSidecarStateChecker{Gate: drlease.New(gateURL), Period: 10 * time.Millisecond}
}

func (DrleaseSidecarStateChecker) shouldRunOnIndependentGoRoutine() bool {
	return true
}

// Nothing to cache: the sidecar holds the state.
func (DrleaseSidecarStateChecker) initStateCache(interface{}) error {
	return nil
}

// runStateCheck follows the sidecar until ctx ends. The state is initialised by the first
// pass (read-only until a window is granted), well inside Admiral's 60 s start-up limit.
func (c DrleaseSidecarStateChecker) runStateCheck(ctx context.Context) {
	go c.Gate.Run(ctx)
	period := c.Period
	if period <= 0 {
		period = 10 * time.Millisecond
	}
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	wasReadOnly := true
	for {
		// Admiral reads the state up to a period after it was set: turn read-only that
		// much (twice, for scheduling) before the window closes.
		readOnly := !c.Gate.MayWriteFor(2 * period)
		commonUtil.CurrentAdmiralState.ReadOnly = readOnly
		commonUtil.CurrentAdmiralState.IsStateInitialized = true
		if readOnly != wasReadOnly {
			log.Printf("drlease: admiral is now read-only=%v (epoch %d)", readOnly, c.Gate.Epoch())
			wasReadOnly = readOnly
		}
		select {
		case <-ctx.Done():
			commonUtil.CurrentAdmiralState.ReadOnly = true
			return
		case <-ticker.C:
		}
	}
}
