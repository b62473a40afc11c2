//! Fault-injection helpers: a scripted raw TCP server that misbehaves the way real networks and
//! servers do (resets, truncated bodies, silence, trickles), a port with nothing listening, a
//! way to start the binary as a child process (to kill it), and assertions shared by the fault,
//! hostile-input and secret suites.
//!
//! The server binds 127.0.0.1:0, answers each connection from a script in its own thread, sends
//! `Connection: close` so one connection is one request, and stops by itself: when dropped, and
//! in any case after `LIFETIME`, so a failing test cannot leave threads serving forever.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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

// ---- Bitbucket Cloud answers used by several suites. ----

/// A realistic pull request of the commit under test (`common::COMMIT`).
pub fn cloud_pr(id: u64, title: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "title": title,
        "state": "OPEN",
        "draft": false,
        "links": {"html": {"href": format!("https://bitbucket.org/acme/widget/pull-requests/{id}")}},
        "author": {"display_name": "Ada Author", "uuid": "{a}"},
        "source": {"branch": {"name": "feature/x"}, "commit": {"hash": "0123456789ab"}},
        "destination": {"branch": {"name": "main"}},
        "created_on": "2026-01-01T10:00:00+00:00",
        "updated_on": "2026-01-02T10:00:00+00:00",
        "participants": [
            {"user": {"display_name": "Rita Reviewer", "uuid": "{r}"}, "role": "REVIEWER", "approved": true, "state": "approved"}
        ],
        "task_count": 0,
        "comment_count": 1
    })
}

/// A one-page commit-index answer holding one PR.
pub fn one_pr_page(title: &str) -> String {
    serde_json::json!({"pagelen": 50, "page": 1, "size": 1, "values": [cloud_pr(7, title)]}).to_string()
}

pub const EMPTY_PAGE: &str = r#"{"pagelen":100,"page":1,"size":0,"values":[]}"#;

/// A Cloud server for the commit lookup: the commit index answers from `index`, build
/// statuses are an empty page.
pub fn cloud_index(index: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> RawServer {
    serve(move |req, n| {
        if req.path().ends_with("/statuses") {
            Reply::json(200, EMPTY_PAGE)
        } else {
            index(req, n)
        }
    })
}

/// The commit-index path of the test repository.
pub fn index_path() -> String {
    format!(
        "/2.0/repositories/acme/widget/commit/{}/pullrequests",
        crate::common::COMMIT
    )
}

// ---- Bitbucket Data Center, GitHub and GitLab: variables and answers the fault and secret
// suites share (each forge's own suite has its richer fakes). ----

/// The forges other than Bitbucket Cloud, for suites that run the same faults against each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    Datacenter,
    Github,
    Gitlab,
}

/// The head of the pull request every forge's passing answer holds: the commit under test.
const HEAD: &str = crate::common::COMMIT;

impl Forge {
    pub const ALL: [Forge; 3] = [Forge::Datacenter, Forge::Github, Forge::Gitlab];

    pub fn name(self) -> &'static str {
        match self {
            Forge::Datacenter => "Bitbucket Data Center",
            Forge::Github => "GitHub",
            Forge::Gitlab => "GitLab",
        }
    }

    /// The forge's variables for a commit lookup against a server at `url`, without credentials.
    pub fn vars(self, url: &str) -> Vec<(&'static str, String)> {
        let c = crate::common::COMMIT.to_string();
        match self {
            Forge::Datacenter => vec![
                ("BITBUCKET_SERVER_URL", url.to_string()),
                ("BITBUCKET_PROJECT_KEY", "PROJ".into()),
                ("BITBUCKET_REPO_SLUG", "widget".into()),
                ("BITBUCKET_COMMIT", c),
            ],
            Forge::Github => vec![
                ("GITHUB_ACTIONS", "true".into()),
                ("GITHUB_API_URL", url.to_string()),
                ("GITHUB_REPOSITORY", "acme/widget".into()),
                ("GITHUB_SHA", c),
            ],
            Forge::Gitlab => vec![
                ("GITLAB_CI", "true".into()),
                ("CI_API_V4_URL", format!("{url}/api/v4")),
                ("CI_PROJECT_ID", "group/sub/widget".into()),
                ("CI_COMMIT_SHA", c),
            ],
        }
    }

    /// The forge's variables with its token (`common::TOKEN`).
    pub fn vars_with_token(self, url: &str) -> Vec<(&'static str, String)> {
        let mut v = self.vars(url);
        v.push((self.token_var(), crate::common::TOKEN.into()));
        v
    }

    /// The variable of the forge's token.
    pub fn token_var(self) -> &'static str {
        match self {
            Forge::Datacenter => "BITBUCKET_ACCESS_TOKEN",
            Forge::Github => "GITHUB_TOKEN",
            Forge::Gitlab => "GITLAB_TOKEN",
        }
    }

    /// A variable that, set to `../x`, is a configuration error.
    pub fn path_var(self) -> &'static str {
        match self {
            Forge::Datacenter => "BITBUCKET_REPO_SLUG",
            Forge::Github => "GITHUB_REPOSITORY",
            Forge::Gitlab => "CI_PROJECT_ID",
        }
    }

    /// Every path a commit lookup reads when it finds PR 7 with head `common::COMMIT`, the
    /// first request first (the pull requests of the commit).
    pub fn endpoints(self) -> Vec<String> {
        let c = crate::common::COMMIT;
        match self {
            Forge::Datacenter => vec![
                format!("/rest/api/latest/projects/PROJ/repos/widget/commits/{c}/pull-requests"),
                format!("/rest/build-status/latest/commits/{c}"),
            ],
            Forge::Github => vec![
                format!("/repos/acme/widget/commits/{c}/pulls"),
                "/repos/acme/widget/pulls/7/reviews".into(),
                format!("/repos/acme/widget/commits/{c}/check-runs"),
                format!("/repos/acme/widget/commits/{c}/status"),
            ],
            Forge::Gitlab => {
                let p = "/api/v4/projects/group%2Fsub%2Fwidget";
                vec![
                    format!("{p}/repository/commits/{c}/merge_requests"),
                    format!("{p}/merge_requests/7"),
                    format!("{p}/merge_requests/7/approvals"),
                    format!("{p}/merge_requests/7/reviewers"),
                    format!("{p}/repository/commits/{c}/statuses"),
                ]
            }
        }
    }

    /// The first request of a commit lookup.
    pub fn lookup_path(self) -> String {
        self.endpoints().remove(0)
    }

    /// Pull request 7 in the forge's shape, its head the commit under test, `text` in its
    /// title, author, branches, link and reviewer name (for echo tests; "Fix" for plain ones).
    pub fn pr(self, text: &str) -> serde_json::Value {
        use serde_json::json;
        match self {
            Forge::Datacenter => {
                let r = |branch: &str, head: &str| json!({"id": format!("refs/heads/{branch}"), "displayId": branch, "latestCommit": head});
                json!({
                    "id": 7, "version": 1, "title": text, "state": "OPEN", "open": true, "closed": false, "draft": false,
                    "createdDate": 1_793_606_400_123u64, "updatedDate": 1_793_692_800_456u64,
                    "fromRef": r(text, HEAD), "toRef": r(text, "fedcba9876543210fedcba9876543210fedcba98"),
                    "author": {"user": {"id": 1, "name": "ada", "slug": "ada", "displayName": text}, "role": "AUTHOR", "status": "UNAPPROVED"},
                    "reviewers": [{"user": {"id": 2, "name": "rita", "slug": "rita", "displayName": text}, "role": "REVIEWER", "approved": true, "status": "APPROVED"}],
                    "participants": [],
                    "properties": {"openTaskCount": 0, "commentCount": 1},
                    "links": {"self": [{"href": format!("https://bitbucket.example.com/projects/PROJ/repos/widget/pull-requests/7?{text}")}]}
                })
            }
            Forge::Github => json!({
                "number": 7, "title": text, "state": "open", "draft": false, "merged_at": null,
                "html_url": format!("https://github.com/acme/widget/pull/7?{text}"),
                "user": {"login": text, "id": 1},
                "head": {"ref": text, "sha": HEAD}, "base": {"ref": text, "sha": "fedcba9876543210fedcba9876543210fedcba98"},
                "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-02T10:00:00Z",
                "requested_reviewers": [{"login": text, "id": 3}], "requested_teams": [{"name": text}]
            }),
            Forge::Gitlab => json!({
                "id": 1007, "iid": 7, "project_id": 9, "title": text, "state": "opened", "draft": false,
                "web_url": format!("https://gitlab.example/group/sub/widget/-/merge_requests/7?{text}"),
                "author": {"id": 1, "name": text, "username": "ann"},
                "source_branch": text, "target_branch": text, "sha": HEAD,
                "created_at": "2026-11-01T10:00:00.000Z", "updated_at": "2026-11-02T10:00:00.000Z",
                "user_notes_count": 1, "reviewers": [{"id": 2, "name": text, "username": "rita"}],
                "head_pipeline": {"id": 501, "status": "success", "ref": text, "sha": HEAD,
                                  "web_url": format!("https://gitlab.example/group/sub/widget/-/pipelines/501?{text}")}
            }),
        }
    }

    /// The answer of `path` in a passing lookup whose texts are `text`: PR 7, approved, its
    /// builds green. Any other path is a 404 in the forge's error shape.
    pub fn answer(self, path: &str, text: &str) -> Reply {
        use serde_json::json;
        let e = self.endpoints();
        let reviewer = |name: &str| json!({"login": name, "id": 2});
        let body = match self {
            Forge::Datacenter if path == e[0] => {
                json!({"size": 1, "limit": 100, "start": 0, "isLastPage": true, "values": [self.pr(text)]})
            }
            Forge::Datacenter if path == e[1] => json!({"size": 1, "limit": 100, "start": 0, "isLastPage": true,
                "values": [{"key": text, "name": text, "state": "SUCCESSFUL", "url": format!("https://ci.example/{text}")}]}),
            Forge::Github if path == e[0] => json!([self.pr(text)]),
            Forge::Github if path == e[1] => json!([{"id": 1, "user": reviewer(text), "state": "APPROVED",
                "submitted_at": "2026-11-01T11:00:00Z", "body": text}]),
            Forge::Github if path == e[2] => json!({"total_count": 1, "check_runs": [{"id": 1, "name": text,
                "status": "completed", "conclusion": "success", "details_url": format!("https://ci.example/{text}")}]}),
            Forge::Github if path == e[3] => json!({"state": "success", "total_count": 1, "statuses": [
                {"context": text, "state": "success", "target_url": format!("https://ci.example/{text}")}]}),
            Forge::Gitlab if path == e[0] => json!([{"iid": 7, "title": text, "sha": HEAD, "source_branch": text}]),
            Forge::Gitlab if path == e[1] => self.pr(text),
            Forge::Gitlab if path == e[2] => {
                json!({"approved": true, "approved_by": [{"user": {"id": 2, "name": text, "username": "rita"}}]})
            }
            Forge::Gitlab if path == e[3] => {
                json!([{"user": {"id": 2, "name": text, "username": "rita"}, "state": "approved"}])
            }
            // An external service's status, filed under another pipeline than the head one.
            Forge::Gitlab if path == e[4] => json!([{"id": 90, "name": text, "status": "success", "pipeline_id": 499,
                "allow_failure": false, "target_url": format!("https://ci.example/{text}")}]),
            _ => return Reply::json(404, self.error_body(&format!("no such resource: {path}"))),
        };
        Reply::json(200, body.to_string())
    }

    /// An error answer in the forge's shape carrying `message`.
    pub fn error_body(self, message: &str) -> String {
        use serde_json::json;
        match self {
            Forge::Datacenter => json!({"errors": [{"context": null, "message": message,
                "exceptionName": "com.atlassian.bitbucket.AuthorisationException"}]}),
            Forge::Github => json!({"message": message, "documentation_url": "https://docs.github.com/rest"}),
            Forge::Gitlab => json!({"message": message}),
        }
        .to_string()
    }
}

// ---- Running the binary as a child process (to kill it). ----

/// The binary under test with an empty environment plus `envs`, in `dir`.
pub fn child_command(dir: &Path, envs: &[(&str, String)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pr-status"));
    cmd.env_clear().current_dir(dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// Files under `dir` whose name marks them as temporary summary files.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(temp_files(&p));
        } else if e.file_name().to_string_lossy().contains(".tmp") {
            out.push(p);
        }
    }
    out
}

/// Runs independent cases at the same time, at most 8 at once: most of their time is spent
/// waiting on timeouts and retries. Every case runs even when one fails.
pub fn parallel<T: Send>(cases: Vec<T>, each: impl Fn(T) + Sync) {
    let queue = Mutex::new(cases.into_iter().collect::<std::collections::VecDeque<T>>());
    let failed = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| loop {
                let Some(case) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| each(case))).is_err() {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    let failed = failed.load(Ordering::SeqCst);
    assert_eq!(failed, 0, "{failed} case(s) failed, see the panics above");
}

// ---- Assertions every failure case shares. ----

/// The run ended with `code` through the documented path: no panic, no abort, one line on
/// stderr (without DEBUG) that is not empty.
pub fn assert_clean_failure(r: &crate::common::Ran, code: i32) {
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    assert!(
        r.code != 101 && r.code != 134 && r.code != -1,
        "crash {}: {}",
        r.code,
        r.stderr
    );
    assert_eq!(r.code, code, "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| !l.starts_with("pr-status: debug:"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {:?}", r.stderr);
    assert!(
        lines[0].starts_with("pr-status: error: ") && lines[0].len() > 30,
        "{}",
        lines[0]
    );
}

/// The JSON summary of a failed run: outcome, kind, and the message on stderr is the same.
pub fn assert_error_summary(r: &crate::common::Ran, outcome: &str, kind: &str) {
    let s = r.summary();
    assert_eq!(s["outcome"], outcome, "{s:#}");
    assert_eq!(s["exit_code"], r.code, "{s:#}");
    assert_eq!(s["error"]["kind"], kind, "{s:#}");
    let message = s["error"]["message"].as_str().unwrap();
    assert!(r.stderr.contains(message), "stderr {:?} lacks {message:?}", r.stderr);
}
