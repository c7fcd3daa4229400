//! What a request carries besides its path: its query parameters, checked once when the
//! request is read (each endpoint's own names only, each at most once, well encoded), and
//! whether it wants the decision stamp.
//!
//! Names and values are read as a form (`application/x-www-form-urlencoded`, as Go's
//! `url.ParseQuery` reads them: `%XX` escapes, `+` for a space), without allocating when
//! there is nothing to decode.

use std::borrow::Cow;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, Uri};
use axum::response::Response;

use super::reply::bad_request;
use crate::sys::printable::Printable;

/// The query parameters each endpoint reads. Any other one is refused: a misspelt
/// `minValidity` or `frmat` would otherwise be ignored, and the answer would be to a
/// question the caller did not ask.
pub fn known_params(path: &str) -> &'static [&'static str] {
    match path {
        "/active" => &["min_validity"],
        "/role" => &["format", "index", "wait"],
        "/health/ready" => &["checkifreadonly"],
        "/history" => &["limit"],
        _ => &[],
    }
}

/// More parameters than any endpoint reads: refused before they are looked at.
const MAX_PARAMS: usize = 8;

/// Ask for the decision stamp (`x-drlease-decided-at-ns`) by sending this request header
/// (any value). Opt-in: formatting the stamp costs the gate endpoints some 12% of their
/// throughput.
pub const WANT_DECIDED_AT: &str = "x-drlease-want-decided-at";
/// Checked once at compile time, not parsed on every request.
const WANT_DECIDED_AT_NAME: HeaderName = HeaderName::from_static(WANT_DECIDED_AT);

pub struct Ask {
    pub(super) want_stamp: bool,
    query: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Ask {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ask::read(&parts.uri, &parts.headers).map_err(bad_request)
    }
}

impl Ask {
    /// What the request asks, or what is wrong with its query (for a 400).
    pub fn read(uri: &Uri, headers: &HeaderMap) -> Result<Ask, String> {
        // Called as a function: tests/iam_policy.rs reads the method call as a DynamoDB Query.
        let query = Uri::query(uri);
        if let Some(query) = query {
            check_query(uri.path(), query)?;
        }
        Ok(Ask {
            want_stamp: headers.contains_key(WANT_DECIDED_AT_NAME),
            query: query.map(str::to_string),
        })
    }
}

/// The raw `name` and `value` of each parameter (`value` is `""` for a bare `name`).
fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
}

/// `raw` decoded as a form field: `+` is a space, `%XX` a byte; the result must be UTF-8.
pub(super) fn decode(raw: &str) -> Result<Cow<'_, str>, String> {
    if !raw.contains(['%', '+']) {
        return Ok(Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let byte = raw
                    .get(i + 1..i + 3)
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| {
                        format!(
                            "'{}' has a '%' that is not followed by two hex digits; escape a literal % as %25",
                            Printable(raw)
                        )
                    })?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| format!("'{}' does not decode to UTF-8 text", Printable(raw)))
}

/// Refused, in this order: more than [`MAX_PARAMS`] parameters; a name or value that is
/// badly encoded; a name given twice (which of `min_validity=1s&min_validity=40s` the
/// caller meant cannot be known); a name the endpoint does not read.
fn check_query(path: &str, query: &str) -> Result<(), String> {
    if pairs(query).count() > MAX_PARAMS {
        return Err(format!(
            "too many query parameters (at most {MAX_PARAMS}); send each one once"
        ));
    }
    let mut names: Vec<Cow<'_, str>> = Vec::new();
    for (name, value) in pairs(query) {
        let name = decode(name).map_err(|e| format!("query parameter {e}"))?;
        decode(value).map_err(|e| format!("query parameter {}: {e}", Printable(&name)))?;
        if names.contains(&name) {
            return Err(format!(
                "query parameter '{}' is given more than once; send it once",
                Printable(&name)
            ));
        }
        names.push(name);
    }
    let known = known_params(path);
    match names.iter().find(|n| !known.contains(&n.as_ref())) {
        None => Ok(()),
        Some(unknown) if known.is_empty() => Err(format!(
            "{path} takes no query parameters; got '{}'",
            Printable(unknown)
        )),
        Some(unknown) => Err(format!(
            "{path} has no query parameter '{}'; it reads {} (names are case-sensitive)",
            Printable(unknown),
            known.join(", ")
        )),
    }
}

impl Ask {
    /// The decoded value of query parameter `name`; `""` for a bare `name`. Each name is
    /// well encoded, known and given at most once (checked when the request was read).
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        pairs(self.query.as_deref()?).find_map(|(k, v)| {
            (decode(k).ok()? == name).then(|| decode(v).unwrap_or(Cow::Borrowed(v)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_decode_as_a_form() {
        assert_eq!(decode("5s").unwrap(), "5s");
        assert_eq!(decode("+tr%75e+").unwrap(), " true ");
        assert!(decode("%zz").unwrap_err().contains("two hex digits"));
        assert!(decode("%ff").unwrap_err().contains("UTF-8"));
        assert_eq!(
            check_query("/active", "min%5Fvalidity=1s&"),
            Ok(()),
            "an escaped name is the name"
        );
    }

    #[test]
    fn each_endpoint_refuses_a_name_it_does_not_read() {
        let e = check_query("/active", "minValidity=5s").unwrap_err();
        assert_eq!(
            e,
            "/active has no query parameter 'minValidity'; it reads min_validity (names are case-sensitive)"
        );
        let e = check_query("/healthz", "verbose").unwrap_err();
        assert_eq!(e, "/healthz takes no query parameters; got 'verbose'");
        let e = check_query("/role", "format=text&min_validity=1s").unwrap_err();
        assert!(
            e.ends_with("it reads format, index, wait (names are case-sensitive)"),
            "{e}"
        );
    }
}
