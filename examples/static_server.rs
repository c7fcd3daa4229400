//! The baseline for the role-endpoint benchmark: a minimal hyper server that answers
//! every request with a static body, on the same runtime shape as drlease (tokio, two
//! worker threads). Usage: static_server 127.0.0.1:PORT [axum]
//! With `axum`, the same static answer through an axum Router: it separates what axum
//! itself costs from what drlease's handlers cost.

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9898".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let use_axum = std::env::args().nth(2).as_deref() == Some("axum");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        if use_axum {
            let app = axum::Router::new().route("/", axum::routing::get(|| async { "active\n" }));
            axum::serve(listener, app).await.expect("serve");
            return;
        }
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"active\n"))))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
