//! Start-up, first part: every piece the daemon runs, made and wired, and the listeners
//! bound. Spawns only the eligibility probe (its first answer seeds what is published).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::{PodRoleSettings, Settings, StoreKind};
use crate::lease::{CoreConfig, LeaseCore, Regions};
use crate::run::eligibility::Eligibility;
use crate::run::metrics::Metrics;
use crate::run::pod_role::api::{KubePodApi, CALL_TIMEOUT};
use crate::run::publish::{channel, Identity, Publisher, Reader};
use crate::run::table_watch::TableState;
use crate::sys::clock::Clock;
use crate::sys::duration::format_duration;
use crate::sys::kube_client::{connect, KubeSource};

/// Everything made and bound, nothing running yet but the eligibility probe.
pub(super) struct Built {
    pub(super) core: LeaseCore,
    pub(super) publisher: Publisher,
    pub(super) shared: Reader,
    pub(super) metrics: Arc<Metrics>,
    pub(super) eligibility: watch::Receiver<Eligibility>,
    pub(super) listener: TcpListener,
    pub(super) gate_listener: Option<TcpListener>,
    /// The connection caps of the main and the gate listener, under the open-file limit.
    pub(super) main_cap: usize,
    pub(super) gate_cap: usize,
    /// The role label's client, when `--pod-role-label` is on.
    pub(super) pod_role: Option<KubePodApi>,
}

pub(super) async fn build(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    table: Option<Arc<TableState>>,
) -> anyhow::Result<Built> {
    let timing = &settings.timing;
    // Random per process: tells this process from any other with the same identity.
    let session = crate::sys::token::random_token()?;
    let metrics = Arc::new(Metrics::new(&settings.lease_name));
    metrics.set_priority(settings.affinity.priority);
    // The loop never waits longer than an interval between steps; allow two, plus a call.
    let stall_limit = timing.interval.max(timing.confirm_delay) * 2
        + timing.call_timeout()
        + Duration::from_secs(1);
    let who = Identity {
        identity: settings.identity.clone(),
        lease: settings.lease_name.clone(),
        session: session.clone(),
        affinity: settings.affinity.clone(),
        table,
    };
    let eligibility = crate::run::eligibility::spawn(&settings.eligibility, timing.interval);
    let (publisher, shared) = channel(
        clock,
        who,
        stall_limit,
        *eligibility.borrow(),
        settings.serving.write_window,
    );
    let (main_cap, gate_cap) = connection_caps(settings.serving.gate_listen.is_some());
    let listener = bind(settings.listen, "--listen").await?;
    let gate_listener = match settings.serving.gate_listen {
        Some(addr) => Some(bind(addr, "--gate-listen").await?),
        None => None,
    };
    let gate_bound = match &gate_listener {
        Some(l) => l.local_addr()?.to_string(),
        None => String::new(),
    };
    log_start(settings, listener.local_addr()?, &gate_bound);
    let pod_role = match &settings.pod_role {
        Some(p) => Some(pod_role_api(p, settings).await?),
        None => None,
    };
    let core = LeaseCore::new(core_config(settings, session));
    Ok(Built {
        core,
        publisher,
        shared,
        metrics,
        eligibility,
        listener,
        gate_listener,
        main_cap,
        gate_cap,
        pod_role,
    })
}

/// The role label's client. Only reads the configuration (nothing is asked of the API
/// server yet), so a bad kubeconfig or a pod without a service account stops the start,
/// while an API server that is down does not.
async fn pod_role_api(p: &PodRoleSettings, settings: &Settings) -> anyhow::Result<KubePodApi> {
    let source = p
        .kubeconfig
        .clone()
        .map_or(KubeSource::InCluster, KubeSource::Kubeconfig);
    let conn = connect(&source, CALL_TIMEOUT)
        .await
        .context("--pod-role-label")?;
    let api = KubePodApi::new(
        conn,
        p.pod.clone(),
        p.namespace.clone(),
        settings.lease_name.clone(),
        settings.identity.clone(),
    );
    info!(
        pod = %p.pod,
        namespace = %api.namespace(),
        client = %source,
        label = crate::run::pod_role::LABEL,
        "the role label on this pod's Pod is on: a hint for people and routing, never the gate"
    );
    Ok(api)
}

/// Raises the open-file limit and caps each listener's connections under it.
fn connection_caps(gate_listener: bool) -> (usize, usize) {
    let (open_files, raise_error) = crate::sys::fd_limit::raise();
    let (main_cap, gate_cap) = crate::sys::fd_limit::connection_caps(open_files, gate_listener);
    match &raise_error {
        None => info!(
            open_files = open_files.map_or("unlimited".into(), |n| n.to_string()),
            max_connections = main_cap,
            gate_max_connections = gate_cap,
            "open-file limit"
        ),
        Some(e) => warn!(
            open_files = open_files.map_or("unlimited".into(), |n| n.to_string()),
            error = %e,
            max_connections = main_cap,
            "cannot raise the open-file limit to its hard limit; HTTP connections are capped under the current one"
        ),
    }
    (main_cap, gate_cap)
}

fn log_start(settings: &Settings, bound: SocketAddr, gate_bound: &str) {
    let timing = &settings.timing;
    info!(
        listen = %bound,
        gate_listen = %gate_bound,
        write_window = %format_duration(settings.serving.write_window),
        identity = %settings.identity,
        lease = %settings.lease_name,
        store = %settings.store,
        table = settings.table.as_deref().unwrap_or(""),
        interval = %format_duration(timing.interval),
        lease_duration = %format_duration(timing.lease_duration),
        renew_deadline = %format_duration(timing.renew_deadline),
        priority = settings.affinity.priority,
        failback_after = %settings.affinity.failback_after.map_or("off".to_string(), format_duration),
        observer = settings.affinity.never_acquire,
        "drlease starting"
    );
}

fn core_config(settings: &Settings, session: String) -> CoreConfig {
    CoreConfig {
        identity: settings.identity.clone(),
        session,
        timing: settings.timing.clone(),
        store_is_private: settings.store == StoreKind::Memory,
        affinity: settings.affinity.clone(),
        regions: (settings.store == StoreKind::DynamoDb && !settings.peer_regions.is_empty()).then(
            || Regions {
                own: settings.region.clone().unwrap_or_default(),
                peers: settings.peer_regions.clone(),
            },
        ),
    }
}

async fn bind(addr: SocketAddr, flag: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!(
            "{flag}: cannot listen on {addr}; is another process using the port? Choose another with {flag}"
        )
    })
}
