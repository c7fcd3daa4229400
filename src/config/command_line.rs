//! The settings as flags or environment give them: the one list of settings, read by clap
//! (`src/cli.rs`) and resolved against the file and the defaults in `super`.

use std::path::PathBuf;

use super::Source;

/// The raw settings as flags or environment gave them (clap merges those two): the one
/// list of settings. Each flag can also come from `DRLEASE_<FLAG>`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct CommandLine {
    /// Config file: Admiral's DR file (`dynamoDB:` section), optionally with a `drlease:` section.
    #[arg(long, env = "DRLEASE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the lease lives: `dynamodb`, or `memory` for a single-process local run.
    #[arg(long, env = "DRLEASE_STORE", value_name = "dynamodb|memory")]
    pub store: Option<String>,
    /// HTTP listen address [default: 0.0.0.0:9797].
    #[arg(long, env = "DRLEASE_LISTEN", value_name = "IP:PORT")]
    pub listen: Option<String>,
    /// This candidate's name in the lease [default: $POD_NAME, else the hostname].
    #[arg(long, env = "DRLEASE_IDENTITY")]
    pub identity: Option<String>,
    /// The lease item's key (Admiral's leaseName).
    #[arg(long, env = "DRLEASE_LEASE_NAME")]
    pub lease_name: Option<String>,
    /// DynamoDB table (Admiral's tableName).
    #[arg(long, env = "DRLEASE_TABLE")]
    pub table: Option<String>,
    /// AWS region [default: the SDK's, e.g. $AWS_REGION].
    #[arg(long, env = "DRLEASE_REGION")]
    pub region: Option<String>,
    /// DynamoDB endpoint override, e.g. a local DynamoDB-compatible server.
    #[arg(long, env = "DRLEASE_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// IAM role to assume through STS on top of the default credential chain.
    #[arg(long, env = "DRLEASE_ROLE_ARN", value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Renew / check interval, e.g. 15s or 500ms (Admiral's waitTimeInSeconds) [default: 15s].
    #[arg(long, env = "DRLEASE_INTERVAL", value_name = "DURATION")]
    pub interval: Option<String>,
    /// Lease duration = interval x this [default: 3].
    #[arg(long, env = "DRLEASE_FAILURE_THRESHOLD", value_name = "N")]
    pub failure_threshold: Option<String>,
    /// How long the active stays active after a renewal [default: lease duration - interval].
    #[arg(long, env = "DRLEASE_RENEW_DEADLINE", value_name = "DURATION")]
    pub renew_deadline: Option<String>,
    /// After acquiring, wait this long and re-read before answering active (multi-Region
    /// eventually consistent tables) [default: 0s].
    #[arg(long, env = "DRLEASE_CONFIRM_DELAY", value_name = "DURATION")]
    pub confirm_delay: Option<String>,
    /// Log format: text or json [default: text]. The filter comes from RUST_LOG.
    #[arg(long, env = "DRLEASE_LOG_FORMAT", value_name = "text|json")]
    pub log_format: Option<String>,
    /// Acquire only while the controller answers 2xx at this http:// URL.
    #[arg(long, env = "DRLEASE_APP_HEALTH_URL", value_name = "URL")]
    pub app_health_url: Option<String>,
    /// Step down after this many consecutive failed health checks [default: 3].
    #[arg(long, env = "DRLEASE_APP_HEALTH_FAILURES", value_name = "N")]
    pub app_health_failures: Option<String>,
    /// Do not acquire for this long after start [default: 0s].
    #[arg(long, env = "DRLEASE_WARMUP", value_name = "DURATION")]
    pub warmup: Option<String>,
    /// Keep a heartbeat item in the table for `drlease status` and handover [default: true].
    #[arg(long, env = "DRLEASE_HEARTBEAT", value_name = "true|false")]
    pub heartbeat: Option<String>,
    /// A second listener serving only /role, /active, /passive, /health/ready and /watch,
    /// for the controller inside the pod, e.g. 127.0.0.1:9798 [default: none].
    #[arg(long, env = "DRLEASE_GATE_LISTEN", value_name = "IP:PORT")]
    pub gate_listen: Option<String>,
    /// Longest write window an active answer grants (capped by the validity left) [default: 2s].
    #[arg(long, env = "DRLEASE_WRITE_WINDOW", value_name = "DURATION")]
    pub write_window: Option<String>,
    /// Most /watch streams and blocking /role queries open at once [default: 256].
    #[arg(long, env = "DRLEASE_MAX_WATCHERS", value_name = "N")]
    pub max_watchers: Option<String>,
    /// Failover priority: higher is preferred (e.g. the primary region) [default: 0].
    #[arg(
        long,
        env = "DRLEASE_PRIORITY",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub priority: Option<String>,
    /// Take the lease back from a holder of lower priority once this pod has been healthy
    /// this long, through a planned handover, e.g. 5m [default: off].
    #[arg(long, env = "DRLEASE_FAILBACK_AFTER", value_name = "DURATION|off")]
    pub failback_after: Option<String>,
    /// An observer: serve the role, never hold the lease [default: false].
    #[arg(long, env = "DRLEASE_NEVER_ACQUIRE", value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
    pub never_acquire: Option<String>,
    /// The longest lease any pod of this lease uses, e.g. during a rolling change of the
    /// interval or threshold (the longer of old and new); every version is timed by at
    /// least this [default: this pod's own lease duration].
    #[arg(long, env = "DRLEASE_LONGEST_LEASE", value_name = "DURATION")]
    pub longest_lease: Option<String>,
    /// On a multi-Region eventually consistent global table: the other regions, comma
    /// separated, whose holders this pod must find (region marks) [default: none].
    #[arg(long, env = "DRLEASE_PEER_REGIONS", value_name = "REGION,...")]
    pub peer_regions: Option<String>,
    /// Label this pod's own Pod `drlease.io/role=active|passive` and record a Kubernetes
    /// Event on every change of role; needs POD_NAME (and POD_NAMESPACE) from the Downward
    /// API and RBAC to patch pods and create events [default: false].
    #[arg(long, env = "DRLEASE_POD_ROLE_LABEL", value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
    pub pod_role_label: Option<String>,
    /// The kubeconfig file for the role label [default: $KUBECONFIG, else the in-cluster
    /// service account].
    #[arg(long, env = "DRLEASE_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<String>,
    /// Warn about keys in the config file that are no setting instead of refusing to start:
    /// only while a fleet runs versions that know different keys [default: false].
    #[arg(long, env = "DRLEASE_ALLOW_UNKNOWN_KEYS", value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
    pub allow_unknown_keys: Option<String>,
    /// What the table is: `auto` reads its description (`dynamodb:DescribeTable`); or state
    /// it by hand: `one-write-region`, `mrec` (with --peer-regions) or `mrsc` [default: auto].
    #[arg(long, env = "DRLEASE_TABLE_MODE", value_name = "MODE")]
    pub table_mode: Option<String>,
    /// Start even where the promise is outside its rule (a confirm delay of 0 on a
    /// multi-Region eventually consistent table); /role, the log and a metric say so
    /// [default: false].
    #[arg(long, env = "DRLEASE_ACCEPT_OUTSIDE_RULE", value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
    pub accept_outside_rule: Option<String>,
    /// How often a running sidecar reads the table's description again, to notice a
    /// replica added or removed [default: 5m].
    #[arg(long, env = "DRLEASE_TABLE_REREAD", value_name = "DURATION")]
    pub table_reread: Option<String>,
    /// For each flag that was set (by its long name), whether it came from the flag or the
    /// environment. Filled by the CLI from clap's matches.
    #[arg(skip)]
    pub sources: Vec<(String, Source)>,
}
