//! A minimal Server-Sent Events reader for `/watch`: the `data:` lines, parsed as JSON.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

pub struct SseReader {
    stream: TcpStream,
    buffer: String,
}

impl SseReader {
    pub fn open(port: u16, path: &str) -> std::io::Result<SseReader> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        )?;
        Ok(SseReader {
            stream,
            buffer: String::new(),
        })
    }

    /// The status code of the response (reads the head).
    pub fn status(&mut self) -> Option<u16> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.buffer.contains("\r\n\r\n") {
            self.fill(deadline)?;
        }
        self.buffer.split(' ').nth(1)?.parse().ok()
    }

    fn fill(&mut self, deadline: Instant) -> Option<()> {
        let left = deadline.checked_duration_since(Instant::now())?;
        self.stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.buffer.push_str(&String::from_utf8_lossy(&chunk[..n]));
                Some(())
            }
        }
    }

    /// The next event's data, within `limit`; `None` on timeout or end of stream.
    pub fn next(&mut self, limit: Duration) -> Option<serde_json::Value> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(start) = self.buffer.find("\ndata: ") {
                if let Some(len) = self.buffer[start + 7..].find('\n') {
                    let data = self.buffer[start + 7..start + 7 + len].to_string();
                    self.buffer.drain(..start + 7 + len);
                    return serde_json::from_str(&data).ok();
                }
            }
            self.fill(deadline)?;
        }
    }
}

impl SseReader {
    /// Everything left on the stream once the server ends it, within `limit`: the events'
    /// data and whether the response ended properly (the last chunk of its chunked body,
    /// as a server that closes a stream sends it; a process that dies sends none).
    /// `None` while it is still open at `limit`.
    pub fn rest_until_end(&mut self, limit: Duration) -> Option<(Vec<serde_json::Value>, bool)> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.buffer.push_str(&String::from_utf8_lossy(&chunk[..n])),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(_) => break,
            }
        }
        let events = self
            .buffer
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect();
        Some((events, self.buffer.ends_with("\r\n0\r\n\r\n")))
    }
}
