//! Per-forge cases as data: each folder `tests/cases/<forge>/<case>/` holds the answers a fake
//! forge serves (`case.json`, answer files beside it or recorded ones from `tests/fixtures/`)
//! and the summary the step must write for them (`expected-summary.json`, with the fields that
//! change from run to run removed). One test per forge runs all of its cases against one local
//! server, and, for Bitbucket Cloud and Data Center under `PR_STATUS_CONTRACT=1`, through one
//! Prism proxy checking every request and answer against the vendor's OpenAPI description.
//!
//! `PR_STATUS_BLESS=1 cargo test --test cases` rewrites every `expected-summary.json` from what
//! the step wrote: review the diff before committing it. docs/testing.md describes the format.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use mockito::{Matcher, Mock, Server};
use serde_json::{json, Value};

/// The folder of one forge's cases.
fn cases_of(forge: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(forge);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no case in {}", dir.display());
    cases
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The body of one answer: `body` (inline JSON), `file` (beside case.json) or `fixture` (under
/// tests/fixtures/), then wrapped as `wrap` says: `list` (a JSON array of it), `cloud-page` or
/// `datacenter-page` (its values as one page in that forge's paging shape; for Data Center,
/// `start` and `next` say where the page starts and the next one does, none: the last page).
fn body(case: &Path, answer: &Value) -> String {
    let value = if let Some(b) = answer.get("body") {
        b.clone()
    } else if let Some(f) = answer["file"].as_str() {
        read_json(&case.join(f))
    } else if let Some(f) = answer["fixture"].as_str() {
        read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(f))
    } else {
        panic!("{}: an answer needs body, file or fixture: {answer}", case.display())
    };
    let values = |v: Value| match v {
        Value::Array(a) => a,
        one => vec![one],
    };
    match answer["wrap"].as_str() {
        None => value,
        Some("list") => json!(values(value)),
        Some("cloud-page") => {
            let v = values(value);
            json!({"pagelen": 50, "page": 1, "size": v.len(), "values": v})
        }
        Some("datacenter-page") => {
            let v = values(value);
            let start = answer["start"].as_u64().unwrap_or(0);
            let mut page = json!({"size": v.len(), "limit": 100, "start": start, "isLastPage": true, "values": v});
            if let Some(next) = answer["next"].as_u64() {
                page["isLastPage"] = false.into();
                page["nextPageStart"] = next.into();
            }
            page
        }
        Some(other) => panic!("{}: unknown wrap {other:?}", case.display()),
    }
    .to_string()
}

/// One mock per answer: `method` (GET), `path` exact, `query` (name → value, each must be
/// there; any query when absent), `status` (200), `headers` (name → value).
fn mock(server: &mut Server, case: &Path, answer: &Value) -> Mock {
    let path = answer["path"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: an answer needs a path", case.display()));
    let method = answer["method"].as_str().unwrap_or("GET");
    let query = match answer["query"].as_object() {
        None => Matcher::Any,
        Some(q) => Matcher::AllOf(
            q.iter()
                .map(|(k, v)| Matcher::UrlEncoded(k.clone(), v.as_str().unwrap().into()))
                .collect(),
        ),
    };
    let mut m = server
        .mock(method, path)
        .match_query(query)
        .with_status(answer["status"].as_u64().unwrap_or(200) as usize)
        .with_header("content-type", "application/json");
    for (k, v) in answer["headers"].as_object().into_iter().flatten() {
        m = m.with_header(k.as_str(), v.as_str().unwrap());
    }
    // At least once: a case may ask twice (retries, Prism forwarding a request twice).
    m.with_body(body(case, answer)).expect_at_least(1).create()
}

/// The summary without what changes from run to run: the time it was written, the tool's
/// version, and the address of the local server (and the run's folder) inside any text.
fn stable(mut summary: Value, urls: &[&str], dir: &Path) -> Value {
    let obj = summary.as_object_mut().unwrap();
    obj.remove("generated_at");
    if let Some(tool) = obj.get_mut("tool").and_then(Value::as_object_mut) {
        tool.remove("version");
    }
    let dir = dir.display().to_string();
    fn walk(v: &mut Value, f: &dyn Fn(&str) -> String) {
        match v {
            Value::String(s) => *s = f(s),
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, f)),
            Value::Object(o) => o.values_mut().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    walk(&mut summary, &|s| {
        let mut s = s.replace(&dir, "{dir}");
        for u in urls {
            s = s.replace(u, "{server}");
        }
        s
    });
    summary
}

/// Runs every case of `forge`; `vars` gives the forge's variables for an API base, `api`
/// starts the API in front of the server (Prism in a contract run when the case allows it).
fn run_cases(forge: &str, vars: fn(&str) -> Vec<(&'static str, String)>, api: fn(&Server, bool) -> Option<Api>) {
    let bless = std::env::var("PR_STATUS_BLESS").as_deref() == Ok("1");
    let mut server = Server::new();
    let mut failures = Vec::new();
    // One proxy for every case that goes through it: a proxy takes seconds to start.
    let mut proxy: Option<Option<Api>> = None;
    for case in cases_of(forge) {
        let name = format!("{forge}/{}", case.file_name().unwrap().to_string_lossy());
        let spec = read_json(&case.join("case.json"));
        server.reset();
        let mocks: Vec<Mock> = spec["answers"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: case.json needs answers"))
            .iter()
            .map(|a| mock(&mut server, &case, a))
            .collect();
        let contract = spec["contract"].as_bool().unwrap_or(true);
        let direct;
        let via = if contract {
            proxy.get_or_insert_with(|| api(&server, true)).as_ref()
        } else {
            direct = api(&server, false);
            direct.as_ref()
        };
        let base = via.map(|a| a.url().to_string()).unwrap_or_else(|| server.url());
        let mut s = step();
        for (k, v) in vars(&base) {
            s = s.env(k, v);
        }
        for (k, v) in spec["env"].as_object().into_iter().flatten() {
            s = s.env(k, v.as_str().unwrap().replace("{server}", &base));
        }
        if let Some(event) = spec.get("event") {
            let path = s.path("event.json");
            std::fs::write(&path, event.to_string()).unwrap();
            s = s.env("GITHUB_EVENT_PATH", path);
        }
        let r = s.run();
        let Some(summary) = r.summary.clone() else {
            failures.push(format!("{name}: no summary written (exit {}): {}", r.code, r.stderr));
            continue;
        };
        let got = stable(summary, &[&base, &server.url()], &r.dir);
        if got["exit_code"] != r.code {
            failures.push(format!(
                "{name}: exit {} but the summary says {}",
                r.code, got["exit_code"]
            ));
        }
        for (m, a) in mocks.iter().zip(spec["answers"].as_array().unwrap()) {
            if !m.matched() {
                failures.push(format!("{name}: never asked for {} {}", a["path"], a["query"]));
            }
        }
        let expected = case.join("expected-summary.json");
        if bless {
            std::fs::write(&expected, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
            continue;
        }
        let want = if expected.is_file() {
            read_json(&expected)
        } else {
            Value::Null
        };
        if got != want {
            failures.push(format!(
                "{name}: the summary differs from {} (PR_STATUS_BLESS=1 rewrites it)\n--- want\n{want:#}\n--- got\n{got:#}\nstderr: {}",
                expected.display(),
                r.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn cloud_vars(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("BITBUCKET_API_URL", url.to_string()),
        ("BITBUCKET_WORKSPACE", "acme".into()),
        ("BITBUCKET_REPO_SLUG", "widget".into()),
        ("BITBUCKET_COMMIT", COMMIT.into()),
        ("BITBUCKET_ACCESS_TOKEN", TOKEN.into()),
    ]
}

#[test]
fn bitbucket_cloud() {
    run_cases("bitbucket-cloud", cloud_vars, |s, contract| {
        Some(if contract { Api::cloud(s) } else { Api::cloud_direct(s) })
    });
}

#[test]
fn bitbucket_datacenter() {
    run_cases(
        "bitbucket-datacenter",
        |url| Forge::Datacenter.vars_with_token(url),
        |s, contract| {
            Some(if contract {
                Api::datacenter(s)
            } else {
                Api::datacenter_direct(s)
            })
        },
    );
}

#[test]
fn github() {
    run_cases("github", |url| Forge::Github.vars_with_token(url), |_, _| None);
}

#[test]
fn gitlab() {
    run_cases("gitlab", |url| Forge::Gitlab.vars_with_token(url), |_, _| None);
}
