//! Bitbucket Data Center end to end: the real binary against local servers that answer like
//! Data Center (shaped after the 9.2 API description and recorded payloads).
//!
//! The requests are checked against the Data Center 9.2 API description twice:
//! - always (when the description is at `spec/vendor/` or `PR_STATUS_DC_OPENAPI`): every
//!   mock is registered through `get()`, which checks its path and query against the
//!   description's GET operations; mockito matches path and query exactly, so each request the
//!   binary makes here is one the description has;
//! - with `PR_STATUS_CONTRACT=1`: the binary talks to `prism proxy --errors` in front of each
//!   mock (`Api::datacenter`), which refuses any request or answer the description does not
//!   allow. Answers real servers send that the description does not allow go direct
//!   (`Api::datacenter_direct`, each with its reason).
//!
//! `scripts/contract-datacenter.sh` adds scenarios against a fake server and negative controls.

mod common;

use std::sync::OnceLock;

use common::*;
use mockito::{Mock, Server, ServerGuard};
use serde_json::{json, Value};

const KEY: &str = "PROJ";
const SLUG: &str = "widget";

fn prs_path(commit: &str) -> String {
    format!("/rest/api/latest/projects/{KEY}/repos/{SLUG}/commits/{commit}/pull-requests")
}

fn builds_path(commit: &str) -> String {
    format!("/rest/build-status/latest/commits/{commit}")
}

fn q(start: u64) -> String {
    format!("?start={start}&limit=100")
}

/// A GET mock, checked against the Data Center API description first.
fn get(server: &mut ServerGuard, path_and_query: &str) -> Mock {
    if let Err(e) = openapi::check(path_and_query) {
        panic!("the test would make a request the Data Center API does not describe: {e}");
    }
    server.mock("GET", path_and_query)
}

/// A JSON answer.
fn ok(mock: Mock, body: impl Into<String>) -> Mock {
    mock.with_status(200)
        .with_header("content-type", "application/json;charset=UTF-8")
        .with_body(body.into())
}

/// Data Center variables pointing at `api` (the mock server, or Prism in front of it in a
/// contract run), with an HTTP access token.
fn dc(api: &Api) -> Step {
    dc_at(api.url())
}

/// Data Center variables pointing at a server URL, with an HTTP access token.
fn dc_at(server_url: &str) -> Step {
    step()
        .env("BITBUCKET_SERVER_URL", server_url)
        .env("BITBUCKET_PROJECT_KEY", KEY)
        .env("BITBUCKET_REPO_SLUG", SLUG)
        .env("BITBUCKET_COMMIT", COMMIT)
        .env("BITBUCKET_ACCESS_TOKEN", TOKEN)
}

/// One page of a paged resource.
fn page(values: Vec<Value>, start: u64, next: Option<u64>) -> String {
    let mut p =
        json!({"size": values.len(), "limit": 100, "start": start, "isLastPage": next.is_none(), "values": values});
    if let Some(n) = next {
        p["nextPageStart"] = json!(n);
    }
    p.to_string()
}

fn json_fixture(rel: &str) -> Value {
    serde_json::from_str(&fixture(rel)).unwrap()
}

/// PR 7: head COMMIT, reviewers approved / needs work / pending, participants approved /
/// commented, 2 open tasks, 5 comments.
fn pr7() -> Value {
    json_fixture("datacenter/pull-request-7.json")
}

fn build(key: &str, state: &str, url: &str) -> Value {
    json!({"key": key, "name": key, "state": state, "url": url})
}

/// An error answer in Data Center's `{"errors": [...]}` shape (or any JSON body).
fn answer(mock: Mock, status: usize, body: Value) -> Mock {
    mock.with_status(status)
        .with_header("content-type", "application/json;charset=UTF-8")
        .with_body(body.to_string())
}

fn auth_is(mock: Mock, value: &str) -> Mock {
    mock.match_header("authorization", value)
}

#[test]
fn basic_auth_sends_the_exact_header_and_never_leaks() {
    let mut s = Server::new();
    // base64("jenkins:pa55-w0rd-xyz")
    let basic = "Basic amVua2luczpwYTU1LXcwcmQteHl6";
    let prs = ok(
        auth_is(get(&mut s, &format!("{}{}", prs_path(COMMIT), q(0))), basic),
        page(vec![pr7()], 0, None),
    )
    .expect_sent(1)
    .create();
    let builds = ok(
        auth_is(get(&mut s, &format!("{}{}", builds_path(COMMIT), q(0))), basic),
        page(vec![], 0, None),
    )
    .expect_sent(1)
    .create();
    let r = dc(&Api::datacenter(&s))
        .env("BITBUCKET_ACCESS_TOKEN", "")
        .env("BITBUCKET_USERNAME", "jenkins")
        .env("BITBUCKET_PASSWORD", "pa55-w0rd-xyz")
        .env("DEBUG", "true")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    prs.assert();
    builds.assert();
    let all = r.everything();
    assert!(
        !all.contains("pa55-w0rd-xyz") && !all.contains("amVua2luczpwYTU1LXcwcmQteHl6"),
        "{all}"
    );
    assert!(r.stderr.contains("debug:"), "DEBUG ran: {}", r.stderr);
}

#[test]
fn access_token_wins_over_username_and_password() {
    let mut s = Server::new();
    let bearer = format!("Bearer {TOKEN}");
    let prs = ok(
        auth_is(get(&mut s, &format!("{}{}", prs_path(COMMIT), q(0))), &bearer),
        page(vec![], 0, None),
    )
    .expect_sent(1)
    .create();
    let builds = ok(
        auth_is(get(&mut s, &format!("{}{}", builds_path(COMMIT), q(0))), &bearer),
        page(vec![], 0, None),
    )
    .expect_sent(1)
    .create();
    let r = dc(&Api::datacenter(&s))
        .env("BITBUCKET_USERNAME", "jenkins")
        .env("BITBUCKET_PASSWORD", "pa55-w0rd-xyz")
        .env("REQUIRE", "pr")
        .run();
    assert_eq!(r.code, 1, "no PR contains the commit: {}", r.stderr);
    prs.assert();
    builds.assert();
    assert_eq!(r.summary()["pull_requests"], json!([]));
}

/// The answer of Data Center's authentication plugin when an admin disabled Basic auth for
/// REST (seen as 403 with this text on 10.x; a 401 with `errors[]` from older setups).
#[test]
fn basic_auth_disabled_says_so_and_names_the_token_variable() {
    let real = json!({"message": "Basic Authentication has been disabled on this instance."});
    let errors = json!({"errors": [{"message": "Basic authentication is disabled for REST requests."}]});
    for (status, body, server_text) in [
        (403, real, "Basic Authentication has been disabled on this instance."),
        (401, errors, "Basic authentication is disabled for REST requests."),
    ] {
        let mut s = Server::new();
        let prs = answer(
            get(&mut s, &format!("{}{}", prs_path(COMMIT), q(0))),
            status,
            body.clone(),
        )
        .expect_sent(1)
        .create();
        let _builds = answer(get(&mut s, &format!("{}{}", builds_path(COMMIT), q(0))), status, body).create();
        let r = dc(&Api::datacenter(&s))
            .env("BITBUCKET_ACCESS_TOKEN", "")
            .env("BITBUCKET_USERNAME", "jenkins")
            .env("BITBUCKET_PASSWORD", "pa55-w0rd-xyz")
            .run();
        assert_eq!(r.code, 3, "{}", r.stderr);
        prs.assert(); // once: an auth failure is not retried
        assert!(
            r.stderr.contains(server_text),
            "the server's words are passed on: {}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("Basic authentication is disabled on this Bitbucket Data Center"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("BITBUCKET_ACCESS_TOKEN"), "{}", r.stderr);
        assert!(r.stderr.contains("Repository read"), "{}", r.stderr);
        assert_eq!(r.summary()["error"]["kind"], "auth");
        assert_eq!(r.summary()["error"]["http_status"], status);
        assert_eq!(r.lines_on_stderr(), 1, "one line: {}", r.stderr);
    }
}

#[test]
fn refused_token_passes_the_reason_on_and_names_the_permission() {
    let mut s = Server::new();
    let body = json!({"errors": [{"message": "Authentication failed. Please check your credentials and try again.", "exceptionName": "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"}]});
    let prs = answer(get(&mut s, &format!("{}{}", prs_path(COMMIT), q(0))), 401, body.clone())
        .expect_sent(1)
        .create();
    let _b = answer(get(&mut s, &format!("{}{}", builds_path(COMMIT), q(0))), 401, body).create();
    let r = dc(&Api::datacenter(&s)).run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    prs.assert();
    assert!(
        r.stderr
            .contains("Authentication failed. Please check your credentials"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("BITBUCKET_ACCESS_TOKEN") && r.stderr.contains("Repository read"),
        "{}",
        r.stderr
    );
    assert!(!r.everything().contains(TOKEN));

    let mut s = Server::new();
    let body = json!({"errors": [{"message": "You are not permitted to access this resource"}]});
    let _p = answer(get(&mut s, &format!("{}{}", prs_path(COMMIT), q(0))), 403, body.clone()).create();
    let _b = answer(get(&mut s, &format!("{}{}", builds_path(COMMIT), q(0))), 403, body).create();
    let r = dc(&Api::datacenter(&s)).run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("You are not permitted to access this resource"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("lack permission on PROJ/widget") && r.stderr.contains("Project read"),
        "{}",
        r.stderr
    );
}

/// Extra variables of a case, and words its message must have.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn no_credentials_is_a_config_error_and_nothing_is_sent() {
    let cases: [Case; 3] = [
        (
            &[],
            &[
                "BITBUCKET_ACCESS_TOKEN",
                "BITBUCKET_USERNAME + BITBUCKET_PASSWORD",
                "Repository read",
            ],
        ),
        (&[("BITBUCKET_USERNAME", "jenkins")], &["BITBUCKET_PASSWORD is not"]),
        (
            &[("BITBUCKET_PASSWORD", "pa55-w0rd-xyz")],
            &["BITBUCKET_USERNAME is not"],
        ),
    ];
    for (extra, words) in cases {
        let mut s = Server::new();
        let any = s.mock("GET", mockito::Matcher::Any).expect(0).create();
        let r = dc(&Api::datacenter_direct(&s)) // nothing may be sent: no proxy needed
            .env("BITBUCKET_ACCESS_TOKEN", "")
            .envs(extra.iter().copied())
            .run();
        assert_eq!(r.code, 2, "{}", r.stderr);
        any.assert();
        for w in words {
            assert!(r.stderr.contains(w), "{w:?} in {}", r.stderr);
        }
        assert_eq!(r.summary()["error"]["kind"], "config");
        assert_eq!(r.summary()["provider"], Value::Null);
    }
}

#[test]
fn invalid_variables_are_config_errors_naming_them() {
    let cases: [(&str, &str, &str); 7] = [
        ("BITBUCKET_PROJECT_KEY", "PR/OJ", "BITBUCKET_PROJECT_KEY"),
        ("BITBUCKET_PROJECT_KEY", "~../x", "BITBUCKET_PROJECT_KEY"),
        ("BITBUCKET_REPO_SLUG", "../../admin", "BITBUCKET_REPO_SLUG"),
        ("BITBUCKET_COMMIT", "not-a-sha", "BITBUCKET_COMMIT"),
        ("BITBUCKET_PR_ID", "seven", "BITBUCKET_PR_ID"),
        (
            "BITBUCKET_SERVER_URL",
            "http://bitbucket.example.com",
            "BITBUCKET_SERVER_URL",
        ),
        ("BITBUCKET_ACCESS_TOKEN", "line\nbreak", "BITBUCKET_ACCESS_TOKEN"),
    ];
    for (var, value, named) in cases {
        let mut s = Server::new();
        let any = s.mock("GET", mockito::Matcher::Any).expect(0).create();
        let r = dc(&Api::datacenter_direct(&s)).env(var, value).run();
        assert_eq!(r.code, 2, "{var}={value:?}: {}", r.stderr);
        assert!(r.stderr.contains(named), "{var}: {}", r.stderr);
        any.assert();
    }
    // Chosen by PROVIDER alone, the server URL is required.
    let r = step()
        .env("PROVIDER", "bitbucket-datacenter")
        .env("BITBUCKET_PROJECT_KEY", KEY)
        .env("BITBUCKET_REPO_SLUG", SLUG)
        .env("BITBUCKET_COMMIT", COMMIT)
        .env("BITBUCKET_ACCESS_TOKEN", TOKEN)
        .run();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("BITBUCKET_SERVER_URL is not set"), "{}", r.stderr);
    // Neither BITBUCKET_COMMIT nor GIT_COMMIT nor BITBUCKET_PR_ID.
    let r = dc_at("https://bitbucket.example.com").env("BITBUCKET_COMMIT", "").run();
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("BITBUCKET_COMMIT") && r.stderr.contains("GIT_COMMIT"),
        "{}",
        r.stderr
    );
}

#[test]
fn server_errors_are_passed_on() {
    // 404: the server's reason plus what to check. Real servers send `"context": null`, which
    // the 9.2 description does not allow, so this answer goes to the binary directly.
    let mut s = Server::new();
    let body = json!({"errors": [{"context": null, "message": "Repository PROJ/widget does not exist.", "exceptionName": "com.atlassian.bitbucket.repository.NoSuchRepositoryException"}]});
    let prs = answer(get(&mut s, &format!("{}{}", prs_path(COMMIT), q(0))), 404, body)
        .expect_sent(1)
        .create();
    let _b = ok(
        get(&mut s, &format!("{}{}", builds_path(COMMIT), q(0))),
        page(vec![], 0, None),
    )
    .create();
    let r = dc(&Api::datacenter_direct(&s)).run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    prs.assert();
    assert!(
        r.stderr.contains("Repository PROJ/widget does not exist: check"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("BITBUCKET_PROJECT_KEY=PROJ"), "{}", r.stderr);
    assert_eq!(r.summary()["error"]["http_status"], 404);

    // 5xx: retried, then the server's reason.
    let mut s = Server::new();
    let body = json!({"errors": [{"message": "The database is unavailable"}]});
    let prs = answer(get(&mut s, &format!("{}{}", prs_path(COMMIT), q(0))), 503, body)
        .expect_sent(4)
        .create();
    let _b = ok(
        get(&mut s, &format!("{}{}", builds_path(COMMIT), q(0))),
        page(vec![], 0, None),
    )
    .create();
    let r = dc(&Api::datacenter(&s)).run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    prs.assert();
    assert!(
        r.stderr.contains("The database is unavailable") && r.stderr.contains("4 attempts"),
        "{}",
        r.stderr
    );

    // A login page instead of JSON (not a JSON answer at all: directly to the binary).
    let mut s = Server::new();
    let _p = get(&mut s, &format!("{}{}", prs_path(COMMIT), q(0)))
        .with_status(200)
        .with_header("content-type", "text/html")
        .with_body("<!DOCTYPE html><html><title>Log in - Bitbucket</title></html>")
        .create();
    let _b = ok(
        get(&mut s, &format!("{}{}", builds_path(COMMIT), q(0))),
        page(vec![], 0, None),
    )
    .create();
    let r = dc(&Api::datacenter_direct(&s)).run();
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("HTML page instead of JSON"), "{}", r.stderr);
}

#[test]
fn builds_that_cannot_be_read_are_an_error_not_an_empty_pass() {
    let mut s = Server::new();
    let _p = ok(
        get(&mut s, &format!("{}{}", prs_path(COMMIT), q(0))),
        page(vec![pr7()], 0, None),
    )
    .create();
    let b = answer(
        get(&mut s, &format!("{}{}", builds_path(COMMIT), q(0))),
        404,
        json!({"errors": [{"message": "Not Found"}]}),
    )
    .expect_sent(1)
    .create();
    let r = dc(&Api::datacenter(&s)).env("REQUIRE", "builds-passed").run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    b.assert();
    assert!(r.stderr.contains("build statuses cannot be read"), "{}", r.stderr);
}

#[test]
fn paging_stops_on_a_page_that_points_nowhere() {
    let mut s = Server::new();
    let broken = json!({"size": 1, "limit": 100, "start": 0, "isLastPage": false, "values": [pr7()]});
    let _p = ok(
        get(&mut s, &format!("{}{}", prs_path(COMMIT), q(0))),
        broken.to_string(),
    )
    .expect_sent(1)
    .create();
    let _b = ok(
        get(&mut s, &format!("{}{}", builds_path(COMMIT), q(0))),
        page(vec![], 0, None),
    )
    .create();
    let r = dc(&Api::datacenter(&s)).run();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("nextPageStart"), "{}", r.stderr);
}

#[test]
fn server_under_a_context_path() {
    let mut s = Server::new();
    let prs = ok(
        get(&mut s, &format!("/bitbucket{}{}", prs_path(COMMIT), q(0))),
        page(vec![pr7()], 0, None),
    )
    .expect_sent(1)
    .create();
    let builds = ok(
        get(&mut s, &format!("/bitbucket{}{}", builds_path(COMMIT), q(0))),
        page(vec![], 0, None),
    )
    .expect_sent(1)
    .create();
    let r = dc_at(&format!("{}/bitbucket/", s.url())).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    prs.assert();
    builds.assert();
    assert_eq!(
        r.summary()["repository"]["url"],
        format!("{}/bitbucket/projects/PROJ/repos/widget", s.url())
    );

    // A pasted REST URL is taken back to the base.
    let mut s = Server::new();
    let prs = ok(
        get(&mut s, &format!("/bitbucket{}{}", prs_path(COMMIT), q(0))),
        page(vec![], 0, None),
    )
    .expect_sent(1)
    .create();
    let _b = ok(
        get(&mut s, &format!("/bitbucket{}{}", builds_path(COMMIT), q(0))),
        page(vec![], 0, None),
    )
    .create();
    let r = dc_at(&format!("{}/bitbucket/rest/api/1.0", s.url())).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    prs.assert();
}

/// The openapi check itself must be able to fail, or it proves nothing.
#[test]
fn openapi_check_rejects_requests_the_api_does_not_describe() {
    if openapi::spec().is_none() {
        eprintln!("skipped: the Data Center API description is not available (set PR_STATUS_DC_OPENAPI)");
        return;
    }
    let builds_by_repo = format!("/rest/api/latest/projects/{KEY}/repos/{SLUG}/commits/{COMMIT}/builds");
    assert!(openapi::check(&builds_by_repo).unwrap_err().contains("key"));
    assert!(openapi::check(&format!("{builds_by_repo}?key=jenkins")).is_ok());
    assert!(openapi::check(&format!("/rest/api/latest/projects/{KEY}/repos/{SLUG}/pull-request/7")).is_err());
    assert!(openapi::check(&format!("{}?start=x&limit=100", prs_path(COMMIT))).is_err());
    assert!(openapi::check(&format!("{}?page=2", prs_path(COMMIT))).is_err());
    assert!(openapi::check(&format!("/bitbucket{}{}", prs_path(COMMIT), q(0))).is_ok());
}

/// Checks request paths and query strings against the Data Center 9.2 API description: the
/// path is one of its GET operations (under `/rest`, after any context path), every required
/// query parameter is there, every query parameter is declared, and numbers are numbers.
mod openapi {
    use super::*;

    pub fn spec() -> Option<&'static Value> {
        static SPEC: OnceLock<Option<Value>> = OnceLock::new();
        SPEC.get_or_init(|| {
            let path = std::env::var_os("PR_STATUS_DC_OPENAPI")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| {
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("spec/vendor/bitbucket-datacenter-9.2.openapi.json")
                });
            let text = std::fs::read_to_string(path).ok()?;
            Some(serde_json::from_str(&text).expect("the API description is JSON"))
        })
        .as_ref()
    }

    pub fn check(path_and_query: &str) -> Result<(), String> {
        let Some(spec) = spec() else {
            return Ok(());
        };
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        // The description's server is `http://{baseurl}/rest`; anything before is a context path.
        let Some(at) = path.find("/rest/") else {
            return Err(format!("{path} is not under /rest"));
        };
        let api_path = &path[at + "/rest".len()..];
        let segs: Vec<&str> = api_path.split('/').collect();
        let mut best: Option<(usize, &Value)> = None;
        for (template, ops) in spec["paths"].as_object().unwrap() {
            let t: Vec<&str> = template.split('/').collect();
            if t.len() != segs.len() {
                continue;
            }
            let fits = t
                .iter()
                .zip(&segs)
                .all(|(a, b)| (a.starts_with('{') && !b.is_empty()) || a == b);
            let literals = t.iter().filter(|a| !a.starts_with('{')).count();
            if fits && ops.get("get").is_some() && best.is_none_or(|(n, _)| literals > n) {
                best = Some((literals, &ops["get"]));
            }
        }
        let Some((_, op)) = best else {
            return Err(format!("GET {api_path} is not an operation of the API"));
        };
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        for p in params.iter().filter(|p| p["in"] == "query") {
            let name = p["name"].as_str().unwrap();
            let given = pairs.iter().find(|(k, _)| k == name);
            if p["required"] == true && given.is_none() {
                return Err(format!("GET {api_path} needs the query parameter {name}"));
            }
            if let (Some((_, v)), Some("number" | "integer")) = (given, p["schema"]["type"].as_str()) {
                if v.parse::<f64>().is_err() {
                    return Err(format!("GET {api_path}: {name}={v} is not a number"));
                }
            }
        }
        for (k, _) in &pairs {
            if !params.iter().any(|p| p["in"] == "query" && p["name"] == k.as_str()) {
                return Err(format!("GET {api_path} has no query parameter {k}"));
            }
        }
        Ok(())
    }
}

#[test]
fn https_with_an_internal_ca_needs_ssl_cert_file() {
    fn answer(head: &str) -> String {
        if head.contains("/pull-requests") {
            page(vec![pr7()], 0, None)
        } else {
            page(vec![build("ci", "SUCCESSFUL", "https://ci.example/1")], 0, None)
        }
    }
    let server = https_server("127.0.0.1", answer);
    let url = format!("https://localhost:{}", server.port);

    let r = dc_at(&url).run();
    assert_eq!(r.code, 4, "an unknown CA is refused: {}", r.stderr);
    assert!(
        r.stderr.contains("certificate") && r.stderr.contains("SSL_CERT_FILE"),
        "{}",
        r.stderr
    );
    assert_eq!(r.summary()["error"]["kind"], "network");
    let before = server.requests();
    assert_eq!(before, 0, "no request went over the untrusted connection");

    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("internal-ca.pem");
    std::fs::write(&bundle, &server.ca_pem).unwrap();
    let r = dc_at(&url)
        .env("SSL_CERT_FILE", &bundle)
        .env("REQUIRE", "open,builds-passed")
        .run();
    assert_eq!(r.code, 0, "trusted through SSL_CERT_FILE: {}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["id"], 7);
    assert!(server.requests() >= 2);
}

trait StderrLines {
    fn lines_on_stderr(&self) -> usize;
}

impl StderrLines for Ran {
    fn lines_on_stderr(&self) -> usize {
        self.stderr.lines().filter(|l| !l.trim().is_empty()).count()
    }
}
