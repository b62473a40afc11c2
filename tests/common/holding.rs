//! Round-trip proofs: a server that holds one answer until other requests have arrived, and
//! the binary's own request count.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::step::Ran;

/// Requests the binary sent, from its own DEBUG count.
pub fn sent(r: &Ran) -> u32 {
    r.stderr
        .lines()
        .rev()
        .filter_map(|l| l.split("debug: ").nth(1)?.strip_suffix(" HTTP request(s) so far"))
        .filter_map(|n| n.trim().parse().ok())
        .next()
        .unwrap_or_else(|| panic!("no request count in: {}", r.stderr))
}

/// A thread-per-connection server: `answer(path)` for each request, except that the answer
/// to a path containing `hold` waits until every path fragment in `until` has been requested
/// (or 30 s: then 503, so that the run fails instead of passing by luck).
pub struct Holding {
    pub url: String,
    seen: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl Holding {
    pub fn start(hold: &'static str, until: &'static [&'static str], answer: fn(&str) -> (u16, String)) -> Holding {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let seen: Arc<(Mutex<Vec<String>>, Condvar)> = Arc::default();
        let shared = seen.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming().take(64).flatten() {
                let seen = shared.clone();
                std::thread::spawn(move || {
                    let mut tcp = tcp;
                    let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
                        match tcp.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    let text = String::from_utf8_lossy(&head).to_string();
                    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (lock, cvar) = &*seen;
                    lock.lock().unwrap().push(path.clone());
                    cvar.notify_all();
                    let (mut status, mut body) = answer(&path);
                    if path.contains(hold) {
                        let all = |v: &mut Vec<String>| !until.iter().all(|u| v.iter().any(|p| p.contains(u)));
                        let (guard, timeout) = cvar
                            .wait_timeout_while(lock.lock().unwrap(), Duration::from_secs(30), all)
                            .unwrap();
                        drop(guard);
                        if timeout.timed_out() {
                            (status, body) = (503, r#"{"type":"error","error":{"message":"not concurrent"},"errors":[{"message":"not concurrent"}]}"#.into());
                        }
                    }
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tcp.write_all(reply.as_bytes());
                });
            }
        });
        Holding { url, seen }
    }

    pub fn paths(&self) -> Vec<String> {
        self.seen.0.lock().unwrap().clone()
    }
}
