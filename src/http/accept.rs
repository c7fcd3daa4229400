//! The HTTP server: hyper's HTTP/1 connection under limits a neighbour cannot get around.
//!
//! `axum::serve` keeps every connection until the client closes it. A neighbour pod that
//! opens connections and never finishes a request would then hold them (and the open
//! files they cost) for ever, and the controller's `/active` would stop answering: "not
//! active" everywhere, no writer at all. Here:
//! * a request's headers must arrive within the header timeout, which also closes
//!   keep-alive connections idle for that long (counted from the connection's opening or
//!   its last answer sent in full; see `super::serve`);
//! * a client that stops reading what it asked for is dropped once a write has been
//!   stuck for the stall timeout;
//! * at most `max_connections` at once, kept under the open-file limit so the process
//!   always has files left for the store and the other listener.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tracing::{debug, warn};

use super::serve::{Activity, Served};

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_timeout: Duration,
    pub write_stall: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
    pub const WRITE_STALL: Duration = Duration::from_secs(30);
}

/// Serves `app` on `listener` until `stop` turns true; then asks every connection to
/// finish its request in flight and close, and returns when they have.
pub async fn accept_loop(
    listener: TcpListener,
    app: Served,
    limits: Limits,
    name: &'static str,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut last_full_warning: Option<Instant> = None;
    let mut last_accept_warning: Option<Instant> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        // At the cap, wait for a connection to end before accepting: new ones wait in the
        // kernel's backlog instead of costing open files.
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if last_full_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    warn!(
                        listener = name,
                        max = limits.max_connections,
                        "HTTP connection cap reached: new connections wait until one ends"
                    );
                    last_full_warning = Some(Instant::now());
                }
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    _ = stop.changed() => continue,
                }
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of files (or a connection reset before we took it): wait a little
                    // rather than spin; connections closing free files.
                    if last_accept_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                        warn!(listener = name, error = %e, "cannot accept HTTP connections");
                        last_accept_warning = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => continue,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stop = stop.clone();
        tokio::spawn(connection(stream, app, limits, permit, stop));
    }
    // Wait for the connections to finish (every permit back).
    let _ = slots
        .acquire_many(limits.max_connections.try_into().unwrap_or(u32::MAX))
        .await;
}

/// One connection, holding its slot (`_permit`) until it ends; on `stop`, it finishes the
/// request in flight and closes. Closed (dropped) once it has waited the header timeout
/// for a request, shutting down or not.
async fn connection(
    stream: TcpStream,
    app: Served,
    limits: Limits,
    _permit: OwnedSemaphorePermit,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(StallGuard::new(stream, limits.write_stall));
    let activity = Activity::new();
    let mut builder = http1::Builder::new();
    // hyper's own header-read timeout (30 s once it has a timer) is turned off: the
    // activity's below replaces it at a fraction of the cost. The timer stays for hyper's
    // other uses.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    let conn = builder.serve_connection(io, app.connection(activity.clone()));
    tokio::pin!(conn);
    let idle = activity.idle_for(limits.header_timeout);
    tokio::pin!(idle);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = idle.as_mut() => return,
        _ = async { stop.wait_for(|s| *s).await.is_ok() } => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                r = conn.as_mut() => r,
                _ = idle.as_mut() => return,
            }
        }
    };
    if let Err(e) = result {
        debug!(error = %e, "HTTP connection ended with an error");
    }
}

/// A TCP stream whose writes fail once they have made no progress for `limit`: a client
/// that stops reading must not hold its connection (and its slot) for ever.
pub struct StallGuard<T = TcpStream> {
    inner: T,
    limit: Duration,
    stuck_since: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> StallGuard<T> {
    pub fn new(inner: T, limit: Duration) -> Self {
        StallGuard {
            inner,
            limit,
            stuck_since: None,
        }
    }

    fn on_write<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match polled {
            Poll::Ready(r) => {
                self.stuck_since = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let limit = self.limit;
                let timer = self
                    .stuck_since
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.on_write(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.on_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.on_write(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_stops_reading_is_dropped_after_the_stall_limit() {
        let (client, server) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(server, Duration::from_secs(30));
        // The client reads nothing: the first 64 bytes fit, then writes make no progress.
        guarded.write_all(&[0u8; 64]).await.unwrap();
        let started = tokio::time::Instant::now();
        let err = guarded.write_all(&[0u8; 64]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_reading_is_kept() {
        let (mut client, server) = tokio::io::duplex(16);
        let mut guarded = StallGuard::new(server, Duration::from_secs(30));
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 16];
            let mut total = 0;
            while total < 256 {
                tokio::time::sleep(Duration::from_secs(20)).await;
                total += tokio::io::AsyncReadExt::read(&mut client, &mut buf)
                    .await
                    .unwrap();
            }
        });
        // 16 reads, 20 s apart: each under the limit, 320 s in all.
        guarded.write_all(&[0u8; 256]).await.unwrap();
        reader.await.unwrap();
    }
}
