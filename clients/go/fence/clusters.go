package fence

import (
	"fmt"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

// Client returns a dynamic client for the cluster of a kubeconfig file, with its current
// context or the one named (empty for the current one).
func Client(kubeconfig, context string) (dynamic.Interface, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s (context %q): %w", kubeconfig, context, err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000 // a controller's writes are not to be throttled here
	return dynamic.NewForConfig(cfg)
}
