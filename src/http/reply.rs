//! What every endpoint answers with: a plain-text body, and a 400 that says what to send.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub(super) fn text(status: StatusCode, body: impl Into<Body>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body.into(),
    )
        .into_response()
}

pub(super) fn bad_request(message: String) -> Response {
    text(StatusCode::BAD_REQUEST, message + "\n")
}
