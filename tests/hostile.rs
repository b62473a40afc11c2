//! Hostile input and hostile servers: every variable validated with a message naming it and
//! nothing sent; path segments that try to leave the repository's API path; credentials kept
//! to the API origin against pagination links and redirects elsewhere; plain http; and the
//! output formats consumers parse (dotenv, GitHub outputs, Markdown, annotations) fed a PR
//! title written to inject into each of them.

mod common;

use std::path::Path;

use common::*;
use mockito::{Matcher, Server};

// ---- Every variable validated, nothing sent ----

/// Runs the step with the Cloud variables pointing at a mockito server that must see nothing,
/// plus `extra`, and checks the configuration error names `named`.
fn refused(extra: &[(&str, String)], named: &str) {
    let mut server = Server::new();
    let none: Vec<_> = ["GET", "POST", "PUT", "DELETE", "HEAD"]
        .iter()
        .map(|m| server.mock(m, Matcher::Any).expect(0).create())
        .collect();
    let mut s = step().cloud(&server.url());
    for (k, v) in extra {
        s = s.env(k, v);
    }
    let r = s.run();
    let what: String = format!("{extra:?}").chars().take(200).collect();
    assert!(
        none.iter().all(|m| m.matched()),
        "{what}: a request was sent; stderr {}",
        r.stderr
    );
    assert_clean_failure(&r, 2);
    let kind = r.summary()["error"]["kind"].as_str().unwrap().to_string();
    assert!(kind == "config" || kind == "io", "{what}: kind {kind}");
    assert!(
        r.stderr.contains(named),
        "{what}: the message must name {named}: {}",
        r.stderr
    );
    let message = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.chars().count() <= 1000,
        "{what}: one short line, got {} chars",
        message.len()
    );
    assert!(message.contains(named), "{what}: {message}");
    assert!(
        ["use ", "set ", "point it", "copy "]
            .iter()
            .any(|w| message.contains(w)),
        "{what}: says what to do: {message}"
    );
}

#[test]
fn every_variable_is_validated_by_name_and_nothing_is_sent() {
    let hex65 = "a".repeat(65);
    let long = "x".repeat(100_000);
    let mut cases: Vec<(&str, &str)> = Vec::new();
    for ws in [
        "../../x",
        "%2e%2e",
        "%2E%2E",
        "..",
        ".",
        "a/b",
        "/acme",
        "acme/",
        "a b",
        "a\tb",
        "ünïcödé",
        "acme\u{202e}",
        "a\\b",
        "a?b",
        "a#b",
        "%2F",
        "a%00",
        "{../x}",
        "acme\n..",
        "   ",
    ] {
        cases.push(("BITBUCKET_WORKSPACE", ws));
    }
    for slug in [
        "../../x", "%2e%2e", "..", "a/b", "a b", "wïdget", "{uuid}", "a?x=1", "a#f", "..%2f..",
    ] {
        cases.push(("BITBUCKET_REPO_SLUG", slug));
    }
    for commit in [
        "../../x",
        "%2e%2e",
        "abc",
        "ggggggg",
        "0123456 789abcdef",
        "0123456789abcdef/../x",
        "٠١٢٣٤٥٦٧",
        hex65.as_str(),
        "0x0123456789",
    ] {
        cases.push(("BITBUCKET_COMMIT", commit));
    }
    for id in [
        "0",
        "-1",
        "1.0",
        "1e3",
        "0x10",
        "12/../13",
        "%31",
        "9007199254740992",
        "١٢",
        "1 2",
    ] {
        cases.push(("BITBUCKET_PR_ID", id));
    }
    for url in [
        "http://example.com/2.0",
        "http://127.0.0.1.nip.io/2.0",
        "http://localhost.example.com/2.0",
        "http://[::ffff:8.8.8.8]/2.0",
        "ftp://127.0.0.1/2.0",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://user:pw@api.bitbucket.org/2.0",
        "https://api.bitbucket.org/2.0?access_token=x",
        "https://api.bitbucket.org/2.0#x",
        "not a url",
        "//api.bitbucket.org/2.0",
    ] {
        cases.push(("BITBUCKET_API_URL", url));
    }
    for (var, values) in [
        ("MIN_APPROVALS", &["-1", "1001", "two", "1.5", "1e2"][..]),
        ("WAIT_FOR_BUILDS", &["21601", "1h", "-5"][..]),
        ("POLL_INTERVAL", &["0", "3601", "soon"][..]),
        ("HTTP_TIMEOUT", &["0", "3601", "1s", "∞"][..]),
        ("HTTP_RETRY_DELAY_MS", &["-1", "60001"][..]),
        ("INDEX_WAIT", &["3601", "forever"][..]),
        ("DEBUG", &["maybe", "2", "on", "tru"][..]),
        (
            "REQUIRE",
            &[
                "open,green",
                "open;approved",
                "approved=2",
                "OPEN AND merged",
                "open\n::error::x",
            ][..],
        ),
        ("PROVIDER", &["svn", "git hub", "bitbucket", "gitlab.com"][..]),
    ] {
        for v in values {
            cases.push((var, v));
        }
    }
    cases.push(("REQUIRE", long.as_str()));
    cases.push(("BITBUCKET_WORKSPACE", long.as_str()));
    parallel(cases, |(var, value)| refused(&[(var, value.to_string())], var));
}

#[test]
fn credentials_and_token_urls_are_validated_too() {
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("BITBUCKET_ACCESS_TOKEN", "abc\ndef-token".into())],
            "BITBUCKET_ACCESS_TOKEN",
        ),
        (
            vec![
                ("BITBUCKET_ACCESS_TOKEN", String::new()),
                ("BITBUCKET_OAUTH_CLIENT_ID", "client".into()),
                ("BITBUCKET_OAUTH_CLIENT_SECRET", "secret-value".into()),
                (
                    "BITBUCKET_OAUTH_TOKEN_URL",
                    "http://bitbucket.example.com/site/oauth2/access_token".into(),
                ),
            ],
            "BITBUCKET_OAUTH_TOKEN_URL",
        ),
        (
            vec![
                ("BITBUCKET_ACCESS_TOKEN", String::new()),
                ("BITBUCKET_EMAIL", "dev@example.com".into()),
            ],
            "BITBUCKET_API_TOKEN",
        ),
    ];
    parallel(cases, |(vars, named)| refused(&vars, named));
    // The rejected value itself is not echoed: it may be a credential.
    let mut server = Server::new();
    let none = server.mock("GET", Matcher::Any).expect(0).create();
    let r = step()
        .cloud(&server.url())
        .env("BITBUCKET_ACCESS_TOKEN", "abc\ndef-token")
        .run();
    none.assert();
    assert!(!r.everything().contains("def-token"), "{}", r.everything());
}

#[test]
fn ssl_cert_file_must_hold_pem_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let cases = vec![
        write("garbage.pem", "this is not a certificate\n"),
        write("empty.pem", ""),
        write(
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        ),
        write(
            "key.pem",
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        ),
        dir.path().display().to_string(),
        "/nonexistent/ca.pem".to_string(),
    ];
    parallel(cases, |path| refused(&[("SSL_CERT_FILE", path)], "SSL_CERT_FILE"));
}

// ---- Path segments stay inside the repository's API path ----

#[test]
fn accepted_values_are_percent_encoded_inside_the_repository_path() {
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            Reply::json(200, EMPTY_PAGE)
        } else {
            Reply::json(200, one_pr_page("x"))
        }
    });
    let r = step()
        .cloud(&server.url)
        .env("BITBUCKET_WORKSPACE", " {0f1e2d3c-aaaa-bbbb-cccc-111122223333} ")
        .env("BITBUCKET_REPO_SLUG", "My.Repo_x-1\n")
        .env("BITBUCKET_COMMIT", "ABCDEF0123456")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let prefix = "/2.0/repositories/%7B0f1e2d3c-aaaa-bbbb-cccc-111122223333%7D/My.Repo_x-1/commit/";
    let requests = server.requests();
    assert!(requests
        .iter()
        .any(|r| r.target.starts_with(&format!("{prefix}abcdef0123456/pullrequests?"))));
    for req in requests {
        assert!(req.target.starts_with(prefix), "{}", req.target);
    }
}

#[test]
fn a_hostile_branch_name_stays_inside_the_query() {
    // The commit index answers 404, so the step falls back to the open PRs of BITBUCKET_BRANCH:
    // the branch goes into Bitbucket's query language, quoted and URL-encoded.
    let branch = "x\" OR source.branch.name=\"y&state=MERGED#/../../../admin\n";
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            Reply::json(200, EMPTY_PAGE)
        } else if req
            .path()
            .ends_with("/commit/0123456789abcdef0123456789abcdef01234567/pullrequests")
        {
            Reply::json(404, r#"{"type":"error","error":{"message":"Not found"}}"#)
        } else {
            Reply::json(200, EMPTY_PAGE)
        }
    });
    let r = step().cloud(&server.url).env("BITBUCKET_BRANCH", branch).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let list = server
        .requests()
        .into_iter()
        .find(|r| r.path() == "/2.0/repositories/acme/widget/pullrequests")
        .expect("the branch fallback asked for the repository's pull requests");
    let url = url::Url::parse(&format!("http://x{}", list.target)).unwrap();
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let get = |k: &str| {
        q.iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(get("state"), vec!["OPEN"], "{q:?}");
    assert_eq!(
        get("q"),
        vec![r#"source.branch.name="x\" OR source.branch.name=\"y&state=MERGED#/../../../admin"#.to_string() + "\n\""]
    );
}

// ---- Credentials go only to the API origin ----

/// A Cloud server whose commit index answers page 1 with `next` pointing at `next(port)`.
fn paging_to(next: impl Fn(u16) -> String + Send + Sync + 'static) -> RawServer {
    let port = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
    let p = port.clone();
    let server = serve(move |req, _| {
        if req.path().ends_with("/statuses") {
            return Reply::json(200, EMPTY_PAGE);
        }
        if req.target.contains("page=2") {
            return Reply::json(
                200,
                serde_json::json!({"values": [cloud_pr(8, "second page")]}).to_string(),
            );
        }
        let mut page: serde_json::Value = serde_json::from_str(&one_pr_page("first page")).unwrap();
        page["next"] = next(*p.get().unwrap()).into();
        Reply::json(200, page.to_string())
    });
    port.set(server.port).unwrap();
    server
}

#[test]
fn pagination_links_to_another_origin_are_refused_and_the_other_server_gets_nothing() {
    let other = bystander();
    let op = other.port;
    type Link = Box<dyn Fn(u16) -> String + Send + Sync>;
    let cases: Vec<(&str, Link)> = vec![
        (
            "another port",
            Box::new(move |_| format!("http://127.0.0.1:{op}/2.0/x?page=2")),
        ),
        (
            "scheme-relative",
            Box::new(move |_| format!("//127.0.0.1:{op}/2.0/x?page=2")),
        ),
        (
            "https on the same port",
            Box::new(|p| format!("https://127.0.0.1:{p}/2.0/x?page=2")),
        ),
        (
            "another host name for the same address",
            Box::new(|p| format!("http://localhost:{p}/2.0/x?page=2")),
        ),
        ("not a URL", Box::new(|_| "http://[::1".to_string())),
    ];
    for (name, next) in cases {
        let server = paging_to(next);
        let r = step().cloud(&server.url).run();
        assert_clean_failure(&r, 4);
        assert_error_summary(&r, "error", "api");
        assert!(r.stderr.contains("pagination link"), "{name}: {}", r.stderr);
        if name == "another port" {
            assert!(
                r.stderr.contains(&format!("127.0.0.1:{op}"))
                    && r.stderr.contains(&format!("127.0.0.1:{}", server.port)),
                "origins that differ by port must read differently: {}",
                r.stderr
            );
        }
        assert_eq!(server.hits(&index_path()), 1, "{name}: the link was not followed");
        eprintln!("{name}: {}", r.stderr.trim());
    }
    assert_eq!(other.connections(), 0, "the other origin received a connection");
}

#[test]
fn same_origin_pagination_is_followed_with_credentials() {
    let server =
        paging_to(|p| format!("http://127.0.0.1:{p}/2.0/repositories/acme/widget/commit/{COMMIT}/pullrequests?page=2"));
    let r = step().cloud(&server.url).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ids: Vec<_> = r.summary()["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(ids, vec![7, 8]);
    let second = server
        .requests()
        .into_iter()
        .find(|r| r.target.contains("page=2"))
        .unwrap();
    assert_eq!(second.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
}

#[test]
fn redirects_to_another_origin_are_refused_and_the_other_server_gets_nothing() {
    let other = bystander();
    let op = other.port;
    let targets = [
        format!("http://127.0.0.1:{op}/2.0/stolen"),
        format!("//127.0.0.1:{op}/2.0/stolen"),
        "https://127.0.0.1:1/2.0/stolen".to_string(),
    ];
    for status in [301, 302, 303, 307, 308] {
        for target in &targets {
            let t = target.clone();
            let server = cloud_index(move |_, _| Reply::json(status, "{}").with_header("Location", &t));
            let r = step().cloud(&server.url).run();
            assert_clean_failure(&r, 4);
            assert_error_summary(&r, "error", "api");
            assert!(
                r.stderr.contains("redirect to another origin"),
                "{status} {target}: {}",
                r.stderr
            );
            assert_eq!(server.hits(&index_path()), 1, "{status} {target}: not retried");
        }
    }
    assert_eq!(other.connections(), 0, "the other origin received a connection");
}

#[test]
fn same_origin_redirects_are_followed_with_credentials_and_loops_stop() {
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            Reply::json(200, EMPTY_PAGE)
        } else if req.path().ends_with("/pullrequests") {
            Reply::json(302, "{}").with_header("Location", "/2.0/moved/here")
        } else {
            Reply::json(200, one_pr_page("moved"))
        }
    });
    let r = step().cloud(&server.url).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let moved = server
        .requests()
        .into_iter()
        .find(|r| r.path() == "/2.0/moved/here")
        .unwrap();
    assert_eq!(moved.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));

    let looping = cloud_index(|req, _| Reply::json(302, "{}").with_header("Location", req.path()));
    let r = step().cloud(&looping.url).run();
    assert_clean_failure(&r, 4);
    assert!(r.stderr.contains("too many redirects"), "{}", r.stderr);
    assert!(looping.hits(&index_path()) <= 6, "{}", looping.hits(&index_path()));
}

#[test]
fn plain_http_is_allowed_only_for_loopback() {
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("x")));
    let r = step()
        .cloud(&server.url)
        .env("BITBUCKET_API_URL", format!("http://localhost:{}/2.0", server.port))
        .run();
    assert_eq!(r.code, 0, "localhost is loopback: {}", r.stderr);
    let mut server = Server::new();
    let none = server.mock("GET", Matcher::Any).expect(0).create();
    let r = step()
        .cloud(&server.url())
        .env("BITBUCKET_API_URL", "http://api.bitbucket.org/2.0")
        .run();
    none.assert();
    assert_clean_failure(&r, 2);
    assert!(
        r.stderr.contains("BITBUCKET_API_URL") && r.stderr.contains("https://"),
        "{}",
        r.stderr
    );
}

// ---- Output encodings consumers parse ----

/// A title built to break out of every format the step writes.
const HOSTILE: &str = "it's \"quoted\" $(touch pwned1) `touch pwned2` ${HOME} $((1+1)) \\ back\\slash\n\
line 2'; touch pwned3; echo '\r\n\ttab ; touch pwned4 #\n\
number<<EOF\n999\nEOF\nfound=injected\nghadelimiter_00000000000000000000000000000000\n\
100% %0A %25 ::error::injected | cell | <script>alert(1)</script> [x](javascript:alert(1)) *bold* _it_\n";

fn hostile_server() -> RawServer {
    cloud_index(|_, _| {
        let mut pr = cloud_pr(7, HOSTILE);
        pr["author"]["display_name"] = "Mallory $(touch pwned5) '\n".into();
        pr["source"]["branch"]["name"] = "feat/`touch pwned6`".into();
        Reply::json(200, serde_json::json!({ "values": [pr] }).to_string())
    })
}

fn hostile_run() -> (Ran, RawServer) {
    let server = hostile_server();
    let s = step().cloud(&server.url);
    let (env, md, out, sum) = (
        s.path("pr.env"),
        s.path("pr.md"),
        s.path("gh-output"),
        s.path("gh-summary"),
    );
    std::fs::write(&out, "earlier=1\n").unwrap();
    let r = s
        .env("SUMMARY_DOTENV_FILE", env)
        .env("SUMMARY_MARKDOWN_FILE", md)
        .env("GITHUB_OUTPUT", out)
        .env("GITHUB_STEP_SUMMARY", sum)
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["title"], HOSTILE);
    (r, server)
}

fn no_pwned(dir: &Path) {
    for i in 1..=6 {
        assert!(!dir.join(format!("pwned{i}")).exists(), "pwned{i}: a command ran");
    }
}

#[test]
fn dotenv_is_sourced_literally_by_every_posix_shell() {
    let (r, _server) = hostile_run();
    let mut shells: Vec<Vec<&str>> = vec![vec!["bash"], vec!["dash"], vec!["sh"], vec!["bash", "--posix"]];
    if std::process::Command::new("busybox").arg("true").output().is_ok() {
        shells.push(vec!["busybox", "sh"]);
    } else {
        eprintln!("busybox not installed: busybox ash not checked");
    }
    for shell in shells {
        let have = std::process::Command::new(shell[0]).arg("-c").arg("true").output();
        if have.is_err() {
            eprintln!("{} not installed", shell[0]);
            continue;
        }
        for (var, want) in [
            ("PR_TITLE", HOSTILE),
            ("PR_AUTHOR", "Mallory $(touch pwned5) '\n"),
            ("PR_SOURCE_BRANCH", "feat/`touch pwned6`"),
            ("PR_ID", "7"),
            ("PR_STATUS_OUTCOME", "pass"),
        ] {
            let out = std::process::Command::new(shell[0])
                .args(&shell[1..])
                .arg("-c")
                .arg(format!("set -a; . ./pr.env; printf %s \"${var}\""))
                .current_dir(&r.dir)
                .env_clear()
                .env("HOME", "/nonexistent-home")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{shell:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{shell:?} {var}");
            assert!(
                out.stderr.is_empty(),
                "{shell:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        no_pwned(&r.dir);
    }
}

/// Parses a `GITHUB_OUTPUT` file the way the Actions runner does on Linux
/// (`FileCommandManager`): `name=value` lines, and `name<<DELIM` blocks whose value runs until a
/// line that is exactly `DELIM`.
fn parse_github_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    let next_line = |rest: &mut &str| -> Option<(String, bool)> {
        if rest.is_empty() {
            return None;
        }
        match rest.find('\n') {
            Some(i) => {
                let line = rest[..i].to_string();
                *rest = &rest[i + 1..];
                Some((line, true))
            }
            None => {
                let line = rest.to_string();
                *rest = "";
                Some((line, false))
            }
        }
    };
    while let Some((line, _)) = next_line(&mut rest) {
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => out.push((line[..e].to_string(), line[e + 1..].to_string())),
            (_, Some(h)) => {
                let (key, delim) = (line[..h].to_string(), line[h + 2..].to_string());
                if key.is_empty() || delim.is_empty() {
                    return Err(format!("invalid heredoc line {line:?}"));
                }
                let mut value: Vec<String> = Vec::new();
                loop {
                    match next_line(&mut rest) {
                        None => return Err(format!("matching delimiter not found {delim:?}")),
                        Some((l, _)) if l == delim => break,
                        Some((_, false)) => return Err("EOF marker missing new line".into()),
                        Some((l, true)) => value.push(l),
                    }
                }
                out.push((key, value.join("\n")));
            }
            _ => return Err(format!("invalid format {line:?}")),
        }
    }
    Ok(out)
}

#[test]
fn github_outputs_cannot_be_injected() {
    let (r, _server) = hostile_run();
    let pairs = parse_github_file(&r.file("gh-output")).unwrap();
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "earlier",
            "found",
            "count",
            "number",
            "title",
            "state",
            "url",
            "draft",
            "approvals",
            "outcome",
            "exit_code",
            "json"
        ],
        "one value per output, none injected"
    );
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(get("title"), HOSTILE);
    assert_eq!(get("number"), "7");
    assert_eq!(get("found"), "true");
    assert_eq!(get("earlier"), "1", "earlier outputs are kept (appended)");
    let json: serde_json::Value = serde_json::from_str(&get("json")).unwrap();
    assert_eq!(&json, r.summary());
    // Whatever the runner does with CRLF: the value keeps its CR, and no line of the file other
    // than a delimiter line equals a delimiter.
    let text = r.file("gh-output");
    let delim = text.lines().nth(1).unwrap().split_once("<<").unwrap().1;
    assert!(delim.len() >= 32 && !HOSTILE.contains(delim), "{delim}");
    assert_eq!(text.lines().filter(|l| *l == delim).count(), 11);
}

/// Splits a Markdown table row at the pipes that are not escaped.
fn cells(row: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut escaped = false;
    for c in row.chars() {
        match c {
            '|' if !escaped => out.push(String::new()),
            _ => out.last_mut().unwrap().push(c),
        }
        escaped = c == '\\' && !escaped;
    }
    out
}

#[test]
fn markdown_cells_are_escaped() {
    let (r, _server) = hostile_run();
    for file in ["pr.md", "gh-summary"] {
        let md = r.file(file);
        let rows: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(
            rows.len(),
            3,
            "{file}: header, rule, one PR row; a title cannot add rows:\n{md}"
        );
        for row in &rows {
            assert_eq!(cells(row).len(), 12, "{file}: 10 columns: {row}");
        }
        let pr_row = rows[2];
        assert!(!pr_row.contains('<'), "{file}: raw HTML: {pr_row}");
        assert!(
            !pr_row.contains("](javascript"),
            "{file}: a link was injected: {pr_row}"
        );
        assert!(pr_row.contains("&lt;script&gt;"), "{pr_row}");
    }
}

#[test]
fn annotations_escape_percent_cr_and_lf() {
    // The server's reason for a 400 carries %, CR, LF and a fake workflow command.
    let server = cloud_index(|_, _| {
        Reply::json(
            400,
            r#"{"type":"error","error":{"message":"100% broken %0A::error::injected\r\n::warning::second\r\nthird %25"}}"#,
        )
    });
    let s = step().cloud(&server.url);
    let out = s.path("gh-output");
    let r = s.env("GITHUB_ACTIONS", "true").env("GITHUB_OUTPUT", &out).run();
    assert_clean_failure(&r, 4);
    let commands: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 1, "exactly one workflow command: {:?}", r.stdout);
    assert_eq!(r.stdout.lines().count(), 1, "{:?}", r.stdout);
    let data = commands[0].split_once("::").unwrap().1.split_once("::").unwrap().1;
    assert!(!data.contains('\r') && !data.contains('\n'));
    // GitHub decodes %25, %0D, %0A in the data: the decoded text still holds the server's
    // literal "%0A", not a line break.
    let decoded = data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%");
    assert!(decoded.contains("100% broken %0A::error::injected"), "{decoded}");
    assert!(!decoded.contains("\n::"), "{decoded}");
    assert!(commands[0].starts_with("::error title=pr-status::"), "{}", commands[0]);

    // A failing gate is an error, then one per unmet condition (tests/ci_conventions.rs).
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("x")));
    let r = step()
        .cloud(&server.url)
        .env("GITHUB_ACTIONS", "true")
        .env("REQUIRE", "merged")
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let commands: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 2, "{}", r.stdout);
    assert!(commands[0].starts_with("::error title=pr-status::"), "{}", commands[0]);
    assert!(
        commands[1].starts_with("::error title=pr-status%3A merged::"),
        "{}",
        commands[1]
    );
}

// ---- TLS: untrusted certificates are not retried; SSL_CERT_FILE adds a CA ----

/// An HTTPS Cloud server on 127.0.0.1 whose certificate is signed by a fresh private CA.
fn tls_server() -> HttpsServer {
    https_server("127.0.0.1", |head| {
        if head.contains("/statuses") {
            EMPTY_PAGE.to_string()
        } else {
            one_pr_page("over TLS")
        }
    })
}

#[test]
fn an_untrusted_certificate_is_not_retried_and_ssl_cert_file_adds_the_ca() {
    let server = tls_server();
    let r = step().cloud(&server.url).run();
    assert_clean_failure(&r, 4);
    assert_error_summary(&r, "error", "network");
    let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("not trusted") && msg.contains("SSL_CERT_FILE"), "{msg}");
    assert!(
        server.connections() <= 2,
        "one attempt per request (index and statuses), no retries: {}",
        server.connections()
    );
    eprintln!("untrusted certificate: {msg}");

    let s = step().cloud(&server.url);
    let ca = s.path("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let r = s.env("SSL_CERT_FILE", &ca).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["title"], "over TLS");
}

#[test]
fn terminal_escapes_from_the_server_never_reach_the_log() {
    // ESC sequences can retitle a terminal, clear it, or hide text in a CI log viewer.
    const ESC_TITLE: &str = "fix \u{1b}]0;pwned\u{7} \u{1b}[2J\u{1b}[31mred\u{1b}[0m \u{9b}31m done";
    let ok = cloud_index(|_, _| {
        let mut pr = cloud_pr(7, ESC_TITLE);
        pr["source"]["branch"]["name"] = "feat/\u{1b}[8mhidden".into();
        Reply::json(200, serde_json::json!({ "values": [pr] }).to_string())
    });
    let bad = cloud_index(|_, _| {
        Reply::json(
            400,
            r#"{"error":{"message":"bad \u001b[2J\u001b]0;pwned\u0007 request"}}"#,
        )
    });
    let state = cloud_index(|_, _| Reply::json(200, r#"{"values":[{"id":1,"state":"\u001b[2JOPEN"}]}"#));
    for (server, code) in [(&ok, 0), (&bad, 4), (&state, 4)] {
        let r = step()
            .cloud(&server.url)
            .env("DEBUG", "true")
            .env("GITHUB_ACTIONS", "true")
            .run();
        assert_eq!(r.code, code, "{}", r.stderr);
        for (name, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{7}'),
                "{name}: {text:?}"
            );
        }
    }
}
