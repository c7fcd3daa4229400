package drlease_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/drlease/drlease/clients/go/drlease"
)

// A controller's start: run the Gate, wait for its first window, then write inside it.
// Without the wait, MayWrite right after `go gate.Run(ctx)` is false: no answer has
// arrived yet.
func ExampleGate() {
	sidecarURL := standInSidecar() // in a pod: "http://127.0.0.1:9798", the --gate-listen
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	gate := drlease.New(sidecarURL)
	go gate.Run(ctx)
	if err := gate.WaitWindow(ctx); err != nil {
		fmt.Println("no write window:", err)
		return
	}
	wctx, wcancel, err := gate.WriteContext(ctx)
	if err != nil { // the window closed in between: wait again
		fmt.Println(err)
		return
	}
	defer wcancel()
	// The write, with wctx: it is cancelled when the window closes.
	fmt.Println("this pod may write, epoch", gate.Epoch(), wctx.Err() == nil)
	// Output: this pod may write, epoch 3 true
}

// A controller that must not block on the sidecar: Ready tells when MayWrite means
// something (before the first answer it is false, whatever the sidecar would say).
func ExampleGate_Ready() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gate := drlease.New(standInSidecar())
	go gate.Run(ctx)
	<-gate.Ready()
	fmt.Println("may write:", gate.MayWrite())
	// Output: may write: true
}

// standInSidecar answers as an active drlease sidecar does (a 10 s window at epoch 3),
// so that the examples run without one. The tests run the Gate against real sidecars.
func standInSidecar() string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/active":
			w.Header().Set("X-Drlease-Valid-For-Ms", "10000")
			w.Header().Set("X-Drlease-Epoch", "3")
			fmt.Fprint(w, "active\n")
		case "/watch":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: {\"role\":\"active\"}\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	return srv.URL
}
