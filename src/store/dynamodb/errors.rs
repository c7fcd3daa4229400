//! Turning SDK errors into `StoreError`s that say what is wrong and what to do.

use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

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
    let detail = || causes(&err);
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
                    "table '{}' does not exist in region {}; create it (drlease docs/operations.md, \"The \
                     table\") or fix --table / --region",
                    ctx.table, ctx.region
                )),
                // MRSC: two regions wrote one item at once; HTTP 400, but retry-safe.
                "ReplicatedWriteConflictException" => StoreError::WriteConflict(what),
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

/// The error and its causes, each by its message, joined by ": ". Not the SDK's
/// `DisplayErrorContext`, which appends the whole error's debug structure: a user
/// running `drlease status` against an unreachable store reads one plain line.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        // Some layers repeat their cause in their own message.
        if !text.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::{ErrorMetadata, SdkError};
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn service_error(status: u16, code: &str) -> SdkError<UpdateItemError, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("from the service")
            .build();
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(UpdateItemError::generic(meta), raw)
    }

    fn ctx() -> CallContext<'static> {
        CallContext {
            table: "t",
            region: "us-east-1",
            timeout: Duration::from_secs(1),
        }
    }

    /// No DynamoDB-compatible server here produces it: an MRSC table's answer to two
    /// regions writing one item at once. It is HTTP 400 and must not be filed as a generic
    /// rejection: the write did not land and may be sent again.
    #[test]
    fn a_replicated_write_conflict_is_retry_safe_not_a_rejection() {
        let e = classify(
            service_error(400, "ReplicatedWriteConflictException"),
            &ctx(),
        );
        assert!(matches!(e, StoreError::WriteConflict(_)), "{e:?}");
        assert_eq!(e.metric_label(), "write_conflict");
        assert!(e.to_string().contains("another region"), "{e}");
        let e = classify(service_error(400, "ValidationException"), &ctx());
        assert!(matches!(e, StoreError::Rejected(_)), "{e:?}");
    }

    #[test]
    fn an_unreachable_store_is_one_plain_line_without_debug_structures() {
        use aws_sdk_dynamodb::error::ConnectorError;
        let refused =
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let err: SdkError<UpdateItemError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        let e = classify(err, &ctx());
        let text = e.to_string();
        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
        assert!(text.contains("Connection refused"), "{text}");
        for debug in ["DispatchFailure(", "ConnectorError", "{", "kind:"] {
            assert!(!text.contains(debug), "debug structure {debug:?} in {text}");
        }
    }
}
