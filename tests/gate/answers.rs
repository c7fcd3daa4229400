//! Write windows, /watch and blocking /role, the watcher cap, the gate listener.

use crate::*;

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
