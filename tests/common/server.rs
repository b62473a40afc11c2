//! A scripted raw TCP server that misbehaves the way real networks and servers do (resets,
//! truncated bodies, silence, trickles), and a port with nothing listening.
//!
//! The server binds 127.0.0.1:0, answers each connection from a script in its own thread, sends
//! `Connection: close` so one connection is one request, and stops by itself: when dropped, and
//! in any case after `LIFETIME`, so a failing test cannot leave threads serving forever.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Longest time a server (and each of its connections) stays up.
const LIFETIME: Duration = Duration::from_secs(90);

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path with its query.
    pub target: String,
    /// Lowercased names.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

/// What the server does with one connection.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response; `Content-Length` and `Connection: close` are added.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// These bytes exactly, then a normal close (FIN): for truncated bodies and broken heads.
    Raw(Vec<u8>),
    /// These bytes, then a reset (RST): the request is left unread, so closing resets.
    ResetAfter(Vec<u8>),
    /// Read the request and never answer, until the client hangs up or the server stops.
    Silent,
    /// Send `head` at once, then one byte of filler every `every`, forever.
    Trickle { head: Vec<u8>, every: Duration },
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply::Http {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into().into_bytes(),
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Http {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.into(), value.into()));
                Reply::Http { status, headers, body }
            }
            other => other,
        }
    }

    /// A response whose `Content-Type` is not JSON.
    pub fn typed(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Http {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }
}

type Script = dyn Fn(&Request, usize) -> Reply + Send + Sync;

/// A scripted server. The script gets each request and how many earlier requests had the same
/// path (so "fail twice, then answer" is `if n < 2`).
pub struct RawServer {
    pub url: String,
    pub port: u16,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl RawServer {
    /// Connections accepted so far, whether or not a request came in on them.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Requests whose path ends with `suffix` (query ignored).
    pub fn hits(&self, suffix: &str) -> usize {
        self.requests().iter().filter(|r| r.path().ends_with(suffix)).count()
    }
}

/// Starts a scripted server on 127.0.0.1 with a fresh port.
pub fn serve(script: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> RawServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let script: Arc<Script> = Arc::new(script);
    {
        let (stop, connections, requests) = (stop.clone(), connections.clone(), requests.clone());
        thread::spawn(move || {
            let started = Instant::now();
            while !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
                match listener.accept() {
                    Ok((stream, _)) => {
                        connections.fetch_add(1, Ordering::SeqCst);
                        let (stop, requests, script) = (stop.clone(), requests.clone(), script.clone());
                        thread::spawn(move || handle(stream, &stop, &requests, &*script));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
    }
    RawServer {
        url: format!("http://127.0.0.1:{port}"),
        port,
        stop,
        connections,
        requests,
    }
}

/// A server that counts connections and answers each with a 200 echoing nothing: the "other
/// origin" that must never be contacted.
pub fn bystander() -> RawServer {
    serve(|_, _| Reply::json(200, r#"{"values":[]}"#))
}

/// A loopback port with nothing listening on it (connection refused).
pub fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Peeks until the whole request head is buffered, without consuming it.
fn peek_head(stream: &TcpStream, stop: &AtomicBool) -> Option<(Vec<u8>, usize)> {
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(10);
    stream.set_read_timeout(Some(Duration::from_millis(200))).ok()?;
    loop {
        if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
            return None;
        }
        match stream.peek(&mut buf) {
            Ok(0) => return None,
            Ok(n) => {
                if let Some(end) = find(&buf[..n], b"\r\n\r\n") {
                    buf.truncate(n);
                    return Some((buf, end + 4));
                }
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return None,
        }
    }
}

fn parse(head: &[u8]) -> Request {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Request {
        method,
        target,
        headers,
    }
}

fn handle(mut stream: TcpStream, stop: &AtomicBool, requests: &Mutex<Vec<Request>>, script: &Script) {
    let _ = stream.set_nonblocking(false);
    let Some((peeked, head_len)) = peek_head(&stream, stop) else {
        return;
    };
    let request = parse(&peeked[..head_len]);
    let body_len: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let seen = {
        let mut all = requests.lock().unwrap();
        let n = all.iter().filter(|r| r.path() == request.path()).count();
        all.push(request.clone());
        n
    };
    let reply = script(&request, seen);
    if let Reply::ResetAfter(bytes) = reply {
        // Nothing consumed: closing a socket with unread input makes the kernel send RST.
        let _ = stream.write_all(&bytes);
        let _ = stream.flush();
        thread::sleep(Duration::from_millis(50));
        return;
    }
    let mut consumed = vec![0u8; head_len + body_len];
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.read_exact(&mut consumed);
    let started = Instant::now();
    match reply {
        Reply::Http { status, headers, body } => {
            let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
            for (k, v) in &headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
            let mut bytes = out.into_bytes();
            bytes.extend_from_slice(&body);
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
            let _ = stream.shutdown(Shutdown::Write);
            drain(&mut stream, stop, started);
        }
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
            let _ = stream.shutdown(Shutdown::Write);
            drain(&mut stream, stop, started);
        }
        Reply::Silent => drain(&mut stream, stop, started),
        Reply::Trickle { head, every } => {
            let _ = stream.write_all(&head);
            while !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
                thread::sleep(every);
                if stream.write_all(b" ").and_then(|_| stream.flush()).is_err() {
                    break;
                }
            }
        }
        Reply::ResetAfter(_) => unreachable!(),
    }
}

/// Waits for the client to hang up (read gives 0 or fails), the server to stop, or the bound.
fn drain(stream: &mut TcpStream, stop: &AtomicBool, started: Instant) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
