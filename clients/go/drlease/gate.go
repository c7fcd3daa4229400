// Package drlease is the controller's side of a drlease sidecar: a Gate that answers
// "may I write now?" without a request, from write windows the sidecar granted.
//
// Create a Gate with New, start it with Run in its own goroutine, then wait for its first
// answer (Ready) or for a window (WaitWindow) before asking MayWrite: right after Run
// starts, no answer has arrived yet and every question is answered "may not write".
//
//	gate := drlease.New("http://127.0.0.1:9798") // the sidecar's --gate-listen
//	go gate.Run(ctx)
//	if err := gate.WaitWindow(ctx); err != nil { // or <-gate.Ready(): the first answer, whatever it is
//		return err // ctx ended before this pod was allowed to write
//	}
//	wctx, cancel, err := gate.WriteContext(ctx) // ErrNotActive if the window closed since
//
// The Gate keeps one connection to the sidecar for its requests (and one for /watch).
//
// The sidecar grants a window with every "active" answer (X-Drlease-Valid-For-Ms): it
// stays active for that long from the instant it decided, and releases the lease only
// after every window it granted has ended. The Gate measures each window from the
// moment it *sent* the request, on this process's monotonic clock, which is earlier than
// the sidecar's decision: so the window closes here no later than the sidecar's promise
// ends, even if the sidecar dies or the connection stalls. Every failure means "may not
// write".
package drlease

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrNotActive is returned by WriteContext when no window is open.
var ErrNotActive = errors.New("drlease: this pod may not write (no write window open)")

// Gate follows one sidecar. Create it with New, start it with Run.
type Gate struct {
	base   string
	client *http.Client
	// How often the window is renewed while active: well inside the window, so that a
	// controller writing continuously always has one open.
	refresh time.Duration

	mu    sync.Mutex
	until time.Time // window end, with its monotonic reading; zero when closed
	epoch uint64
	wake  chan struct{}
	// Closed and replaced whenever a window is granted: WaitWindow waits on it.
	granted chan struct{}

	ready     chan struct{} // closed after the first answer (or failure to get one)
	readyOnce sync.Once
}

// New returns a Gate for the sidecar at base, e.g. "http://127.0.0.1:9798".
func New(base string) *Gate {
	return &Gate{
		base:    strings.TrimRight(base, "/"),
		client:  &http.Client{Timeout: 2 * time.Second},
		refresh: 250 * time.Millisecond,
		wake:    make(chan struct{}, 1),
		granted: make(chan struct{}),
		ready:   make(chan struct{}),
	}
}

// Ready is closed once Run has had its first answer from the sidecar, or failed to get
// one (the sidecar unreachable: within the request timeout, 2 s). From then on MayWrite
// reflects the sidecar's answer; before it, MayWrite is false whatever the sidecar
// would say. Ready never closes if Run is not called.
func (g *Gate) Ready() <-chan struct{} {
	return g.ready
}

// WaitWindow blocks until a write window is open (nil) or ctx ends (ctx.Err()). Run must
// be running. A nil answer means a window was open at that instant: use WriteContext for
// the write itself, which fails with ErrNotActive if it has closed since.
func (g *Gate) WaitWindow(ctx context.Context) error {
	for {
		g.mu.Lock()
		open := time.Now().Before(g.until)
		granted := g.granted
		g.mu.Unlock()
		if open {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-granted:
		}
	}
}

// MayWrite reports whether a write window is open right now. No request is made.
func (g *Gate) MayWrite() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Now().Before(g.until)
}

// MayWriteFor reports whether the window stays open for at least d more: for a caller
// that acts on the answer a little later (a periodic state copy, a long write).
func (g *Gate) MayWriteFor(d time.Duration) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Now().Add(d).Before(g.until)
}

// Epoch is the fencing token of the tenure the open window belongs to (0 when closed).
func (g *Gate) Epoch() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !time.Now().Before(g.until) {
		return 0
	}
	return g.epoch
}

// WriteContext returns a context cancelled when the current window closes, so that a
// write cannot outlive the lease. Without an open window it returns ErrNotActive and a
// context that is already cancelled.
func (g *Gate) WriteContext(parent context.Context) (context.Context, context.CancelFunc, error) {
	g.mu.Lock()
	until := g.until
	g.mu.Unlock()
	ctx, cancel := context.WithDeadline(parent, until)
	if !time.Now().Before(until) {
		cancel()
		return ctx, cancel, ErrNotActive
	}
	return ctx, cancel, nil
}

// Run keeps the window fresh until ctx ends: it asks /active on a short period (each
// answer renews the window) and follows /watch, so that a change of role is acted on at
// once. It returns when ctx is done.
func (g *Gate) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		g.follow(ctx)
		close(done)
	}()
	for ctx.Err() == nil {
		g.ask(ctx)
		select {
		case <-ctx.Done():
		case <-g.wake:
		case <-time.After(g.refresh):
		}
	}
	g.close()
	g.readyOnce.Do(func() { close(g.ready) })
	<-done
}

func (g *Gate) close() {
	g.mu.Lock()
	g.until = time.Time{}
	g.mu.Unlock()
}

// maxDrain bounds how much of an answer's body is read to keep the connection: the
// sidecar's answers are a few bytes; a larger one is not worth reading to save a
// connection.
const maxDrain = 64 << 10

// ask requests /active and opens (or closes) the window from the answer.
func (g *Gate) ask(ctx context.Context) {
	defer g.readyOnce.Do(func() { close(g.ready) })
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/active", nil)
	if err != nil {
		g.close()
		return
	}
	sent := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		g.close()
		return
	}
	// Read the body to its end before closing it: only then does the transport put the
	// connection back for the next request (a body closed unread costs a new connection,
	// and a socket in TIME-WAIT, per request).
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		resp.Body.Close()
	}()
	validMs, errV := strconv.ParseUint(resp.Header.Get("X-Drlease-Valid-For-Ms"), 10, 64)
	epoch, errE := strconv.ParseUint(resp.Header.Get("X-Drlease-Epoch"), 10, 64)
	if resp.StatusCode != http.StatusOK || errV != nil || errE != nil || validMs == 0 {
		g.close()
		return
	}
	g.mu.Lock()
	end := sent.Add(time.Duration(validMs) * time.Millisecond)
	// A later answer never extends a window past what it granted itself, and never
	// shortens one already granted (the sidecar honours every window it gave).
	if end.After(g.until) || epoch != g.epoch {
		g.until = end
	}
	g.epoch = epoch
	close(g.granted)
	g.granted = make(chan struct{})
	g.mu.Unlock()
}

// follow reads /watch and reconnects with backoff. A passive event stops new writes at
// once (the windows already granted stay honoured by the sidecar, so nothing else is
// needed); an active one asks for a window straight away.
func (g *Gate) follow(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if g.watchOnce(ctx) {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

type event struct {
	Role string `json:"role"`
}

// watchOnce follows one /watch stream; reports whether it got any event.
func (g *Gate) watchOnce(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/watch", nil)
	if err != nil {
		return false
	}
	// No client timeout: the stream is long-lived; keep-alive comments arrive every 15 s.
	resp, err := (&http.Client{Transport: g.client.Transport}).Do(req)
	if err != nil {
		return false
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	got := false
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		line := lines.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		data := strings.TrimPrefix(line, "data: ")
		var e event
		if json.Unmarshal([]byte(data), &e) != nil {
			continue
		}
		got = true
		if e.Role != "active" {
			g.close()
		}
		select {
		case g.wake <- struct{}{}:
		default:
		}
	}
	return got
}
