//! Malformed HTTP is answered clearly; pipelining holds.

use crate::*;

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
