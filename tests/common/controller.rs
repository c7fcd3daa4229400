//! A controller stand-in for `--app-health-url`: its health endpoint answers with a
//! status the test sets, on a loopback port of its own.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

pub struct FakeController {
    pub port: u16,
    status: Arc<AtomicU16>,
}

impl FakeController {
    pub fn start(status: u16) -> FakeController {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let status = Arc::new(AtomicU16::new(status));
        let s = status.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf);
                let code = s.load(Ordering::Relaxed);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        FakeController { port, status }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/health", self.port)
    }

    pub fn set(&self, code: u16) {
        self.status.store(code, Ordering::Relaxed);
    }
}
