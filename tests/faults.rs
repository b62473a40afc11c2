//! Fault injection over real sockets: the real binary against local servers scripted to
//! rate-limit, fail, reset, truncate, stall, trickle, keep indexing, or answer nonsense; and
//! the summary files when the process is killed or cannot write. Each case asserts the exit
//! code, the summary and stderr, and counts the requests the server saw (attempts, never wall
//! time: durations are printed, not asserted, the machines running this are noisy).

mod common;

use std::time::{Duration, Instant};

use common::*;

const RATE_LIMITED: &str = r#"{"type":"error","error":{"message":"Rate limit for this resource has been exceeded"}}"#;

/// The waits the binary announced in DEBUG mode ("retrying GET ... in N ms").
fn retry_waits(stderr: &str) -> Vec<u64> {
    stderr
        .lines()
        .filter(|l| l.contains("retrying GET") && l.contains("/pullrequests"))
        .filter_map(|l| l.rsplit(" in ").next()?.strip_suffix(" ms")?.parse().ok())
        .collect()
}

fn timed(label: &str, f: impl FnOnce() -> Ran) -> Ran {
    let started = Instant::now();
    let r = f();
    eprintln!("{label}: exit {} after {:?}", r.code, started.elapsed());
    r
}

// ---- Rate limits and server errors: retried, then success ----

#[test]
fn rate_limit_without_retry_after_backs_off_exponentially_with_jitter() {
    // Bitbucket Cloud sends 429 without Retry-After.
    let server = cloud_index(|_, n| {
        if n < 3 {
            Reply::json(429, RATE_LIMITED)
        } else {
            Reply::json(200, one_pr_page("Fix"))
        }
    });
    let r = timed("429 x3 then 200", || {
        step().cloud(&server.url).env("DEBUG", "true").run()
    });
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(server.hits(&index_path()), 4);
    assert_eq!(r.summary()["pull_requests"][0]["id"], 7);
    // HTTP_RETRY_DELAY_MS=20: about 20, 40, 80 ms, each within ±25 % jitter.
    let waits = retry_waits(&r.stderr);
    assert_eq!(waits.len(), 3, "{}", r.stderr);
    for (wait, base) in waits.iter().zip([20u64, 40, 80]) {
        assert!(
            (base * 3 / 4..=base * 5 / 4).contains(wait),
            "wait {wait} ms outside {base} ms ± 25 %: {waits:?}"
        );
    }
}

#[test]
fn rate_limit_with_retry_after_waits_what_the_server_asks() {
    let server = cloud_index(|_, n| {
        if n == 0 {
            Reply::json(429, RATE_LIMITED).with_header("Retry-After", "1")
        } else {
            Reply::json(200, one_pr_page("Fix"))
        }
    });
    let r = timed("429 Retry-After: 1 then 200", || {
        step().cloud(&server.url).env("DEBUG", "true").run()
    });
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(server.hits(&index_path()), 2);
    assert_eq!(retry_waits(&r.stderr), vec![1000], "{}", r.stderr);
}

#[test]
fn a_long_retry_after_is_capped_at_60_seconds() {
    // The step announces its wait in DEBUG mode before sleeping; read that line and stop the
    // run there rather than wait a minute.
    use std::io::BufRead;
    for retry_after in ["3600", "Wed, 21 Oct 2099 07:28:00 GMT"] {
        let ra = retry_after.to_string();
        let server = cloud_index(move |_, _| Reply::json(429, RATE_LIMITED).with_header("Retry-After", &ra));
        let dir = tempfile::tempdir().unwrap();
        let mut envs = summary_envs(dir.path(), &server.url);
        envs.push(("DEBUG", "true".into()));
        let mut child = child_command(dir.path(), &envs).spawn().unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut announced = None;
        for line in stderr.lines() {
            let line = line.unwrap();
            if line.contains("retrying GET") && line.contains("/pullrequests") {
                announced = Some(line);
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let line = announced.expect("no retry announced");
        assert!(line.ends_with(" in 60000 ms"), "Retry-After: {retry_after}: {line}");
    }
}

#[test]
fn server_errors_are_retried_until_success() {
    let server = cloud_index(|_, n| match n {
        0 => Reply::typed(500, "text/html", "<html><body>Internal Server Error</body></html>"),
        1 => Reply::typed(502, "text/plain", "Bad Gateway"),
        2 => Reply::json(503, r#"{"error":{"message":"Service Unavailable"}}"#),
        _ => Reply::json(200, one_pr_page("Fix")),
    });
    let r = step().cloud(&server.url).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(server.hits(&index_path()), 4);
    assert_eq!(r.summary()["outcome"], "pass");
}

#[test]
fn always_500_gives_up_after_exactly_four_attempts() {
    let server = cloud_index(|_, _| {
        Reply::json(
            500,
            r#"{"type":"error","error":{"message":"Something went wrong","detail":"trace 1234"}}"#,
        )
    });
    let r = timed("always 500", || step().cloud(&server.url).run());
    assert_clean_failure(&r, 4);
    assert_error_summary(&r, "error", "api");
    assert_eq!(server.hits(&index_path()), 4);
    let s = r.summary();
    assert_eq!(s["error"]["http_status"], 500);
    let msg = s["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("Something went wrong"),
        "the server's reason is kept: {msg}"
    );
    assert!(msg.contains("gave up after 4 attempts"), "{msg}");
    assert!(msg.contains("/commit/"), "names the request: {msg}");
}

#[test]
fn retries_are_bounded_by_attempts_for_every_request() {
    // Every endpoint rate-limited with Retry-After: 0: each request gets exactly 4 attempts,
    // then the step stops, whatever the server keeps saying.
    let server = serve(|_, _| Reply::json(429, RATE_LIMITED).with_header("Retry-After", "0"));
    let r = timed("always 429", || step().cloud(&server.url).run());
    assert_clean_failure(&r, 4);
    assert_error_summary(&r, "error", "api");
    assert_eq!(r.summary()["error"]["http_status"], 429);
    assert_eq!(server.hits(&index_path()), 4);
    assert_eq!(server.hits("/statuses"), 4);
    assert_eq!(server.requests().len(), 8, "nothing else was sent");
}

#[test]
fn refused_credentials_and_client_errors_are_not_retried() {
    parallel(
        vec![(401, 3, "auth"), (403, 3, "auth"), (400, 4, "api")],
        |(status, code, kind)| {
            let server = cloud_index(move |_, _| {
                Reply::json(
                    status,
                    r#"{"type":"error","error":{"message":"Token is invalid or not supported for this endpoint."}}"#,
                )
            });
            let r = step().cloud(&server.url).run();
            assert_clean_failure(&r, code);
            assert_error_summary(&r, "error", kind);
            assert_eq!(server.hits(&index_path()), 1, "{status} must not be retried");
            assert!(r.stderr.contains("Token is invalid"), "{}", r.stderr);
        },
    );
}

// ---- Transport faults over raw sockets ----

#[test]
fn connection_refused_is_a_network_error() {
    let url = format!("http://127.0.0.1:{}", dead_port());
    let r = timed("connection refused", || step().cloud(&url).run());
    assert_clean_failure(&r, 4);
    assert_error_summary(&r, "error", "network");
    let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("cannot connect to 127.0.0.1"), "{msg}");
    assert!(msg.contains("gave up after 4 attempts"), "{msg}");
}

const HEAD_1000: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";

fn with_partial_body(head: &[u8]) -> Vec<u8> {
    let mut v = head.to_vec();
    v.extend_from_slice(br#"{"pagelen":50,"values":[{"id":7,"title":"half"#);
    v
}

#[test]
fn broken_connections_are_retried_then_reported() {
    struct Case {
        name: &'static str,
        reply: Reply,
        want: &'static [&'static str],
    }
    let cases = vec![
        Case {
            name: "reset mid-body",
            reply: Reply::ResetAfter(with_partial_body(HEAD_1000)),
            want: &["connection to 127.0.0.1 broke while its answer was being read", "reset"],
        },
        Case {
            name: "reset before any answer",
            reply: Reply::ResetAfter(Vec::new()),
            want: &["connection to 127.0.0.1 broke before it answered", "reset"],
        },
        Case {
            name: "truncated body (Content-Length larger than the body, then close)",
            reply: Reply::Raw(with_partial_body(HEAD_1000)),
            want: &[
                "connection to 127.0.0.1 broke while its answer was being read",
                "end of file",
            ],
        },
        Case {
            name: "closed without a status line",
            reply: Reply::Raw(Vec::new()),
            want: &["connection to 127.0.0.1 broke before it answered", "closed"],
        },
        Case {
            name: "endless response headers",
            reply: Reply::Raw({
                let mut v = b"HTTP/1.1 200 OK\r\n".to_vec();
                for i in 0..20_000 {
                    v.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(40)).as_bytes());
                }
                v
            }),
            want: &["connection to 127.0.0.1 broke before it answered"],
        },
        Case {
            name: "garbage instead of HTTP",
            reply: Reply::Raw(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()),
            want: &["connection to 127.0.0.1 broke before it answered", "invalid HTTP"],
        },
    ];
    parallel(cases, |case| {
        let reply = case.reply.clone();
        let server = cloud_index(move |_, _| reply.clone());
        let r = timed(case.name, || step().cloud(&server.url).run());
        assert_clean_failure(&r, 4);
        assert_error_summary(&r, "error", "network");
        assert_eq!(server.hits(&index_path()), 4, "{}: attempts", case.name);
        let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
        for w in case.want {
            assert!(msg.contains(w), "{}: {msg}", case.name);
        }
        assert!(
            msg.contains("GET /2.0/repositories/acme/widget/commit/"),
            "{}: names the request: {msg}",
            case.name
        );
        assert!(msg.len() < 400, "{}: one short line: {msg}", case.name);
        assert!(msg.contains("gave up after 4 attempts"), "{}: {msg}", case.name);
        eprintln!("{}: {msg}", case.name);
    });
}

#[test]
fn stalled_and_trickling_servers_hit_http_timeout() {
    let cases = vec![
        ("accepts and never answers", Reply::Silent),
        (
            "body trickles one byte per 300 ms",
            Reply::Trickle {
                head: HEAD_1000.to_vec(),
                every: Duration::from_millis(300),
            },
        ),
        (
            "headers trickle and never end",
            Reply::Trickle {
                head: b"HTTP/1.1 200 OK\r\nX-Slow: ".to_vec(),
                every: Duration::from_millis(300),
            },
        ),
    ];
    parallel(cases, |(name, reply)| {
        let server = cloud_index(move |_, _| reply.clone());
        let r = timed(name, || step().cloud(&server.url).env("HTTP_TIMEOUT", "1").run());
        assert_clean_failure(&r, 4);
        assert_error_summary(&r, "error", "network");
        assert_eq!(server.hits(&index_path()), 4, "{name}: attempts");
        let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            msg.contains("127.0.0.1 did not answer within HTTP_TIMEOUT=1s"),
            "{name}: {msg}"
        );
        assert!(
            msg.contains("GET /2.0/repositories/acme/widget/commit/"),
            "{name}: names the request: {msg}"
        );
        eprintln!("{name}: {msg}");
    });
}

#[test]
fn a_timeout_is_retried_and_the_next_answer_used() {
    let server = cloud_index(|_, n| {
        if n == 0 {
            Reply::Silent
        } else {
            Reply::json(200, one_pr_page("Fix"))
        }
    });
    let r = timed("silent once, then 200", || {
        step().cloud(&server.url).env("HTTP_TIMEOUT", "1").run()
    });
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(server.hits(&index_path()), 2);
}

// ---- The commit index still indexing ----

#[test]
fn indexing_until_index_wait_runs_out_is_pending_exit_8() {
    let server = cloud_index(|_, _| Reply::json(202, r#"{"type":"commit_index","status":"indexing"}"#));
    let r = timed("202 forever, INDEX_WAIT=1", || {
        step().cloud(&server.url).env("INDEX_WAIT", "1").run()
    });
    assert_clean_failure(&r, 8);
    assert_error_summary(&r, "pending", "api");
    let polls = server.hits(&index_path());
    assert!(polls >= 2, "polled {polls} times");
    let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("indexing") && msg.contains("INDEX_WAIT"), "{msg}");
}

#[test]
fn indexing_then_ready_passes() {
    let server = cloud_index(|_, n| {
        if n < 2 {
            Reply::json(202, "{}")
        } else {
            Reply::json(200, one_pr_page("Fix"))
        }
    });
    let r = step().cloud(&server.url).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(server.hits(&index_path()), 3);
    assert_eq!(r.summary()["lookup"], "commit");
}

// ---- Malformed and unexpected answers ----

fn nested(open: &str, depth: usize) -> String {
    format!(r#"{{"values":{}"#, open.repeat(depth))
}

/// Balanced nesting inside a field the step does not read.
fn nested_unknown(depth: usize) -> String {
    format!(r#"{{"values":[],"x":{}{}}}"#, "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn deep_nesting_in_an_unknown_field_is_skipped_without_overflowing_the_stack() {
    // Valid JSON: the step skips fields it does not read, however deep, and carries on.
    let body = nested_unknown(1_000_000);
    let server = cloud_index(move |_, _| Reply::json(200, body.clone()));
    let r = step().cloud(&server.url).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"], serde_json::json!([]));
}

#[test]
fn malformed_answers_are_api_errors_never_panics() {
    let html_login = "<!DOCTYPE html>\n<html><head><title>Log in with Atlassian account</title></head><body><form action=\"/login\"></form></body></html>";
    let pr = |extra: serde_json::Value| {
        let mut p = cloud_pr(7, "x");
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        serde_json::json!({ "values": [p] }).to_string()
    };
    let cases: Vec<(&str, Reply, &str)> = vec![
        (
            "HTML login page with 200",
            Reply::typed(200, "text/html; charset=utf-8", html_login),
            "HTML page",
        ),
        (
            "HTML with a JSON content type",
            Reply::json(200, html_login),
            "HTML page",
        ),
        ("empty 200", Reply::json(200, ""), "empty body"),
        ("plain text 200", Reply::typed(200, "text/plain", "OK"), "malformed"),
        ("JSON null", Reply::json(200, "null"), "malformed"),
        ("an array, not a page", Reply::json(200, "[]"), "malformed"),
        ("values is null", Reply::json(200, r#"{"values":null}"#), "malformed"),
        (
            "values is a string",
            Reply::json(200, r#"{"values":"none"}"#),
            "malformed",
        ),
        (
            "next is a number",
            Reply::json(200, r#"{"values":[],"next":12}"#),
            "malformed",
        ),
        (
            "PR without id",
            Reply::json(200, r#"{"values":[{"title":"no id","state":"OPEN"}]}"#),
            "id",
        ),
        (
            "id is a string",
            Reply::json(200, pr(serde_json::json!({"id": "7"}))),
            "malformed",
        ),
        (
            "id is negative",
            Reply::json(200, pr(serde_json::json!({"id": -7}))),
            "malformed",
        ),
        (
            "id is fractional",
            Reply::json(200, pr(serde_json::json!({"id": 7.5}))),
            "malformed",
        ),
        (
            "id overflows u64",
            Reply::json(200, r#"{"values":[{"id":1e30,"state":"OPEN"}]}"#),
            "malformed",
        ),
        (
            "title is an object",
            Reply::json(200, pr(serde_json::json!({"title": {"raw": "x"}}))),
            "malformed",
        ),
        (
            "state is null",
            Reply::json(200, pr(serde_json::json!({"state": null}))),
            "state",
        ),
        (
            "state is unknown",
            Reply::json(200, pr(serde_json::json!({"state": "ARCHIVED"}))),
            "ARCHIVED",
        ),
        (
            "task_count is negative",
            Reply::json(200, pr(serde_json::json!({"task_count": -1}))),
            "malformed",
        ),
        (
            "participants is an object",
            Reply::json(200, pr(serde_json::json!({"participants": {}}))),
            "malformed",
        ),
        (
            "approved is a string",
            Reply::json(200, pr(serde_json::json!({"participants": [{"approved": "yes"}]}))),
            "malformed",
        ),
        (
            "truncated JSON",
            Reply::json(200, r#"{"values":[{"id":7,"#),
            "malformed",
        ),
        (
            "trailing garbage",
            Reply::json(200, r#"{"values":[]} {"values":[]}"#),
            "malformed",
        ),
        (
            "invalid UTF-8",
            Reply::typed(
                200,
                "application/json",
                b"{\"values\":[{\"id\":7,\"title\":\"\xff\xfe\"}]}".to_vec(),
            ),
            "malformed",
        ),
        (
            "100k nested arrays",
            Reply::json(200, nested("[", 100_000)),
            "malformed",
        ),
        (
            "100k nested objects",
            Reply::json(200, nested(r#"{"a":"#, 100_000)),
            "malformed",
        ),
        (
            "Content-Length over 32 MiB",
            Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 41943040\r\n\r\n{}".to_vec()),
            "over 32 MiB",
        ),
    ];
    parallel(cases, |(name, reply, want)| {
        let server = cloud_index(move |_, _| reply.clone());
        let r = step().cloud(&server.url).run();
        assert_clean_failure(&r, 4);
        assert_error_summary(&r, "error", "api");
        let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains(want), "{name}: {msg}");
        assert!(
            msg.chars().count() < 1000,
            "{name}: one short sentence, got {} chars",
            msg.len()
        );
        assert_eq!(
            server.hits(&index_path()),
            1,
            "{name}: a malformed answer is not retried"
        );
        eprintln!("{name}: {msg}");
    });
}

#[test]
fn an_endless_body_is_cut_at_32_mib() {
    // No Content-Length: the body runs until close. 33 MiB of it must not be read into memory
    // whole and parsed; the step stops at its limit.
    let mut raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".to_vec();
    raw.extend(std::iter::repeat_n(b' ', 33 << 20));
    let server = cloud_index(move |_, _| Reply::Raw(raw.clone()));
    let r = timed("33 MiB body", || step().cloud(&server.url).run());
    assert_clean_failure(&r, 4);
    assert!(r.stderr.contains("over 32 MiB"), "{}", r.stderr);
    assert_eq!(server.hits(&index_path()), 1);
}

#[test]
fn malformed_build_statuses_are_api_errors() {
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            Reply::json(200, r#"{"values":[{"key":"ci","state":5}]}"#)
        } else {
            Reply::json(200, one_pr_page("Fix"))
        }
    });
    let r = step().cloud(&server.url).run();
    assert_clean_failure(&r, 4);
    assert_error_summary(&r, "error", "api");
    assert!(r.stderr.contains("/statuses gave a malformed answer"), "{}", r.stderr);
}

#[test]
fn nulls_unknown_fields_and_huge_strings_are_tolerated() {
    // Every optional field null, unknown fields of every type, an 8 MB title and an 8 MB
    // unknown field: a valid answer, reported as it is, nulls staying null.
    let big = "é".repeat(4 << 20);
    let page = serde_json::json!({
        "values": [
            {"id": 1, "state": "open", "title": null, "draft": null, "links": null, "author": null,
             "source": null, "destination": null, "created_on": null, "updated_on": null,
             "participants": null, "task_count": null, "comment_count": null,
             "unknown": {"deep": [1, "two", null, {"x": []}]}, "rendered": big.clone()},
            {"id": 2, "state": "MERGED", "title": big.clone(),
             "participants": [{"user": null, "role": null, "approved": null, "state": null}],
             "source": {"branch": null, "commit": {"hash": null}}, "links": {"html": {"href": null}}}
        ],
        "next": null,
        "future_field": 1e308
    })
    .to_string();
    let server = cloud_index(move |_, _| Reply::json(200, page.clone()));
    let r = timed("8 MB strings", || step().cloud(&server.url).run());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let prs = r.summary()["pull_requests"].as_array().unwrap().clone();
    assert_eq!(prs.len(), 2);
    assert_eq!(
        prs[0]["title"], "",
        "a missing title is empty text (the schema's title is a string)"
    );
    for field in [
        "draft",
        "url",
        "author",
        "source_branch",
        "source_commit",
        "created_on",
        "open_tasks",
    ] {
        assert!(prs[0][field].is_null(), "{field} must stay null: {}", prs[0][field]);
    }
    assert_eq!(prs[1]["title"].as_str().unwrap().len(), big.len());
    assert!(r.stdout.lines().all(|l| l.len() < 2000), "stdout stays short");
}

#[test]
fn error_pages_are_summarized_in_one_line() {
    // A 503 HTML page from a proxy, with newlines and 1 MB of markup: the message is one short
    // line that says what it was.
    let page = format!(
        "<html><body><h1>503</h1>\n{}\n</body></html>",
        "<p>x</p>\n".repeat(100_000)
    );
    let server = cloud_index(move |_, _| Reply::typed(503, "text/html", page.clone()));
    let r = step().cloud(&server.url).run();
    assert_clean_failure(&r, 4);
    assert_error_summary(&r, "error", "api");
    let msg = r.summary()["error"]["message"].as_str().unwrap();
    assert!(msg.contains("an HTML error page"), "{msg}");
    assert!(msg.len() < 400, "{msg}");
}

// ---- Summary files ----

fn summary_envs(dir: &std::path::Path, url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("BITBUCKET_API_URL", format!("{url}/2.0")),
        ("BITBUCKET_WORKSPACE", "acme".into()),
        ("BITBUCKET_REPO_SLUG", "widget".into()),
        ("BITBUCKET_COMMIT", COMMIT.into()),
        ("BITBUCKET_ACCESS_TOKEN", TOKEN.into()),
        ("HTTP_RETRY_DELAY_MS", "20".into()),
        ("SUMMARY_FILE", dir.join("out/pr-status.json").display().to_string()),
        (
            "SUMMARY_MARKDOWN_FILE",
            dir.join("out/pr-status.md").display().to_string(),
        ),
        (
            "SUMMARY_DOTENV_FILE",
            dir.join("out/pr-status.env").display().to_string(),
        ),
    ]
}

#[test]
fn killed_mid_run_leaves_no_old_verdict_and_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let old = [
        ("pr-status.json", "{\"old\":true}\n"),
        ("pr-status.md", "old\n"),
        ("pr-status.env", "OLD='1'\n"),
    ];
    for (name, text) in old {
        std::fs::write(out.join(name), text).unwrap();
    }
    let server = cloud_index(|_, _| Reply::Silent);
    let mut child = child_command(dir.path(), &summary_envs(dir.path(), &server.url))
        .spawn()
        .unwrap();
    let started = Instant::now();
    while server.hits(&index_path()) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the binary never sent its request"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap(); // SIGKILL: no destructor, no cleanup runs.
    let status = child.wait().unwrap();
    assert!(!status.success());
    // Before its first request the run replaced each with its "no verdict yet" placeholder
    // (issue 9, point 5; tests/signals.rs).
    for (name, text) in old {
        let now = std::fs::read_to_string(out.join(name)).unwrap();
        let placeholder = now.contains("no verdict yet") || now.contains("PR_STATUS_OUTCOME='error'");
        assert!(now != text && placeholder, "{name}: {now}");
    }
    assert_eq!(temp_files(dir.path()), Vec::<std::path::PathBuf>::new());

    // A run killed between writing and renaming leaves a temporary file; a later run removes it
    // once it is old enough not to be another run's write in flight (tests/outputs.rs).
    let stale = [out.join(".pr-status.json.tmp-AbC123"), out.join(".pr-status.md.tmp-x")];
    for s in &stale {
        std::fs::write(s, "{\"half\":").unwrap();
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(s)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
    }
    let good = cloud_index(|_, _| Reply::json(200, one_pr_page("Fix")));
    let done = child_command(dir.path(), &summary_envs(dir.path(), &good.url))
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(temp_files(dir.path()), Vec::<std::path::PathBuf>::new());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("pr-status.json")).unwrap()).unwrap();
    assert_valid(&json);
    assert_eq!(json["outcome"], "pass");
}

#[test]
fn missing_parent_folders_are_created() {
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("Fix")));
    let s = step().cloud(&server.url);
    let md = s.path("a/b/c/summary.md");
    let env = s.path("d/e/summary.env");
    let r = s
        .env("SUMMARY_MARKDOWN_FILE", &md)
        .env("SUMMARY_DOTENV_FILE", &env)
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read_to_string(md).unwrap().contains("pr-status: pass"));
    assert!(std::fs::read_to_string(env).unwrap().contains("PR_ID='7'"));
    assert_eq!(temp_files(&r.dir), Vec::<std::path::PathBuf>::new());
}

#[test]
fn unwritable_summary_paths_are_io_errors_naming_the_variable_and_nothing_is_sent() {
    let blocker = tempfile::NamedTempFile::new().unwrap();
    let under_file = blocker.path().join("x/summary.md");
    let folder = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("SUMMARY_MARKDOWN_FILE", under_file.display().to_string()),
        ("SUMMARY_DOTENV_FILE", "/proc/pr-status-test.env".into()),
        ("SUMMARY_DOTENV_FILE", folder.path().display().to_string()),
        ("GITHUB_OUTPUT", "/proc/pr-status-output".into()),
        (
            "GITHUB_STEP_SUMMARY",
            blocker.path().join("summary.md").display().to_string(),
        ),
    ];
    parallel(cases, |(var, path)| {
        let server = bystander();
        let r = step().cloud(&server.url).env(var, &path).run();
        assert_clean_failure(&r, 2);
        assert_error_summary(&r, "error", "io");
        let msg = r.summary()["error"]["message"].as_str().unwrap();
        assert!(msg.contains(var), "{var}={path}: {msg}");
        if path.starts_with(&blocker.path().display().to_string()) {
            assert!(msg.contains("is a file, not a folder"), "{var}={path}: says why: {msg}");
        }
        eprintln!("{var}={path}: {msg}");
        assert_eq!(server.connections(), 0, "{var}={path}: nothing may be sent");
    });
}

#[test]
fn an_unwritable_summary_file_is_reported_on_stderr() {
    let blocker = tempfile::NamedTempFile::new().unwrap();
    for path in [blocker.path().join("pr-status.json"), "/proc/pr-status.json".into()] {
        let server = bystander();
        let r = step().cloud(&server.url).env("SUMMARY_FILE", &path).run();
        assert_clean_failure(&r, 2);
        assert!(r.stderr.contains("SUMMARY_FILE"), "{}", r.stderr);
        assert_eq!(server.connections(), 0);
    }
}

#[test]
fn summary_files_get_normal_permissions_for_the_steps_after() {
    // Later CI steps read the summaries, often as another user (a Docker action runs as root,
    // the next step as `runner`): a new file follows the umask like any other, and a file that
    // existed keeps its mode.
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("pr-status.env"), "OLD=1\n").unwrap();
    std::fs::set_permissions(out.join("pr-status.env"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("Fix")));
    let cmd = child_command(dir.path(), &summary_envs(dir.path(), &server.url));
    let program = cmd.get_program().to_owned();
    let mut umask = std::process::Command::new("sh");
    umask
        .args(["-c", "umask 022 && exec \"$0\""])
        .arg(program)
        .current_dir(dir.path())
        .env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            umask.env(k, v);
        }
    }
    let done = umask.output().unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", String::from_utf8_lossy(&done.stderr));
    let mode = |name: &str| std::fs::metadata(out.join(name)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("pr-status.json"), 0o644, "new JSON summary");
    assert_eq!(mode("pr-status.md"), 0o644, "new Markdown summary");
    assert_eq!(mode("pr-status.env"), 0o640, "an existing file keeps its mode");
    assert!(std::fs::read_to_string(out.join("pr-status.env"))
        .unwrap()
        .contains("PR_ID='7'"));
}
