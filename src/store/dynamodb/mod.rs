//! The DynamoDB store: one item of one table, strongly consistent reads and conditional
//! updates only.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

use super::{LeaseStore, StoreError};
use crate::lease::operator::HandoverRequest;
use crate::lease::{LeaseRecord, RegionMark, ReleaseClaim, WriteRequest};
use crate::sys::clock::wall_secs;

mod candidates;
mod claim;
pub mod describe;
mod errors;
pub mod heartbeat;
mod history;
pub mod item;
mod marks;
pub mod table;

use errors::{classify, CallContext};

/// How to reach DynamoDB.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub role_arn: Option<String>,
    /// Upper bound for one call, retries included.
    pub call_timeout: Duration,
    /// Attempts per call. The lease loop retries on its own schedule, so it uses 1;
    /// one-shot operator commands can afford the SDK's retries.
    pub max_attempts: u32,
    /// Used in the STS session name when assuming a role.
    pub identity: String,
}

/// A configured client and the region it resolved to.
#[derive(Clone, Debug)]
pub struct Connection {
    pub client: Client,
    pub region: String,
    pub call_timeout: Duration,
}

/// Builds a client from the default credential chain (environment, profile, web identity,
/// EKS Pod Identity, instance metadata), optionally assuming `role_arn` on top of it.
pub async fn connect(opts: &ConnectOptions) -> Result<Connection, String> {
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(opts.call_timeout)
        .operation_attempt_timeout(opts.call_timeout)
        .connect_timeout(opts.call_timeout)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(opts.max_attempts.max(1))
                .with_initial_backoff(Duration::from_millis(20)),
        );
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    let sdk = loader.load().await;
    let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
        "no AWS region: set --region, region in the dynamoDB section of the config file, or \
         AWS_REGION"
            .to_string()
    })?;
    let mut builder = aws_sdk_dynamodb::config::Builder::from(&sdk);
    if let Some(arn) = &opts.role_arn {
        let provider = aws_config::sts::AssumeRoleProvider::builder(arn.clone())
            .session_name(session_name(&opts.identity))
            .configure(&sdk)
            .build()
            .await;
        builder = builder.credentials_provider(provider);
    }
    Ok(Connection {
        client: Client::from_conf(builder.build()),
        region,
        call_timeout: opts.call_timeout,
    })
}

/// STS session names allow `[\w+=,.@-]`, 2 to 64 characters.
fn session_name(identity: &str) -> String {
    let clean: String = identity
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut name = format!("drlease-{clean}");
    name.truncate(64);
    name
}

#[derive(Clone, Debug)]
pub struct DynamoStore {
    conn: Connection,
    table: String,
    lease: String,
    /// While set, the lease item's reads and writes fail with it: the sidecar holds them
    /// back until it has read what the table is (`DescribeTable`).
    held_back: Arc<Mutex<Option<StoreError>>>,
}

impl DynamoStore {
    pub fn new(conn: Connection, table: impl Into<String>, lease: impl Into<String>) -> Self {
        DynamoStore {
            conn,
            table: table.into(),
            lease: lease.into(),
            held_back: Arc::default(),
        }
    }

    /// Holds the lease item's reads and writes back, failing with `why`, or (`None`) lets
    /// them through.
    pub fn hold_back(&self, why: Option<StoreError>) {
        if let Ok(mut held) = self.held_back.lock() {
            *held = why;
        }
    }

    fn check_held_back(&self) -> Result<(), StoreError> {
        match self.held_back.lock().map(|h| h.clone()) {
            Ok(Some(why)) => Err(why),
            Ok(None) => Ok(()),
            Err(_) => Err(StoreError::Unavailable(
                "the hold-back lock is poisoned".into(),
            )),
        }
    }

    fn ctx(&self) -> CallContext<'_> {
        CallContext {
            table: &self.table,
            region: &self.conn.region,
            timeout: self.conn.call_timeout,
        }
    }
}

impl LeaseStore for DynamoStore {
    async fn read(&self) -> Result<Option<LeaseRecord>, StoreError> {
        self.check_held_back()?;
        let out = self
            .conn
            .client
            .get_item()
            .table_name(&self.table)
            .key(item::KEY, AttributeValue::S(self.lease.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(e, &self.ctx()))?;
        match out.item() {
            None => Ok(None),
            Some(found) => item::parse(found).map(Some).map_err(StoreError::Malformed),
        }
    }

    async fn write(&self, req: &WriteRequest) -> Result<LeaseRecord, StoreError> {
        self.check_held_back()?;
        let u = item::update_for(req, wall_secs());
        let out = self
            .conn
            .client
            .update_item()
            .table_name(&self.table)
            .key(item::KEY, AttributeValue::S(self.lease.clone()))
            .update_expression(u.update_expression)
            .condition_expression(u.condition_expression)
            .set_expression_attribute_names(Some(u.names))
            .set_expression_attribute_values(Some(u.values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| classify(e, &self.ctx()))?;
        let written = out
            .attributes()
            .ok_or_else(|| StoreError::Rejected("UpdateItem returned no attributes".into()))?;
        item::parse(written).map_err(StoreError::Malformed)
    }

    async fn request_handover(&self, req: &HandoverRequest) -> Result<(), StoreError> {
        let u = item::handover_request(req);
        // Sent once, whatever retries the connection allows (an operator's command allows
        // some): a retry would write the same request id again, and on a global table each
        // write of a request may drop a renewal of the holder behind it, which candidates
        // notice only by a new id (R28). A caller that wants to try again makes a new id.
        let once = aws_sdk_dynamodb::config::Builder::default()
            .retry_config(RetryConfig::standard().with_max_attempts(1));
        self.conn
            .client
            .update_item()
            .table_name(&self.table)
            .key(item::KEY, AttributeValue::S(self.lease.clone()))
            .update_expression(u.update_expression)
            .condition_expression(u.condition_expression)
            .set_expression_attribute_names(Some(u.names))
            .set_expression_attribute_values(Some(u.values))
            .customize()
            .config_override(once)
            .send()
            .await
            .map_err(|e| classify(e, &self.ctx()))?;
        Ok(())
    }

    async fn claim(&self, claim: &ReleaseClaim) -> Result<(), StoreError> {
        self.put_claim(claim).await
    }

    async fn read_marks(&self, regions: &[String]) -> Result<Vec<RegionMark>, StoreError> {
        self.get_marks(regions).await
    }

    async fn write_mark(&self, mark: &RegionMark) -> Result<(), StoreError> {
        self.put_mark(mark).await
    }
}

impl DynamoStore {
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub fn lease_name(&self) -> &str {
        &self.lease
    }
}

#[cfg(test)]
mod tests {
    use super::session_name;

    #[test]
    fn session_names_are_valid_for_sts() {
        assert_eq!(session_name("admiral-7f9c/x y"), "drlease-admiral-7f9c-x-y");
        assert_eq!(session_name(&"p".repeat(100)).len(), 64);
    }
}
