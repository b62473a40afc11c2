//! Proxies, for real (issue 9, point 10): tinyproxy from Debian's package on 127.0.0.1, run
//! with its own configuration file in a temporary folder and stopped at the end of each test;
//! a SOCKS5 server written here; an HTTPS API on loopback whose CA the step is given with
//! `SSL_CERT_FILE`; and a trap listener on 127.0.0.2 standing for "another host", which must
//! receive no connection and no token whenever the rules say the proxy is not used.
//!
//! A test that needs tinyproxy fails (never skips) when it is missing:
//! scripts/install-tools.sh installs it.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

// ---- tinyproxy ----

/// tinyproxy in the foreground on 127.0.0.1, killed (by its own pid) when dropped.
struct Tinyproxy {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Tinyproxy {
    /// Starts tinyproxy with `extra` configuration lines (`BasicAuth`, `ConnectPort`).
    fn start(extra: &str) -> Tinyproxy {
        let bin = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy", "/usr/local/bin/tinyproxy"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!("tinyproxy is not installed: these tests need a real proxy; run scripts/install-tools.sh (apt-get install tinyproxy)")
            });
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let conf = dir.path().join("tinyproxy.conf");
            std::fs::write(
                &conf,
                format!(
                    "Port {port}\nListen 127.0.0.1\nTimeout 10\nLogFile \"{}\"\nLogLevel Connect\nMaxClients 20\nAllow 127.0.0.1\n{extra}\n",
                    dir.path().join("tinyproxy.log").display()
                ),
            )
            .unwrap();
            let out = std::fs::File::create(dir.path().join("stdout.txt")).unwrap();
            let mut child = Command::new(&bin)
                .arg("-d")
                .arg("-c")
                .arg(&conf)
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .stdin(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Tinyproxy { child, port, dir };
                }
                assert!(Instant::now() < deadline, "tinyproxy did not start on port {port}");
                thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("tinyproxy did not start in 5 tries");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default()
    }

    /// `CONNECT` requests tinyproxy logged.
    fn connects(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.split("): CONNECT ").nth(1))
            .map(String::from)
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- the "other host" ----

/// A listener on 127.0.0.2 that accepts, keeps every byte it is sent, and closes.
struct Trap {
    port: u16,
    connections: Arc<AtomicUsize>,
    bytes: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Trap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn trap() -> Trap {
    let listener = TcpListener::bind("127.0.0.2:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (c, b, s) = (connections.clone(), bytes.clone(), stop.clone());
    thread::spawn(move || {
        let started = Instant::now();
        while !s.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(90) {
            let Ok((mut stream, _)) = listener.accept() else {
                thread::sleep(Duration::from_millis(5));
                continue;
            };
            c.fetch_add(1, Ordering::SeqCst);
            let b = b.clone();
            thread::spawn(move || {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
                let mut buf = [0u8; 16384];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    b.lock().unwrap().extend_from_slice(&buf[..n]);
                }
                let _ = stream.shutdown(Shutdown::Both);
            });
        }
    });
    Trap {
        port,
        connections,
        bytes,
        stop,
    }
}

impl Trap {
    fn url(&self) -> String {
        format!("http://127.0.0.2:{}", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }

    /// Nothing reached the other host: no connection, no byte, no token.
    fn assert_untouched(&self, case: &str) {
        let got = self.received();
        assert!(
            !got.contains(TOKEN),
            "{case}: the other host received the token: {got:?}"
        );
        assert_eq!(self.connections(), 0, "{case}: the other host was contacted: {got:?}");
    }
}

// ---- an HTTPS Bitbucket Cloud API on loopback ----

/// An HTTPS Cloud server on `bind` (127.0.0.1 or [::1]) whose certificate, for 127.0.0.1,
/// ::1 and localhost, is signed by a fresh private CA. Records each request's head.
struct Api(HttpsServer);

impl std::ops::Deref for Api {
    type Target = HttpsServer;
    fn deref(&self) -> &HttpsServer {
        &self.0
    }
}

fn https_api(bind: &str) -> Api {
    Api(https_server(bind, |head| {
        if head.contains("/statuses") {
            EMPTY_PAGE.to_string()
        } else {
            one_pr_page("through the proxy")
        }
    }))
}

impl Api {
    /// A run against this server under `host` (`127.0.0.1`, `localhost`, `[::1]`).
    fn step(&self, host: &str) -> common::Step {
        step()
            .cloud(&format!("https://{host}:{}", self.0.port))
            .env("SSL_CERT_FILE", self.0.ca_file.path())
    }

    /// Every request carried the token, exactly.
    fn assert_token_arrived(&self) {
        let heads = self.0.heads.lock().unwrap();
        assert!(!heads.is_empty(), "the API received no request");
        for h in heads.iter() {
            let auth = h.lines().find_map(|l| {
                l.strip_prefix("authorization: ")
                    .or_else(|| l.strip_prefix("Authorization: "))
            });
            assert_eq!(auth, Some(format!("Bearer {TOKEN}").as_str()), "{h}");
        }
    }

    fn connections(&self) -> usize {
        self.0.connections()
    }
}

fn assert_passed(r: &Ran, case: &str) {
    assert_eq!(r.code, 0, "{case}: {}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["title"], "through the proxy", "{case}");
}

/// Every output of the run, for secret scans.
fn assert_never_printed(r: &Ran, secret: &str, case: &str) {
    let all = r.everything();
    assert!(!all.contains(secret), "{case}: {secret:?} was printed: {all}");
}

// ---- plain http ----

#[test]
fn plain_http_to_loopback_never_goes_through_a_proxy() {
    let other = trap();
    let api = cloud_index(|_, _| Reply::json(200, one_pr_page("direct")));
    let mut s = step().cloud(&api.url).env("DEBUG", "true");
    for v in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        s = s.env(v, other.url());
    }
    let r = s.run();
    other.assert_untouched("http://127.0.0.1 with every proxy variable set");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["title"], "direct");
    let auth: Vec<_> = api
        .requests()
        .iter()
        .map(|q| q.header("authorization").unwrap_or("").to_string())
        .collect();
    assert!(auth.iter().all(|a| *a == format!("Bearer {TOKEN}")), "{auth:?}");
    assert!(
        r.stderr.contains("HTTP_PROXY is not used") && r.stderr.contains("http_proxy is not used"),
        "{}",
        r.stderr
    );
}

// ---- https through tinyproxy ----

#[test]
fn https_goes_through_tinyproxy_from_each_variable() {
    let proxy = Tinyproxy::start("");
    let api = https_api("127.0.0.1");
    let other = trap();
    for (i, variable) in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .into_iter()
        .enumerate()
    {
        let r = api
            .step("127.0.0.1")
            .env(variable, proxy.url())
            .env("HTTP_PROXY", other.url())
            .env("http_proxy", other.url())
            .run();
        assert_passed(&r, variable);
        let connects = proxy.connects();
        assert_eq!(
            connects.len(),
            2 * (i + 1),
            "{variable}: index and statuses, each tunnelled through tinyproxy: {connects:?}"
        );
        assert!(
            connects
                .iter()
                .all(|c| c.starts_with(&format!("127.0.0.1:{} ", api.port))),
            "{connects:?}"
        );
    }
    api.assert_token_arrived();
    other.assert_untouched("HTTP_PROXY is never used");
}

#[test]
fn lowercase_wins_over_uppercase_and_https_over_all() {
    let proxy = Tinyproxy::start("");
    let api = https_api("127.0.0.1");
    let other = trap();
    let r = api
        .step("127.0.0.1")
        .env("https_proxy", proxy.url())
        .env("HTTPS_PROXY", other.url())
        .env("ALL_PROXY", other.url())
        .run();
    assert_passed(&r, "https_proxy beside HTTPS_PROXY");
    assert_eq!(proxy.connects().len(), 2);
    other.assert_untouched("HTTPS_PROXY and ALL_PROXY lose to https_proxy");
}

// ---- NO_PROXY ----

#[test]
fn no_proxy_matches_hosts_as_curl_does() {
    let v4 = https_api("127.0.0.1");
    let v6 = https_api("[::1]");
    let other = trap();
    // (variable, value, host of the API URL, which server): each must bypass the proxy.
    let direct: Vec<(&str, String, &str, &Api)> = vec![
        ("NO_PROXY", "*".into(), "127.0.0.1", &v4),
        ("no_proxy", "*".into(), "127.0.0.1", &v4),
        ("NO_PROXY", "127.0.0.1".into(), "127.0.0.1", &v4),
        ("NO_PROXY", "127.0.0.0/8".into(), "127.0.0.1", &v4),
        ("NO_PROXY", "example.com, 127.0.0.1/32".into(), "127.0.0.1", &v4),
        ("NO_PROXY", "example.com,,127.0.0.1".into(), "127.0.0.1", &v4),
        ("NO_PROXY", "localhost".into(), "localhost", &v4),
        ("NO_PROXY", ".localhost".into(), "localhost", &v4),
        ("NO_PROXY", "LOCALHOST.".into(), "localhost", &v4),
        ("NO_PROXY", "::1".into(), "[::1]", &v6),
        ("NO_PROXY", "::/64".into(), "[::1]", &v6),
        ("NO_PROXY", "::0/127".into(), "[::1]", &v6),
        ("no_proxy", "0:0::1/128".into(), "[::1]", &v6),
    ];
    for (variable, value, host, api) in &direct {
        let r = api
            .step(host)
            .env("HTTPS_PROXY", other.url())
            .env(variable, value)
            .run();
        let case = format!("{variable}={value:?} for {host}");
        assert_passed(&r, &case);
        other.assert_untouched(&case);
    }
    // Each must go through the proxy (the trap, which closes at once): the run fails saying so.
    let port = v4.port;
    let proxied: Vec<(&str, String, &str, &Api)> = vec![
        ("NO_PROXY", format!("127.0.0.1:{port}"), "127.0.0.1", &v4),
        ("NO_PROXY", "0.0.0.0/0".into(), "127.0.0.1", &v4),
        ("NO_PROXY", "127.0.0.2".into(), "127.0.0.1", &v4),
        ("NO_PROXY", "foo 127.0.0.1".into(), "127.0.0.1", &v4),
        ("NO_PROXY", " *".into(), "127.0.0.1", &v4),
        ("NO_PROXY", "example.com,*".into(), "127.0.0.1", &v4),
        ("NO_PROXY", "*.0.0.1".into(), "127.0.0.1", &v4),
        ("NO_PROXY", "127.0.0.1".into(), "localhost", &v4),
        ("NO_PROXY", "notlocalhost".into(), "localhost", &v4),
        ("NO_PROXY", "[::1]".into(), "[::1]", &v6),
        ("NO_PROXY", "127.0.0.1".into(), "[::1]", &v6),
        ("NO_PROXY", "::2/128".into(), "[::1]", &v6),
    ];
    for (variable, value, host, api) in &proxied {
        let before = other.connections();
        let before_api = api.connections();
        let r = api
            .step(host)
            .env("HTTPS_PROXY", other.url())
            .env(variable, value)
            .run();
        let case = format!("{variable}={value:?} for {host}");
        assert_clean_failure(&r, 4);
        assert!(other.connections() > before, "{case}: the proxy was not used");
        assert_eq!(api.connections(), before_api, "{case}: the API was reached directly");
        let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            msg.contains(&format!("the proxy {} (HTTPS_PROXY)", other.url())),
            "{case}: {msg}"
        );
    }
    assert!(!other.received().contains(TOKEN), "CONNECT never carries the token");
}

// ---- proxy failures say "proxy" ----

#[test]
fn proxy_credentials_refused_or_missing_say_so_without_the_password() {
    let proxy = Tinyproxy::start("BasicAuth pruser pr0xy-Pass-77");
    let api = https_api("127.0.0.1");
    let with = |userinfo: &str| format!("http://{userinfo}@127.0.0.1:{}", proxy.port);
    for debug in ["false", "true"] {
        let r = api
            .step("127.0.0.1")
            .env("HTTPS_PROXY", with("pruser:wr0ng-Pass-88"))
            .env("DEBUG", debug)
            .run();
        let case = format!("wrong password, DEBUG={debug}");
        assert_eq!(r.code, 3, "{case}: {}", r.stderr);
        assert_error_summary(&r, "error", "auth");
        let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            msg.contains(&format!(
                "the proxy http://127.0.0.1:{} (HTTPS_PROXY) refused its credentials",
                proxy.port
            )) && msg.contains("check the user name and password in HTTPS_PROXY"),
            "{case}: {msg}"
        );
        assert_never_printed(&r, "wr0ng-Pass-88", &case);
        eprintln!("{case}: {msg}");
    }
    let r = api.step("127.0.0.1").env("HTTPS_PROXY", proxy.url()).run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("requires credentials") && msg.contains("put them in HTTPS_PROXY"),
        "{msg}"
    );
    eprintln!("no credentials: {msg}");
    assert_eq!(api.connections(), 0, "no request reached the API");

    // The right ones, percent-encoded as a URL's userinfo may be, pass.
    let r = api
        .step("127.0.0.1")
        .env("HTTPS_PROXY", with("pruser:pr0xy%2DPass%2D77"))
        .env("DEBUG", "true")
        .run();
    assert_passed(&r, "right credentials");
    assert_never_printed(&r, "pr0xy-Pass-77", "right credentials");
    assert_never_printed(&r, "pr0xy%2DPass%2D77", "right credentials");
    api.assert_token_arrived();
}

#[test]
fn a_407_from_the_proxy_names_it() {
    // tinyproxy answers wrong credentials with 401; this proxy sends the standard 407.
    let proxy = serve(|_, _| {
        Reply::typed(407, "text/plain", "auth please").with_header("Proxy-Authenticate", "Basic realm=\"corp\"")
    });
    let api = https_api("127.0.0.1");
    let r = api
        .step("127.0.0.1")
        .env(
            "HTTPS_PROXY",
            format!("http://me:s3cr3t-Proxy-9@127.0.0.1:{}", proxy.port),
        )
        .env("DEBUG", "true")
        .run();
    assert_clean_failure(&r, 3);
    let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("refused its credentials (407 Proxy Authentication Required)") && msg.contains("HTTPS_PROXY"),
        "{msg}"
    );
    assert!(!r.stderr.contains("retrying"), "a refusal is not retried: {}", r.stderr);
    assert!(proxy.connections() >= 1);
    assert_never_printed(&r, "s3cr3t-Proxy-9", "407");
}

#[test]
fn a_proxy_refusing_the_destination_says_so() {
    let proxy = Tinyproxy::start("ConnectPort 443");
    let api = https_api("127.0.0.1");
    let r = api
        .step("127.0.0.1")
        .env("HTTPS_PROXY", proxy.url())
        .env("DEBUG", "true")
        .run();
    assert_clean_failure(&r, 4);
    assert_error_summary(&r, "error", "network");
    let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains(&format!(
            "the proxy {} (HTTPS_PROXY) refused to open a tunnel to 127.0.0.1:{}: it answered CONNECT with 403",
            proxy.url(),
            api.port
        )),
        "{msg}"
    );
    eprintln!("refused destination: {msg}");
    assert!(!r.stderr.contains("retrying"), "a refusal is not retried: {}", r.stderr);
    assert!(!proxy.connects().is_empty(), "{}", proxy.log());
    assert_eq!(api.connections(), 0);
}

#[test]
fn a_proxy_that_cannot_reach_the_api_says_so_and_is_retried() {
    let proxy = Tinyproxy::start("");
    let api = https_api("127.0.0.1");
    let gone = dead_port();
    let r = step()
        .cloud(&format!("https://127.0.0.1:{gone}"))
        .env("SSL_CERT_FILE", api.0.ca_file.path())
        .env("HTTPS_PROXY", proxy.url())
        .run();
    assert_clean_failure(&r, 4);
    assert_error_summary(&r, "error", "network");
    let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains(&format!(
            "the proxy {} (HTTPS_PROXY) refused to open a tunnel to 127.0.0.1:{gone}: it answered CONNECT with 500",
            proxy.url()
        )) && msg.contains("gave up after 4 attempts"),
        "{msg}"
    );
    eprintln!("proxy cannot reach the API: {msg}");
}

#[test]
fn a_proxy_that_hangs_up_says_so() {
    let other = trap();
    let api = https_api("127.0.0.1");
    let r = api.step("127.0.0.1").env("HTTPS_PROXY", other.url()).run();
    assert_clean_failure(&r, 4);
    let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains(&format!(
            "the proxy {} (HTTPS_PROXY) closed the connection while opening a tunnel to 127.0.0.1:{}",
            other.url(),
            api.port
        )),
        "{msg}"
    );
    assert!(!other.received().contains(TOKEN), "CONNECT never carries the token");
    eprintln!("proxy hangs up: {msg}");
}

#[test]
fn unreachable_and_unresolvable_proxies_say_so() {
    let api = https_api("127.0.0.1");
    let port = dead_port();
    let r = api
        .step("127.0.0.1")
        .env("HTTPS_PROXY", format!("http://u:Dead-Pw-31@127.0.0.1:{port}"))
        .run();
    assert_clean_failure(&r, 4);
    assert_error_summary(&r, "error", "network");
    let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains(&format!(
            "cannot connect to the proxy http://127.0.0.1:{port} (HTTPS_PROXY)"
        )),
        "{msg}"
    );
    assert_never_printed(&r, "Dead-Pw-31", "unreachable");
    eprintln!("unreachable: {msg}");

    let r = api
        .step("127.0.0.1")
        .env("ALL_PROXY", "http://u:Dns-Pw-32@proxy.invalid:3128")
        .run();
    assert_clean_failure(&r, 4);
    let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("the proxy host proxy.invalid (ALL_PROXY) cannot be resolved"),
        "{msg}"
    );
    assert_never_printed(&r, "Dns-Pw-32", "unresolvable");
    eprintln!("unresolvable: {msg}");
    assert_eq!(api.connections(), 0, "never around the proxy");
}

#[test]
fn unsupported_or_broken_proxy_values_are_exit_2_naming_the_variable() {
    let api = https_api("127.0.0.1");
    let cases = [
        ("HTTPS_PROXY", "ftp://u:Bad-Pw-41@proxy.corp:21", "scheme"),
        ("https_proxy", "socks4://u:Bad-Pw-41@127.0.0.1:1080", "SOCKS4"),
        ("ALL_PROXY", "gopher://u:Bad-Pw-41@proxy.corp", "scheme"),
        ("all_proxy", "http://u:Bad-Pw-41@proxy.corp:99999", "not a proxy URL"),
        ("HTTPS_PROXY", "http://u:Bad-Pw-41@[::1:3128", "not a proxy URL"),
        ("HTTPS_PROXY", "socks5://u:Bad-Pw-41@:1080", "proxy"),
    ];
    for (variable, value, needle) in cases {
        let r = api.step("127.0.0.1").env(variable, value).run();
        let case = format!("{variable}={value}");
        assert_clean_failure(&r, 2);
        assert_error_summary(&r, "error", "config");
        let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains(variable) && msg.contains(needle), "{case}: {msg}");
        assert_never_printed(&r, "Bad-Pw-41", &case);
    }
    assert_eq!(api.connections(), 0, "nothing was sent");
}

// ---- SOCKS5 ----

/// A SOCKS5 server (RFC 1928, user/password auth of RFC 1929) on 127.0.0.1 that connects
/// only to loopback destinations and records each request's address as `kind host:port`.
struct Socks {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

fn socks5(user: &'static str, pass: &'static str) -> Socks {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let r = requests.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let r = r.clone();
            thread::spawn(move || {
                let _ = socks_session(stream, user, pass, &r);
            });
        }
    });
    Socks { port, requests }
}

fn socks_session(mut c: TcpStream, user: &str, pass: &str, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    c.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut b = [0u8; 2];
    c.read_exact(&mut b)?;
    let mut methods = vec![0u8; b[1] as usize];
    c.read_exact(&mut methods)?;
    if !methods.contains(&2) {
        return c.write_all(&[5, 0xff]);
    }
    c.write_all(&[5, 2])?;
    let mut v = [0u8; 2];
    c.read_exact(&mut v)?;
    let mut u = vec![0u8; v[1] as usize];
    c.read_exact(&mut u)?;
    let mut l = [0u8; 1];
    c.read_exact(&mut l)?;
    let mut p = vec![0u8; l[0] as usize];
    c.read_exact(&mut p)?;
    if u != user.as_bytes() || p != pass.as_bytes() {
        return c.write_all(&[1, 1]);
    }
    c.write_all(&[1, 0])?;
    let mut h = [0u8; 4];
    c.read_exact(&mut h)?;
    let (kind, host) = match h[3] {
        1 => {
            let mut a = [0u8; 4];
            c.read_exact(&mut a)?;
            ("ipv4", std::net::Ipv4Addr::from(a).to_string())
        }
        3 => {
            c.read_exact(&mut l)?;
            let mut name = vec![0u8; l[0] as usize];
            c.read_exact(&mut name)?;
            ("domain", String::from_utf8_lossy(&name).into_owned())
        }
        _ => {
            let mut a = [0u8; 16];
            c.read_exact(&mut a)?;
            ("ipv6", std::net::Ipv6Addr::from(a).to_string())
        }
    };
    let mut pb = [0u8; 2];
    c.read_exact(&mut pb)?;
    let port = u16::from_be_bytes(pb);
    log.lock().unwrap().push(format!("{kind} {host}:{port}"));
    let target = if kind == "domain" && host == "localhost" {
        "127.0.0.1".to_string()
    } else {
        host
    };
    let ip: std::net::IpAddr = target.parse().map_err(|_| std::io::ErrorKind::InvalidInput)?;
    if !ip.is_loopback() {
        return c.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]); // not allowed
    }
    let mut s = TcpStream::connect((ip, port))?;
    c.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])?;
    c.set_read_timeout(None)?;
    let (mut c2, mut s2) = (c.try_clone()?, s.try_clone()?);
    let up = thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut s, &mut c);
    let _ = c.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}

#[test]
fn socks5_and_socks5h_proxies_carry_the_requests() {
    let socks = socks5("sockuser", "S0cks-Pw-51");
    let api = https_api("127.0.0.1");
    let other = trap();
    let r = api
        .step("localhost")
        .env(
            "HTTPS_PROXY",
            format!("socks5h://sockuser:S0cks-Pw-51@127.0.0.1:{}", socks.port),
        )
        .env("HTTP_PROXY", other.url())
        .run();
    assert_passed(&r, "socks5h");
    let seen = socks.requests.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![format!("domain localhost:{}", api.port); 2],
        "socks5h: the proxy resolves the name"
    );
    let r = api
        .step("127.0.0.1")
        .env(
            "HTTPS_PROXY",
            format!("socks5://sockuser:S0cks-Pw-51@127.0.0.1:{}", socks.port),
        )
        .env("DEBUG", "true")
        .run();
    assert_passed(&r, "socks5");
    assert_never_printed(&r, "S0cks-Pw-51", "socks5");
    let seen = socks.requests.lock().unwrap().clone();
    assert_eq!(seen[2..], vec![format!("ipv4 127.0.0.1:{}", api.port); 2]);
    api.assert_token_arrived();
    other.assert_untouched("socks");

    let r = api
        .step("127.0.0.1")
        .env(
            "HTTPS_PROXY",
            format!("socks5://sockuser:Wrong-Pw-52@127.0.0.1:{}", socks.port),
        )
        .run();
    assert_clean_failure(&r, 3);
    let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains(&format!(
            "the proxy socks5://127.0.0.1:{} (HTTPS_PROXY) refused its credentials",
            socks.port
        )),
        "{msg}"
    );
    assert_never_printed(&r, "Wrong-Pw-52", "socks5 wrong password");
    eprintln!("socks5 wrong password: {msg}");
}
