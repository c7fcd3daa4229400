//! The opt-in role label on this pod's own Pod, and its Events: which Pod (the Downward
//! API's POD_NAME and POD_NAMESPACE) and how to reach its API server.

use std::path::PathBuf;

use super::{file, non_empty, parse, ConfigError, Environment, Resolver, Source};

/// Where the label goes. `None` in the settings when `--pod-role-label` is off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRoleSettings {
    /// This pod's name (POD_NAME, from the Downward API).
    pub pod: String,
    /// Its namespace (POD_NAMESPACE); `None`: the client's default namespace, which in a
    /// cluster is the service account's, i.e. this pod's.
    pub namespace: Option<String>,
    /// A kubeconfig file; `None`: the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
}

pub(super) fn resolve_pod_role(
    r: &mut Resolver<'_>,
    env: &Environment,
    own: Option<&file::DrleaseSection>,
) -> Result<Option<PodRoleSettings>, ConfigError> {
    let key = |k: &str, v: Option<String>| v.map(|v| (format!("drlease.{k}"), v));
    let on = r.setting_or(
        "pod-role-label",
        &r.cli.pod_role_label,
        key(
            "podRoleLabel",
            own.and_then(|o| o.pod_role_label.map(|b| b.to_string())),
        ),
        parse::on_off,
        bool::to_string,
        false,
    )?;
    let explicit = r.pick_owned(
        "kubeconfig",
        &r.cli.kubeconfig,
        key("kubeconfig", own.and_then(|o| o.kubeconfig.clone())),
    );
    let kubeconfig = match explicit {
        Some(raw) => Some((non_empty(&raw, "kubeconfig path")?, raw.source)),
        None => env
            .kubeconfig
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| (p.to_string(), Source::Env)),
    };
    if !on {
        return Ok(None);
    }
    let pod = match env.pod_name.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => {
            return Err(ConfigError::new(
                "--pod-role-label",
                "POD_NAME is not set: the role label goes on this pod's own Pod; set POD_NAME \
                 from the Downward API (env valueFrom fieldRef metadata.name), or turn \
                 pod-role-label off",
            ))
        }
    };
    let namespace = env
        .pod_namespace
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    r.record("pod", pod.clone(), Source::Env);
    r.record(
        "pod-namespace",
        namespace
            .clone()
            .unwrap_or_else(|| "(the client's default namespace)".into()),
        if namespace.is_some() {
            Source::Env
        } else {
            Source::Default
        },
    );
    match &kubeconfig {
        Some((path, source)) => r.record("kubeconfig", path.clone(), *source),
        None => r.record("kubeconfig", "(in-cluster)".into(), Source::Default),
    }
    Ok(Some(PodRoleSettings {
        pod,
        namespace,
        kubeconfig: kubeconfig.map(|(p, _)| PathBuf::from(p)),
    }))
}
