//! A SIGTERM with the controller's `/watch` stream open (the normal case: the controller
//! subscribes). The release used to be settled at once, but the open stream held the
//! process until the release deadline (10 s with the defaults: 1 watcher 10003 ms, 300
//! watchers 10008 ms). Now every stream gets the last events and ends, every idle
//! keep-alive connection is closed, and the process exits once the release is settled.

use crate::*;

/// The defaults (interval 15 s: call timeout 5 s, release deadline 10 s), on the memory
/// store; `watchers` streams and an idle keep-alive connection open; nothing granted a
/// write window (the streams and `/readyz` grant none), so nothing holds the release.
fn sigterm_with_watchers(watchers: usize) {
    let mut a = Sidecar::start("pod-a", &["--store".to_string(), "memory".into()]);
    wait_until(STARTUP, || {
        matches!(http(a.port, "GET", "/readyz"), Some((200, _)))
    })
    .expect("decided");
    let streams: Vec<SseReader> = (0..watchers)
        .map(|i| {
            let mut s =
                SseReader::open(a.port, "/watch").unwrap_or_else(|e| panic!("watcher {i}: {e}"));
            assert_eq!(s.status(), Some(200), "watcher {i}");
            let first = s.next(Duration::from_secs(5)).expect("the current state");
            assert_eq!(first["role"], "active", "{first}");
            s
        })
        .collect();
    let mut idle = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], a.port))).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(b"ok\n") {
        let mut chunk = [0u8; 512];
        let n = idle.read(&mut chunk).expect("the answer");
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&chunk[..n]);
    }

    let signalled = Instant::now();
    a.signal(libc::SIGTERM);
    let code = a.wait_exit(Duration::from_secs(30));
    let took = signalled.elapsed();
    eprintln!("SIGTERM to exit with {watchers} watcher(s) and an idle connection: {took:?}");
    assert_eq!(code, Some(0), "{}", a.logs());
    // The release deadline is 10 s: the streams used to hold the process until then.
    assert!(
        took < Duration::from_secs(5),
        "exited {took:?} after the SIGTERM, held past the release:\n{}",
        a.logs()
    );
    for (i, mut s) in streams.into_iter().enumerate() {
        let (events, ended) = s
            .rest_until_end(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("watcher {i}: the stream is still open"));
        let last = events
            .last()
            .unwrap_or_else(|| panic!("watcher {i}: no event after the SIGTERM"));
        assert_eq!(last["role"], "passive", "watcher {i}: {events:?}");
        assert!(
            events
                .iter()
                .any(|e| e["reason"].as_str().unwrap_or("").contains("shutting down")),
            "watcher {i}: {events:?}"
        );
        assert!(ended, "watcher {i}: the stream was cut, not ended");
    }
    let mut rest = [0u8; 64];
    assert!(
        matches!(idle.read(&mut rest), Ok(0) | Err(_)),
        "the idle keep-alive connection is still open"
    );
}

#[test]
fn a_sigterm_with_one_watcher_exits_once_released_and_ends_the_stream() {
    sigterm_with_watchers(1);
}

#[test]
fn a_sigterm_with_many_watchers_exits_once_released_and_ends_every_stream() {
    sigterm_with_watchers(200);
}
