package fence

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// StaleError is a write, or a raise of the fence, that the API server refused because a
// newer holder of the lease has fenced this writer out. The writer's lease has ended: it
// must stop writing and ask its sidecar for a new window.
type StaleError struct {
	// Lease whose fence refused the write.
	Lease string
	// Fence is the epoch the cluster accepts writes from (or the epoch already stamped on
	// the object, when that is what refused the write).
	Fence uint64
	// Epoch the refused write carried; -1 when it carried none.
	Epoch int64
	// Writer named by the fence (writer-identity mode), empty otherwise.
	Writer string
	// Message is the API server's message, as it was.
	Message string
}

func (e *StaleError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("drlease fence: lease=%s fence=%d write=%d: a newer holder has fenced this writer out; stop writing and ask the sidecar for a new window", e.Lease, e.Fence, e.Epoch)
}

var (
	policyMessage = regexp.MustCompile(`drlease fence: lease=(\S+) fence=(-?\d+) (?:write=(-?\d+|none)|writer=(\S*)):`)
	fenceMessage  = regexp.MustCompile(`drlease fence never goes down|drlease fence: at the same epoch the writer stays the same`)
)

// AsStale tells whether err is the API server refusing a write (or a raise of the fence)
// because of a drlease fence, and returns its details.
func AsStale(err error) (*StaleError, bool) {
	if err == nil {
		return nil, false
	}
	var stale *StaleError
	if errors.As(err, &stale) {
		return stale, true
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return nil, false
	}
	msg := status.Status().Message
	if m := policyMessage.FindStringSubmatch(msg); m != nil {
		fence, _ := strconv.ParseInt(m[2], 10, 64)
		epoch := int64(-1)
		if m[3] != "" && m[3] != "none" {
			epoch, _ = strconv.ParseInt(m[3], 10, 64)
		}
		if fence < 0 {
			fence = 0
		}
		return &StaleError{Lease: m[1], Fence: uint64(fence), Epoch: epoch, Writer: m[4], Message: msg}, true
	}
	if fenceMessage.MatchString(msg) {
		// The fence's own rule names neither the lease nor the epochs (the API server
		// refuses message expressions over it as too costly): Raise fills them in.
		return &StaleError{Epoch: -1, Message: msg}, true
	}
	return nil, false
}
