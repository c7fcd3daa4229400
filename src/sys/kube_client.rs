//! A Kubernetes API client: from a kubeconfig file, or from the in-cluster service account
//! (its token, CA and namespace, mounted into every pod). Knows nothing of the lease: the
//! role label uses it for this pod's own cluster, and anything that must reach another
//! cluster's API server can build one per kubeconfig.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Where the client's server, credentials and default namespace come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeSource {
    /// The service account of the pod this runs in.
    InCluster,
    /// A kubeconfig file (its current context), or several separated by ':' as in
    /// KUBECONFIG, merged the way kubectl merges them.
    Kubeconfig(PathBuf),
}

impl std::fmt::Display for KubeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KubeSource::InCluster => f.write_str("the in-cluster service account"),
            KubeSource::Kubeconfig(p) => write!(f, "kubeconfig {}", p.display()),
        }
    }
}

/// A client and the namespace its configuration names (in a cluster: the pod's own).
#[derive(Clone)]
pub struct KubeConnection {
    pub client: Client,
    pub default_namespace: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KubeClientError {
    #[error(
        "not running in a Kubernetes pod with a service account ({0}); mount the service \
         account token (automountServiceAccountToken) or set --kubeconfig"
    )]
    InCluster(String),
    #[error("kubeconfig {path}: {message}; check the file or set --kubeconfig to another")]
    Kubeconfig { path: String, message: String },
    #[error("cannot build the Kubernetes client from {source_name}: {message}")]
    Client {
        source_name: String,
        message: String,
    },
}

/// A client for `source`. `call_timeout` bounds connecting, sending and each response, so
/// that an API server that hangs costs a caller at most that much per call; the client
/// does not retry on its own (callers retry on their schedule).
pub async fn connect(
    source: &KubeSource,
    call_timeout: Duration,
) -> Result<KubeConnection, KubeClientError> {
    let mut config = match source {
        KubeSource::InCluster => {
            Config::incluster().map_err(|e| KubeClientError::InCluster(e.to_string()))?
        }
        KubeSource::Kubeconfig(path) => from_kubeconfig(path).await?,
    };
    config.connect_timeout = Some(call_timeout);
    config.read_timeout = Some(call_timeout);
    config.write_timeout = Some(call_timeout);
    config.reset_reader_on_write = true;
    config.default_retry = false;
    let default_namespace = config.default_namespace.clone();
    let client = Client::try_from(config).map_err(|e| KubeClientError::Client {
        source_name: source.to_string(),
        message: e.to_string(),
    })?;
    Ok(KubeConnection {
        client,
        default_namespace,
    })
}

async fn from_kubeconfig(paths: &std::path::Path) -> Result<Config, KubeClientError> {
    let shown = paths.display().to_string();
    let bad = |message: String| KubeClientError::Kubeconfig {
        path: shown.clone(),
        message,
    };
    let mut merged: Option<Kubeconfig> = None;
    for path in std::env::split_paths(paths) {
        if path.as_os_str().is_empty() {
            continue;
        }
        let one = Kubeconfig::read_from(&path).map_err(|e| bad(e.to_string()))?;
        merged = Some(match merged {
            None => one,
            Some(m) => m.merge(one).map_err(|e| bad(e.to_string()))?,
        });
    }
    let kubeconfig = merged.ok_or_else(|| bad("no file named".into()))?;
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| bad(e.to_string()))
}
