//! The controller's side, against real `drlease run` processes: write windows, pushed
//! role changes, blocking queries, the gate-only listener, and a neighbour trying to starve
//! the gate of connections.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::sidecar::{free_port, http, http_with_head, valid_for_ms, Launch, Sidecar, STARTUP};
use common::sse::SseReader;
use common::wait_until;

fn memory_args(extra: &[&str]) -> Vec<String> {
    ["--store", "memory", "--interval", "500ms"]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn active_answers_grant_windows_and_min_validity_is_honoured() {
    let a = Sidecar::start("pod-a", &memory_args(&["--write-window", "700ms"]));
    wait_until(STARTUP, || a.is_active()).expect("active");
    let (status, head, _) = http_with_head(a.port, "GET", "/active").unwrap();
    assert_eq!(status, 200);
    let granted = valid_for_ms(&head).expect("a window with an active answer");
    assert!(granted > 0 && granted <= 700, "granted {granted} ms");
    assert!(head.contains("x-drlease-epoch: 1"), "{head}");
    // Renew deadline = lease - interval = 1 s: at most that can ever be asked for.
    let (status, body) = http(a.port, "GET", "/active?min_validity=2s").unwrap();
    assert_eq!(status, 400, "{body}");
    let (status, head, _) = http_with_head(a.port, "GET", "/active?min_validity=1ms").unwrap();
    assert_eq!(status, 200);
    assert!(valid_for_ms(&head).unwrap() >= 1);
    let role = common::sidecar::role_json(a.port).unwrap();
    assert!(role["valid_for_ms"].as_u64().unwrap() <= 700);
    assert_eq!(role["epoch"], 1);
}

#[test]
fn watch_streams_the_state_then_each_change_and_a_blocking_query_wakes_on_it() {
    let mut a = Sidecar::start("pod-a", &memory_args(&[]));
    wait_until(STARTUP, || a.is_active()).expect("active");
    let mut watch = SseReader::open(a.port, "/watch").unwrap();
    assert_eq!(watch.status(), Some(200));
    let first = watch
        .next(Duration::from_secs(5))
        .expect("the current state at once");
    assert_eq!(first["role"], "active");
    assert_eq!(first["reason"], "acquired the lease");
    let index = first["index"].as_u64().unwrap();

    let (_, body) = http(a.port, "GET", "/events").unwrap();
    let events: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(events["events"].as_array().unwrap().last().unwrap(), &first);

    // A blocking query at the current index waits for the next event.
    let port = a.port;
    let blocked = std::thread::spawn(move || {
        let started = Instant::now();
        let answer = http_with_head(port, "GET", &format!("/role?index={index}&wait=30s"));
        (answer, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(!blocked.is_finished(), "answered before anything changed");

    a.signal(libc::SIGTERM);
    let next = watch
        .next(Duration::from_secs(5))
        .expect("the shutdown is pushed");
    assert_eq!(next["role"], "passive");
    assert!(
        next["reason"]
            .as_str()
            .unwrap()
            .starts_with("shutting down"),
        "{next}"
    );
    let (answer, waited) = blocked.join().unwrap();
    let (status, head, _) = answer.expect("the blocking query answered");
    assert_eq!(status, 200);
    assert!(
        waited < Duration::from_secs(10),
        "woke on the change: {waited:?}"
    );
    let new_index: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("x-drlease-index:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    assert!(new_index > index);
    assert_eq!(a.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn watchers_past_the_cap_are_refused_with_a_clear_503() {
    let a = Sidecar::start("pod-a", &memory_args(&["--max-watchers", "2"]));
    wait_until(STARTUP, || a.is_active()).expect("active");
    let mut w1 = SseReader::open(a.port, "/watch").unwrap();
    let mut w2 = SseReader::open(a.port, "/watch").unwrap();
    assert_eq!((w1.status(), w2.status()), (Some(200), Some(200)));
    let (status, body) = http(a.port, "GET", "/watch").unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("too many watchers"), "{body}");
    drop(w1);
    let reopened = wait_until(Duration::from_secs(5), || {
        SseReader::open(a.port, "/watch")
            .ok()
            .and_then(|mut w| w.status())
            == Some(200)
    });
    assert!(reopened.is_some(), "a closed stream gives its slot back");
}

#[test]
fn the_gate_listener_serves_the_role_endpoints_only() {
    let gate_port = free_port();
    let gate_addr = format!("127.0.0.1:{gate_port}");
    let a = Sidecar::start("pod-a", &memory_args(&["--gate-listen", &gate_addr]));
    wait_until(STARTUP, || a.is_active()).expect("active");
    assert_eq!(http(gate_port, "GET", "/active").unwrap().0, 200);
    assert_eq!(http(gate_port, "GET", "/role").unwrap().0, 200);
    let mut watch = SseReader::open(gate_port, "/watch").unwrap();
    assert_eq!(watch.status(), Some(200));
    for path in ["/metrics", "/healthz", "/events"] {
        let (status, body) = http(gate_port, "GET", path).unwrap();
        assert_eq!(status, 404, "{path}");
        assert!(body.contains("main listener"), "{body}");
        assert_eq!(http(a.port, "GET", path).unwrap().0, 200, "{path} on main");
    }
}

/// Sends one request on a kept-alive connection and reads the response to its end.
fn ask_on(conn: &mut TcpStream, path: &str) -> Option<u16> {
    write!(conn, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        conn.read_exact(&mut byte).ok()?;
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))?
        .trim()
        .parse()
        .ok()?;
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).ok()?;
    head.split(' ').nth(1)?.parse().ok()
}

/// The neighbour-pod attack: more connections than the open-file limit, each sending part
/// of a request and then nothing. Before the hardening, /active never answered again.
#[test]
fn a_neighbour_holding_more_connections_than_the_file_limit_cannot_starve_the_gate() {
    const LIMIT: u64 = 1024;
    const ATTACK: usize = 1100;
    // This process needs more than its own soft limit may be to hold the attack.
    drlease::sys::fd_limit::raise();
    let gate_port = free_port();
    let launch = Launch {
        nofile: Some(LIMIT),
        ..Launch::default()
    };
    let a = Sidecar::start_with(
        launch,
        "pod-a",
        &memory_args(&["--gate-listen", &format!("127.0.0.1:{gate_port}")]),
    );
    wait_until(STARTUP, || a.is_active()).expect("active");
    assert!(a.logs().contains("open-file limit"), "{}", a.logs());

    // The controller: one kept-alive connection, asking every 100 ms throughout.
    let addr = SocketAddr::from(([127, 0, 0, 1], a.port));
    let mut controller = TcpStream::connect(addr).unwrap();
    controller
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    assert_eq!(ask_on(&mut controller, "/active"), Some(200));
    let stop = Arc::new(AtomicBool::new(false));
    let (asked, failed) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let poller = {
        let (stop, asked, failed) = (stop.clone(), asked.clone(), failed.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                asked.fetch_add(1, Ordering::Relaxed);
                if ask_on(&mut controller, "/active") != Some(200) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    // The attack, from this process: connections that never finish their headers.
    let mut held = Vec::new();
    let attack_started = Instant::now();
    for _ in 0..ATTACK {
        if let Ok(mut c) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            let _ = c.write_all(b"GET /active HTTP/1.1\r\nHost: x\r\n");
            held.push(c);
        }
    }
    eprintln!(
        "attack: {} of {ATTACK} connections open in {:?}",
        held.len(),
        attack_started.elapsed()
    );
    // The gate listener is untouched by the flood on the main port.
    assert_eq!(http(gate_port, "GET", "/active").map(|r| r.0), Some(200));

    // A new connection to the main port gets an answer again within a few seconds,
    // while every attacking connection is still held open by the attacker.
    let recovered = common::poll_until(Duration::from_secs(30), Duration::from_millis(200), || {
        matches!(http(a.port, "GET", "/active"), Some((200, _)))
    })
    .map(|_| attack_started.elapsed());
    eprintln!("main port answering again {recovered:?} after the attack began");
    assert!(
        recovered.is_some(),
        "the gate never came back:\n{}",
        a.logs()
    );

    stop.store(true, Ordering::Relaxed);
    poller.join().unwrap();
    let (asked, failed) = (
        asked.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    eprintln!("controller's kept-alive connection: {failed} of {asked} asks failed");
    assert_eq!(failed, 0, "the controller's own connection was harmed");
    drop(held);
}

/// A neighbour pod asking the main port for a long window used to hold every release for
/// that long (`min_validity=29s` with the defaults: the SIGTERM took 29 s, past
/// Kubernetes' 30 s grace period once the release itself was added). The main port grants
/// no more than `--write-window` now, so the release bound holds whatever it asks.
#[test]
fn a_neighbour_on_the_main_port_cannot_delay_a_sigterm_release() {
    // The defaults: 15 s interval, 45 s lease, 30 s renew deadline, 2 s write window.
    let gate_port = free_port();
    let mut a = Sidecar::start(
        "pod-a",
        &[
            "--store".to_string(),
            "memory".into(),
            "--gate-listen".into(),
            format!("127.0.0.1:{gate_port}"),
        ],
    );
    wait_until(Duration::from_secs(10), || a.is_active()).expect("active");
    let (status, body) = http(a.port, "GET", "/active?min_validity=29s").unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("--gate-listen"), "{body}");
    // Whatever else it asks, the main port's windows are the configured one at most.
    for ask in [
        "/active",
        "/active?min_validity=2s",
        "/role",
        "/health/ready?checkifreadonly=true",
    ] {
        let (status, head, _) = http_with_head(a.port, "GET", ask).unwrap();
        assert_eq!(status, 200, "{ask}");
        let granted = valid_for_ms(&head).expect("a window");
        assert!(granted <= 2000, "{ask}: granted {granted} ms");
    }
    let signalled = Instant::now();
    a.signal(libc::SIGTERM);
    let code = a.wait_exit(Duration::from_secs(60));
    let took = signalled.elapsed();
    eprintln!("SIGTERM to exit after a neighbour's min_validity=29s: {took:?}");
    assert_eq!(code, Some(0), "{}", a.logs());
    // The documented bound with the memory store is the 2 s write window plus a release
    // that needs no call; 29 s is what the neighbour asked for.
    assert!(
        took < Duration::from_secs(20),
        "the release waited {took:?}, as if the neighbour's window had been granted:\n{}",
        a.logs()
    );
}

/// The watcher cap is per listener: streams a neighbour opens on the main port leave the
/// controller's gate listener its whole budget.
#[test]
fn watchers_on_the_main_port_leave_the_gate_listener_its_own_budget() {
    let gate_port = free_port();
    let a = Sidecar::start(
        "pod-a",
        &memory_args(&[
            "--max-watchers",
            "2",
            "--gate-listen",
            &format!("127.0.0.1:{gate_port}"),
        ]),
    );
    wait_until(Duration::from_secs(5), || a.is_active()).expect("active");
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut w = SseReader::open(a.port, "/watch").unwrap();
        assert_eq!(w.status(), Some(200));
        held.push(w);
    }
    let (status, body) = http(a.port, "GET", "/watch").unwrap();
    assert_eq!(status, 503, "{body}");
    let mut controller = SseReader::open(gate_port, "/watch").unwrap();
    assert_eq!(controller.status(), Some(200), "the controller's stream");
    // And its blocking query: at the current index, answered at the end of its wait.
    let (_, head, _) = http_with_head(gate_port, "GET", "/role").unwrap();
    let index: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("x-drlease-index:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let (status, body) = http(
        gate_port,
        "GET",
        &format!("/role?index={index}&wait=100ms&format=text"),
    )
    .unwrap();
    assert_eq!((status, body.as_str()), (200, "active\n"));
    drop(held);
}

/// Sends `raw` on a fresh connection, reads until the server closes it (or 5 s pass), and
/// returns the status of each response in what came back.
fn raw_exchange(port: u16, raw: &[u8]) -> Vec<u16> {
    let mut conn = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // The server may answer and close before it has read everything (431, 414): a write
    // that fails then is part of the answer, not a test failure.
    let _ = conn.write_all(raw);
    let mut got = Vec::new();
    let _ = conn.read_to_end(&mut got);
    String::from_utf8_lossy(&got)
        .match_indices("HTTP/1.1 ")
        .filter_map(|(i, m)| got.get(i + m.len()..i + m.len() + 3))
        .filter_map(|code| std::str::from_utf8(code).ok()?.parse().ok())
        .collect()
}

/// What held when a reviewer tried it as a hostile neighbour, kept so: malformed HTTP
/// gets a clear status and a closed connection, a smuggling shape gets one answer, and
/// 1000 pipelined requests get 1000 answers.
#[test]
fn malformed_http_is_answered_clearly_and_pipelining_holds() {
    let a = Sidecar::start("pod-a", &memory_args(&[]));
    wait_until(Duration::from_secs(5), || a.is_active()).expect("active");
    let many_headers: Vec<u8> = (0..200)
        .flat_map(|i| format!("X-{i}: y\r\n").into_bytes())
        .collect();
    let cases: Vec<(&str, Vec<u8>, Vec<u16>)> = vec![
        (
            "200 headers",
            [b"GET /active HTTP/1.1\r\nHost: x\r\n".as_slice(), &many_headers, b"\r\n"].concat(),
            vec![431],
        ),
        (
            "a 1 MB header",
            [
                b"GET /active HTTP/1.1\r\nHost: x\r\nX-Big: ".as_slice(),
                &vec![b'a'; 1_000_000],
                b"\r\n\r\n",
            ]
            .concat(),
            vec![431],
        ),
        (
            "a 100 KB URI",
            [
                b"GET /active?".as_slice(),
                &vec![b'a'; 100_000],
                b" HTTP/1.1\r\nHost: x\r\n\r\n",
            ]
            .concat(),
            vec![414],
        ),
        (
            "two Content-Lengths",
            b"GET /active HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"
                .to_vec(),
            vec![400],
        ),
        (
            "Content-Length beside Transfer-Encoding, a second request behind it",
            b"GET /active HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /active HTTP/1.1\r\nHost: x\r\n\r\n"
                .to_vec(),
            vec![200],
        ),
        (
            "a byte that is not UTF-8 in the path",
            b"GET /act\xffive HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            vec![400],
        ),
        (
            "a space in a header name",
            b"GET /active HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n".to_vec(),
            vec![400],
        ),
    ];
    for (what, raw, expected) in cases {
        assert_eq!(raw_exchange(a.port, &raw), expected, "{what}");
    }
    let pipelined = [
        b"GET /active HTTP/1.1\r\nHost: x\r\n\r\n".repeat(999),
        b"GET /active HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
    ]
    .concat();
    let answers = raw_exchange(a.port, &pipelined);
    assert_eq!(answers.len(), 1000);
    assert!(answers.iter().all(|s| *s == 200));
    assert!(a.is_active(), "still answering:\n{}", a.logs());
}
