package fence

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// The tests below run against a real kube-apiserver (scripts/kube.sh, started by
// scripts/test.sh): DRLEASE_TEST_KUBECONFIG names its kubeconfig. Without it they are
// skipped, unless DRLEASE_REQUIRE_KUBE=1 says a missing API server is a failure.

var (
	crds     = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	policies = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"}
	bindings = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"}
)

// cluster returns an admin client for the test API server with the fence's CRD and
// policies applied from deploy/kubernetes/fence, as an operator would apply them.
func cluster(t *testing.T) dynamic.Interface {
	t.Helper()
	path := os.Getenv("DRLEASE_TEST_KUBECONFIG")
	if path == "" {
		if os.Getenv("DRLEASE_REQUIRE_KUBE") == "1" {
			t.Fatal("DRLEASE_TEST_KUBECONFIG is unset but DRLEASE_REQUIRE_KUBE=1: start one with scripts/kube.sh start DIR")
		}
		t.Skip("no API server: DRLEASE_TEST_KUBECONFIG is unset (scripts/test.sh starts one)")
	}
	c, err := Client(path, "admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"crd.yaml", "policies.yaml"} {
		if err := Apply(context.Background(), c, manifest(t, file)); err != nil {
			t.Fatalf("applying %s: %v", file, err)
		}
	}
	waitEstablished(t, c)
	return c
}

func manifest(t *testing.T, name string) []byte {
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "..", "deploy", "kubernetes", "fence", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Apply server-side-applies every object of a multi-document YAML manifest.
func Apply(ctx context.Context, c dynamic.Interface, manifest []byte) error {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		var obj unstructured.Unstructured
		if err := decoder.Decode(&obj.Object); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: plural(gvk.Kind)}
		body, err := obj.MarshalJSON()
		if err != nil {
			return err
		}
		force := true
		var ri dynamic.ResourceInterface = c.Resource(gvr)
		if ns := obj.GetNamespace(); ns != "" {
			ri = c.Resource(gvr).Namespace(ns)
		}
		if _, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: "drlease-test", Force: &force}); err != nil {
			return fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
		}
	}
}

func plural(kind string) string {
	switch kind {
	case "CustomResourceDefinition":
		return "customresourcedefinitions"
	case "ValidatingAdmissionPolicy":
		return "validatingadmissionpolicies"
	case "ValidatingAdmissionPolicyBinding":
		return "validatingadmissionpolicybindings"
	case "ConfigMap":
		return "configmaps"
	case "Fence":
		return "fences"
	}
	panic("fence tests: no plural known for " + kind)
}

func waitEstablished(t *testing.T, c dynamic.Interface) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		crd, err := c.Resource(crds).Get(context.Background(), "fences.drlease.io", metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, cond := range conds {
				m, _ := cond.(map[string]interface{})
				if m["type"] == "Established" && m["status"] == "True" {
					// The resource is served once the discovery of the API server has it.
					if _, err := c.Resource(Resource).List(context.Background(), metav1.ListOptions{Limit: 1}); err == nil {
						return
					}
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the fences.drlease.io CRD was not established within 60 s")
}

var leases int

// newLease returns a lease name of its own and binds the epoch policy to its objects.
func newLease(t *testing.T, c dynamic.Interface) string {
	t.Helper()
	leases++
	lease := fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1_000_000_000, leases)
	binding := fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: drlease-fence-epoch-%[1]s}
spec:
  policyName: drlease-fence-epoch
  validationActions: [Deny]
  paramRef: {name: %[1]s, parameterNotFoundAction: Deny}
  matchResources:
    objectSelector: {matchLabels: {drlease.io/lease: %[1]s}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: drlease-fence-epoch-%[1]s-probe}
spec:
  policyName: drlease-fence-epoch
  validationActions: [Deny]
  paramRef: {name: %[1]s, parameterNotFoundAction: Deny}
  matchResources:
    objectSelector: {matchLabels: {drlease.io/probe: %[1]s}}
`, lease)
	if err := Apply(context.Background(), c, []byte(binding)); err != nil {
		t.Fatal(err)
	}
	return lease
}

// enforcedBinding waits until the binding of lease refuses an unstamped guarded write:
// a binding, like a fence, reaches the policy through a cache.
func enforcedBinding(t *testing.T, c dynamic.Interface, lease string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		cm := configMap(lease + "-probe")
		cm.SetLabels(map[string]string{LeaseLabel: lease})
		_, err := c.Resource(configMaps).Namespace("default").Create(context.Background(), cm,
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the binding of lease %s was not enforced within 30 s", lease)
}

func configMap(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]interface{}{"name": name, "namespace": "default"},
		"data":     map[string]interface{}{"k": "v"},
	}}
}

var (
	fencesMu sync.Mutex
	fences   = map[string]*Fence{}
)

// fenceOf returns the one Fence value of lease in these tests, which remembers what
// WaitEnforced saw (Delete needs it).
func fenceOf(c dynamic.Interface, lease string) *Fence {
	fencesMu.Lock()
	defer fencesMu.Unlock()
	if f, ok := fences[lease]; ok {
		return f
	}
	f := New(c, lease)
	fences[lease] = f
	return f
}

// raised raises lease's fence to epoch and waits until the API server enforces it.
func raised(t *testing.T, c dynamic.Interface, lease string, epoch uint64) time.Duration {
	t.Helper()
	f := fenceOf(c, lease)
	if _, err := f.Raise(context.Background(), epoch, Holder{Pod: "test"}); err != nil {
		t.Fatalf("raise %s to %d: %v", lease, epoch, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	took, err := f.WaitEnforced(ctx, "default", epoch)
	if err != nil {
		t.Fatal(err)
	}
	return took
}

func mustStale(t *testing.T, err error, fence uint64, epoch int64) {
	t.Helper()
	stale, ok := AsStale(err)
	if !ok {
		t.Fatalf("want a write refused by the fence (fence %d, epoch %d), got %v", fence, epoch, err)
	}
	if stale.Fence != fence || stale.Epoch != epoch {
		t.Fatalf("want fence %d and epoch %d in the refusal, got fence %d, epoch %d: %s", fence, epoch, stale.Fence, stale.Epoch, stale.Message)
	}
}

// stampedCM creates ConfigMap name in "default", guarded by lease and stamped with epoch;
// a refusal fails the test.
func stampedCM(t *testing.T, c dynamic.Interface, name, lease string, epoch uint64) *unstructured.Unstructured {
	t.Helper()
	cm := configMap(name)
	Stamp(cm, lease, epoch)
	obj, err := c.Resource(configMaps).Namespace("default").Create(context.Background(), cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create %s at epoch %d: %v", name, epoch, err)
	}
	return obj
}
