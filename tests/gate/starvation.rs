//! Neighbours holding connections or watchers cannot starve the gate or delay a release.

use crate::*;

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
