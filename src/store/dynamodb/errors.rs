//! Turning SDK errors into `StoreError`s that say what is wrong and what to do.

use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::store::StoreError;

/// Where the call went, for messages.
pub struct CallContext<'a> {
    pub table: &'a str,
    pub region: &'a str,
    pub timeout: Duration,
}

const THROTTLING: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "Throttling",
];

const AUTH: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "AccessDeniedException",
    "ExpiredTokenException",
    "MissingAuthenticationTokenException",
    "InvalidClientTokenId",
    "IncompleteSignature",
];

pub fn classify<E>(err: SdkError<E, HttpResponse>, ctx: &CallContext<'_>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = || DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::TimeoutError(_) => StoreError::Timeout(ctx.timeout),
        SdkError::DispatchFailure(d) if d.is_timeout() => StoreError::Timeout(ctx.timeout),
        SdkError::ServiceError(service) => {
            let code = err.code().unwrap_or("").to_string();
            let message = err.message().unwrap_or("").to_string();
            let status = service.raw().status().as_u16();
            let what = if message.is_empty() {
                code.clone()
            } else {
                format!("{code}: {message}")
            };
            match code.as_str() {
                "ConditionalCheckFailedException" => StoreError::ConditionFailed,
                "ResourceNotFoundException" => StoreError::TableMissing(format!(
                    "table '{}' does not exist in region {}; create it (drlease README, \"The \
                     table\") or fix --table / --region",
                    ctx.table, ctx.region
                )),
                c if THROTTLING.contains(&c) => StoreError::Throttled(what),
                c if AUTH.contains(&c) => StoreError::Auth(what),
                _ if status >= 500 => StoreError::Unavailable(format!("HTTP {status}: {what}")),
                _ if status == 429 => StoreError::Throttled(what),
                _ if status == 403 => StoreError::Auth(what),
                _ => StoreError::Rejected(format!("HTTP {status}: {what}")),
            }
        }
        _ => {
            let text = detail();
            if text.to_ascii_lowercase().contains("credential") {
                StoreError::Auth(text)
            } else {
                StoreError::Unavailable(text)
            }
        }
    }
}
