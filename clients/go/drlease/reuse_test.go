package drlease

// Connection reuse, counted: every /active answer must leave its connection open for the
// next request. A body closed unread (as before) cost one new connection per request.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drlease/drlease/clients/go/internal/sidecar"
)

// Enough requests that one connection each would be unmistakable.
const asks = 40

// At most: one for /watch, one for /active, and one spare in case a request raced a
// connection the server had just closed.
const maxConns = 3

func TestTheGateReusesItsConnectionToAStandIn(t *testing.T) {
	var conns, requests atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/active":
			requests.Add(1)
			w.Header().Set("X-Drlease-Valid-For-Ms", "1000")
			w.Header().Set("X-Drlease-Epoch", "7")
			// A body larger than the transport reads ahead, as a proxy's page could be.
			fmt.Fprintf(w, "active\n%0*d\n", 8192, 0)
		case "/watch":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: {\"role\":\"active\"}\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	runUntilAsked(t, srv.URL, &requests)
	if n := conns.Load(); n > maxConns {
		t.Fatalf("%d connections for %d requests: the gate does not reuse its connection", n, requests.Load())
	}
}

func TestTheGateReusesItsConnectionToARealSidecar(t *testing.T) {
	s := sidecar.Start(t, "reuse", "--store", "memory", "--interval", "200ms")
	// Connections the proxy accepts before the sidecar listens would be counted too.
	if sidecar.WaitFor(sidecar.Startup, func() bool { _, ok := s.View(); return ok }) < 0 {
		t.Fatalf("the sidecar never answered:\n%s", s.Logs())
	}
	var requests atomic.Int64
	proxy := newCountingProxy(t, fmt.Sprintf("127.0.0.1:%d", s.Port), func(b []byte) {
		requests.Add(int64(countActive(b)))
	})
	runUntilAsked(t, "http://"+proxy.addr(), &requests)
	if n := proxy.conns.Load(); n > maxConns {
		t.Fatalf("%d connections for %d requests: the gate does not reuse its connection\n%s", n, requests.Load(), s.Logs())
	}
}

// runUntilAsked runs a Gate (renewing every few milliseconds) until the server has seen
// `asks` requests for /active.
func runUntilAsked(t *testing.T, url string, requests *atomic.Int64) {
	t.Helper()
	g := New(url)
	g.refresh = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		g.Run(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
	if sidecar.WaitFor(sidecar.Startup, func() bool { return requests.Load() >= asks }) < 0 {
		t.Fatalf("only %d requests for /active", requests.Load())
	}
}

// countActive counts request lines for /active in what a client sent.
func countActive(b []byte) int {
	n := 0
	for i := 0; i+len("GET /active") <= len(b); i++ {
		if string(b[i:i+len("GET /active")]) == "GET /active" {
			n++
		}
	}
	return n
}

// countingProxy forwards TCP connections to a target and counts them. Its connections
// end with the target's (the sidecar is killed at the end of the test).
type countingProxy struct {
	l      net.Listener
	conns  atomic.Int64
	onRead func([]byte)
}

func newCountingProxy(t *testing.T, target string, onRead func([]byte)) *countingProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{l: l, onRead: onRead}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			go p.forward(c, target)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return p
}

func (p *countingProxy) addr() string { return p.l.Addr().String() }

func (p *countingProxy) forward(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() {
		_, _ = io.Copy(c, up)
		c.Close()
	}()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			// One request line per read is all the gate sends at a time; a line split
			// across two reads is not counted, which only makes the test stricter.
			p.onRead(buf[:n])
			if _, err := up.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
