// Command drlease-fence raises a lease's fence in the target clusters whenever the
// sidecar next to it acquires the lease: the companion that makes fencing work for a
// controller that cannot stamp its writes (Admiral as it is, in writer-identity mode).
//
// Run it as a second container beside the sidecar, with the kubeconfigs of the clusters
// the controller writes to (the same ones Admiral is given, with a user that may update
// fences.drlease.io there). It follows the sidecar's GET /role; on every epoch this pod
// holds, it sets each cluster's fence to that epoch and names -writer, the user this
// region's controller writes as, among -writers, every region's such user. The API server
// then refuses writes from the other writers (policy drlease-fence-writer). Until the
// fence names this region's writer, this region's own writes are refused: a raise that
// fails (cluster unreachable, RBAC) costs availability in that cluster, never safety.
// It prints one JSON line per raise.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/drlease/drlease/clients/go/fence"
	"k8s.io/client-go/dynamic"
)

type role struct {
	Role   string  `json:"role"`
	Epoch  *uint64 `json:"epoch"`
	Holder string  `json:"holder"`
}

func main() {
	sidecar := flag.String("sidecar", "http://127.0.0.1:9797", "the sidecar's main listener (GET /role)")
	kubeconfigs := flag.String("kubeconfigs", "", "comma-separated kubeconfig files, one per target cluster")
	kubeContext := flag.String("context", "", "kubeconfig context to raise fences as (empty: the current one)")
	lease := flag.String("lease", "", "the lease (and Fence) name")
	writer := flag.String("writer", "", "the user this region's controller writes as in the target clusters")
	writers := flag.String("writers", "", "comma-separated: every region's writer user, this one included")
	every := flag.Duration("every", 100*time.Millisecond, "how often the role is read")
	flag.Parse()
	if *lease == "" || *kubeconfigs == "" || *writer == "" || !contains(strings.Split(*writers, ","), *writer) {
		fmt.Fprintln(os.Stderr, "drlease-fence: -lease, -kubeconfigs and -writer are required, and -writers must list -writer")
		os.Exit(2)
	}
	var fences []*fence.Fence
	for _, path := range strings.Split(*kubeconfigs, ",") {
		c, err := fence.Client(path, *kubeContext)
		if err != nil {
			fmt.Fprintln(os.Stderr, "drlease-fence:", err)
			os.Exit(2)
		}
		fences = append(fences, fence.New(dynamic.Interface(c), *lease))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	follow(ctx, *sidecar, fences, fence.Holder{Writer: *writer, Writers: strings.Split(*writers, ",")}, *every)
}

func follow(ctx context.Context, sidecar string, fences []*fence.Fence, who fence.Holder, every time.Duration) {
	out := json.NewEncoder(os.Stdout)
	raised := make([]uint64, len(fences))
	client := http.Client{Timeout: time.Second}
	for ctx.Err() == nil {
		if r, ok := read(&client, sidecar); ok && r.Role == "active" && r.Epoch != nil {
			who.Pod = r.Holder
			for i, f := range fences {
				if raised[i] == *r.Epoch {
					continue
				}
				held, err := f.Raise(ctx, *r.Epoch, who)
				line := map[string]interface{}{"ms": time.Now().UnixMilli(), "event": "raise", "cluster": i,
					"epoch": *r.Epoch, "writer": who.Writer, "ok": err == nil, "fence": held}
				if err != nil {
					line["error"] = err.Error()
					if _, stale := fence.AsStale(err); stale {
						raised[i] = *r.Epoch // a newer holder fenced this one out: nothing to retry
					}
				} else {
					raised[i] = *r.Epoch
				}
				_ = out.Encode(line)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}

func read(client *http.Client, sidecar string) (role, bool) {
	var r role
	resp, err := client.Get(strings.TrimRight(sidecar, "/") + "/role")
	if err != nil {
		return r, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil || json.Unmarshal(body, &r) != nil {
		return r, false
	}
	return r, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
