//! `DescribeTable` on the emulator, answered as a real global table (version 2019.11.21)
//! answers it: moto's description of its own table, with `GlobalTableVersion`,
//! `MultiRegionConsistency`, `Replicas` (the other regions, as DynamoDB lists them from a
//! region) and, for MRSC, the witness. Tests can change the answer under a running fleet
//! (a replica added) or refuse the call (a role without `dynamodb:DescribeTable`).

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Response, StatusCode};

/// What the emulator's `DescribeTable` says.
#[derive(Clone, Debug)]
pub struct Description {
    /// `Some("EVENTUAL")` (MREC, the default), `Some("STRONG")` (MRSC: the emulator still
    /// replicates eventually; only the description says strong), or `None`: moto's own
    /// answer, a table in one region.
    pub consistency: Option<&'static str>,
    /// Replica regions besides the emulator's own (a replica added under a running fleet).
    pub extra_regions: Vec<String>,
    /// The MRSC witness region.
    pub witness: Option<&'static str>,
    /// Answer `AccessDeniedException`, as for a role without `dynamodb:DescribeTable`.
    pub denied: bool,
}

impl Default for Description {
    fn default() -> Self {
        Description {
            consistency: Some("EVENTUAL"),
            extra_regions: Vec::new(),
            witness: None,
            denied: false,
        }
    }
}

impl Description {
    /// An MRSC table of the emulator's two regions and a witness.
    pub fn mrsc() -> Description {
        Description {
            consistency: Some("STRONG"),
            witness: Some("us-east-2"),
            ..Description::default()
        }
    }
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;

fn json_response(status: StatusCode, headers: HeaderMap, body: Vec<u8>) -> Response<ProxyBody> {
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|n| match n {}).boxed());
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    // The body changed: its length and checksum are the new one's.
    response.headers_mut().remove("content-length");
    response.headers_mut().remove("x-amz-crc32");
    response
}

/// The refusal of a role without the permission.
pub fn denied(region: &str) -> Response<ProxyBody> {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        "application/x-amz-json-1.0".parse().unwrap(),
    );
    let body = serde_json::json!({
        "__type": "com.amazon.coral.service#AccessDeniedException",
        "message": format!(
            "User: arn:aws:sts::123456789012:assumed-role/drlease/pod is not authorized to \
             perform: dynamodb:DescribeTable on resource: arn:aws:dynamodb:{region}:123456789012:table/t"
        ),
    });
    json_response(
        StatusCode::BAD_REQUEST,
        headers,
        serde_json::to_vec(&body).unwrap(),
    )
}

/// Moto's answer to region `region`'s `DescribeTable`, described as the test says.
pub(super) fn answer(
    shared: &super::Shared,
    region: usize,
    head: hyper::http::response::Parts,
    body: &[u8],
) -> Response<ProxyBody> {
    let d = shared.description.lock().unwrap().clone();
    let regions: Vec<String> = shared.replicas.iter().map(|r| r.name.clone()).collect();
    rewrite(
        &d,
        &regions[region],
        &regions,
        head.status,
        head.headers,
        body,
    )
}

/// Moto's answer for region `own` of `regions`, described as `d` says.
fn rewrite(
    d: &Description,
    own: &str,
    regions: &[String],
    status: StatusCode,
    headers: HeaderMap,
    body: &[u8],
) -> Response<ProxyBody> {
    let Some(consistency) = d.consistency else {
        return json_response(status, headers, body.to_vec());
    };
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return json_response(status, headers, body.to_vec());
    };
    if status.is_success() {
        let table = &mut v["Table"];
        let replicas: Vec<serde_json::Value> = regions
            .iter()
            .chain(&d.extra_regions)
            .filter(|r| *r != own)
            .map(|r| serde_json::json!({"RegionName": r, "ReplicaStatus": "ACTIVE"}))
            .collect();
        table["Replicas"] = serde_json::Value::Array(replicas);
        table["GlobalTableVersion"] = "2019.11.21".into();
        table["MultiRegionConsistency"] = consistency.into();
        if let Some(w) = d.witness {
            table["GlobalTableWitnesses"] =
                serde_json::json!([{"RegionName": w, "WitnessStatus": "ACTIVE"}]);
        }
    }
    json_response(status, headers, serde_json::to_vec(&v).unwrap())
}
