// Command fence-writer is a controller that writes under a drlease fence, for the tests
// and for trying fencing by hand. It asks its sidecar (GET /active) for a write window,
// raises the lease's fence in every target cluster to the window's epoch (epoch mode),
// and writes ConfigMaps there stamped with that epoch; or, in writer mode, writes them
// unstamped as the user of its kubeconfig context, like Admiral as it is. It prints one
// JSON line per write: what it sent, with which epoch, and what the API server said.
//
// -burst N writes N rounds per window without asking again, the way a controller acts on
// one answer for a while; a writer stopped (SIGSTOP) inside such a burst and continued
// after another holder took over writes with its old epoch: those writes are the stale
// ones the fence must refuse. -burst 0 never asks again after the first window.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/drlease/drlease/clients/go/fence"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

type options struct {
	gate, lease, namespace, context, mode, pod string
	kubeconfigs                                []string
	objects, burst                             int
	interval                                   time.Duration
	waitEnforced                               bool
}

type record struct {
	Sent    int64  `json:"sent"`
	Ms      int64  `json:"ms"`
	Event   string `json:"event"`
	Cluster int    `json:"cluster"`
	Epoch   uint64 `json:"epoch"`
	Object  string `json:"object,omitempty"`
	OK      bool   `json:"ok"`
	Stale   bool   `json:"stale,omitempty"`
	Fence   uint64 `json:"fence,omitempty"`
	Error   string `json:"error,omitempty"`
	TookMs  int64  `json:"took_ms,omitempty"`
}

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

func main() {
	var o options
	var kubeconfigs string
	flag.StringVar(&o.gate, "gate", "http://127.0.0.1:9798", "the sidecar's gate listener")
	flag.StringVar(&kubeconfigs, "kubeconfigs", "", "comma-separated kubeconfig files, one per target cluster")
	flag.StringVar(&o.context, "context", "", "kubeconfig context to write as (empty: the current one)")
	flag.StringVar(&o.lease, "lease", "", "the lease whose fence guards the writes")
	flag.StringVar(&o.namespace, "namespace", "default", "namespace of the ConfigMaps written")
	flag.StringVar(&o.mode, "mode", "epoch", "epoch (stamp writes, raise the fence) or writer (plain writes)")
	flag.StringVar(&o.pod, "pod", "", "the pod name recorded on the fence")
	flag.IntVar(&o.objects, "objects", 3, "ConfigMaps written per round, in each cluster")
	flag.IntVar(&o.burst, "burst", 1, "rounds per window before asking again (0: never ask again)")
	flag.DurationVar(&o.interval, "interval", 20*time.Millisecond, "pause between rounds")
	flag.BoolVar(&o.waitEnforced, "wait-enforced", false, "after raising a fence, wait until the API server enforces it (and print how long)")
	flag.Parse()
	o.kubeconfigs = strings.Split(kubeconfigs, ",")
	if o.lease == "" || kubeconfigs == "" || (o.mode != "epoch" && o.mode != "writer") {
		fmt.Fprintln(os.Stderr, "fence-writer: -lease and -kubeconfigs are required; -mode is epoch or writer")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "fence-writer:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	clients := make([]dynamic.Interface, len(o.kubeconfigs))
	for i, path := range o.kubeconfigs {
		c, err := fence.Client(path, o.context)
		if err != nil {
			return err
		}
		clients[i] = c
	}
	out := json.NewEncoder(os.Stdout)
	ctx := context.Background()
	raised := make([]uint64, len(clients))
	for {
		epoch, ok := ask(o.gate)
		if !ok {
			time.Sleep(o.interval)
			continue
		}
		for round := 0; o.burst == 0 || round < o.burst; round++ {
			for i, c := range clients {
				if o.mode == "epoch" && raised[i] != epoch {
					raised[i] = raise(ctx, out, c, o, i, epoch)
				}
				for n := 0; n < o.objects; n++ {
					name := fmt.Sprintf("%s-%d", o.lease, n)
					sent := time.Now().UnixMilli()
					_ = out.Encode(result("write", i, epoch, name, sent, write(ctx, c, o, name, epoch)))
				}
			}
			time.Sleep(o.interval)
		}
	}
}

// raise raises the fence in cluster i to epoch and returns the epoch now raised there
// (0 if the raise failed: it is tried again before the next write).
func raise(ctx context.Context, out *json.Encoder, c dynamic.Interface, o options, i int, epoch uint64) uint64 {
	f := fence.New(c, o.lease)
	sent := time.Now().UnixMilli()
	_, err := f.Raise(ctx, epoch, fence.Holder{Pod: o.pod})
	_ = out.Encode(result("raise", i, epoch, "", sent, err))
	if err != nil {
		return 0
	}
	if o.waitEnforced {
		wait, cancel := context.WithTimeout(ctx, 30*time.Second)
		took, err := f.WaitEnforced(wait, o.namespace, epoch)
		cancel()
		r := result("enforced", i, epoch, "", sent, err)
		r.TookMs = took.Milliseconds()
		_ = out.Encode(r)
	}
	return epoch
}

// ask returns the epoch of a write window, if the sidecar grants one.
func ask(gate string) (uint64, bool) {
	client := http.Client{Timeout: time.Second}
	resp, err := client.Get(gate + "/active")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return 0, false
	}
	epoch, err := strconv.ParseUint(resp.Header.Get("X-Drlease-Epoch"), 10, 64)
	return epoch, err == nil
}

// write creates or updates one ConfigMap (read, then write with its resourceVersion).
func write(ctx context.Context, c dynamic.Interface, o options, name string, epoch uint64) error {
	objects := c.Resource(configMaps).Namespace(o.namespace)
	current, err := objects.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		current = &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]interface{}{"name": name, "namespace": o.namespace},
		}}
	} else if err != nil {
		return err
	}
	if o.mode == "epoch" {
		fence.Stamp(current, o.lease, epoch)
	}
	_ = unstructured.SetNestedField(current.Object, strconv.FormatInt(time.Now().UnixNano(), 10), "data", "written")
	_ = unstructured.SetNestedField(current.Object, strconv.FormatUint(epoch, 10), "data", "epoch")
	if current.GetResourceVersion() == "" {
		_, err = objects.Create(ctx, current, metav1.CreateOptions{})
	} else {
		_, err = objects.Update(ctx, current, metav1.UpdateOptions{})
	}
	return err
}

func result(event string, cluster int, epoch uint64, object string, sent int64, err error) record {
	r := record{Sent: sent, Ms: time.Now().UnixMilli(), Event: event, Cluster: cluster, Epoch: epoch, Object: object, OK: err == nil}
	if err != nil {
		r.Error = err.Error()
		if stale, ok := fence.AsStale(err); ok {
			r.Stale, r.Fence = true, stale.Fence
		}
	}
	return r
}
