//! Property: across all four forges, generated answers (complete, truncated, duplicated,
//! malformed, missing) never make the gate pass when the generated truth has an unmet or
//! unknown condition, and a known truth gives exactly its verdict. Each case runs the real
//! binary against a scripted server over a real socket, so the default case count is small
//! (`PROPTEST_CASES` raises it).

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::{json, Value};

use common::{serve, Forge, Reply};
use common::{step, COMMIT};

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Successful,
    Failed,
    Running,
    Stopped,
}

/// How the build list of the PR's head is answered.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Complete,
    /// The PR is listed twice; the builds are complete.
    Duplicated,
    /// Fewer items than the forge announced (Data Center: "not the last page" with no next).
    Truncated,
    /// The list's member is missing.
    Missing,
    /// The list is not an array.
    NotArray,
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Where {
    Cloud,
    Other(Forge),
}

fn forge() -> impl Strategy<Value = Where> {
    prop_oneof![
        Just(Where::Cloud),
        Just(Where::Other(Forge::Datacenter)),
        Just(Where::Other(Forge::Github)),
        Just(Where::Other(Forge::Gitlab)),
    ]
}

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        4 => Just(State::Successful),
        1 => Just(State::Failed),
        1 => Just(State::Running),
        1 => Just(State::Stopped),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        3 => Just(Shape::Complete),
        1 => Just(Shape::Duplicated),
        1 => Just(Shape::Truncated),
        1 => Just(Shape::Missing),
        1 => Just(Shape::NotArray),
        1 => Just(Shape::NotFound),
    ]
}

/// The verdict the generated truth calls for with `REQUIRE=builds-passed`.
fn truth(states: &[State], shape: Shape) -> &'static str {
    if !matches!(shape, Shape::Complete | Shape::Duplicated) {
        return "error";
    }
    if states.iter().any(|s| matches!(s, State::Failed | State::Stopped)) {
        "fail"
    } else if states.contains(&State::Running) {
        "pending"
    } else {
        "pass"
    }
}

/// One build in `forge`'s shape.
fn build(w: Where, i: usize, s: State) -> Value {
    let name = format!("build-{i}");
    match w {
        Where::Cloud | Where::Other(Forge::Datacenter) => {
            let state = match s {
                State::Successful => "SUCCESSFUL",
                State::Failed => "FAILED",
                State::Running => "INPROGRESS",
                State::Stopped => "STOPPED",
            };
            json!({"key": name, "name": name, "state": state, "url": format!("https://ci.example/{i}")})
        }
        Where::Other(Forge::Github) => {
            let (status, conclusion) = match s {
                State::Successful => ("completed", json!("success")),
                State::Failed => ("completed", json!("failure")),
                State::Running => ("in_progress", Value::Null),
                State::Stopped => ("completed", json!("cancelled")),
            };
            json!({"id": i, "name": name, "status": status, "conclusion": conclusion})
        }
        Where::Other(Forge::Gitlab) => {
            let status = match s {
                State::Successful => "success",
                State::Failed => "failed",
                State::Running => "running",
                State::Stopped => "canceled",
            };
            json!({"id": 100 + i, "name": name, "status": status, "pipeline_id": 499, "allow_failure": false})
        }
    }
}

/// The build list answer for the generated truth.
fn build_list(w: Where, states: &[State], shape: Shape) -> Reply {
    let items: Vec<Value> = states.iter().enumerate().map(|(i, s)| build(w, i, *s)).collect();
    let n = items.len();
    let announced = if shape == Shape::Truncated { n + 1 } else { n };
    let not_found = |body: &str| Reply::json(404, body.to_string());
    match w {
        Where::Cloud => match shape {
            Shape::NotFound => not_found(r#"{"type":"error","error":{"message":"Commit not found"}}"#),
            Shape::Missing => Reply::json(200, json!({"size": announced, "pagelen": 100}).to_string()),
            Shape::NotArray => Reply::json(200, json!({"values": {"0": items}}).to_string()),
            _ => Reply::json(
                200,
                json!({"size": announced, "pagelen": 100, "values": items}).to_string(),
            ),
        },
        Where::Other(Forge::Datacenter) => match shape {
            Shape::NotFound => not_found(&Forge::Datacenter.error_body("Not found")),
            Shape::Missing => Reply::json(200, json!({"isLastPage": true, "size": n}).to_string()),
            Shape::NotArray => Reply::json(200, json!({"isLastPage": true, "values": "none"}).to_string()),
            Shape::Truncated => Reply::json(200, json!({"isLastPage": false, "values": items}).to_string()),
            _ => Reply::json(
                200,
                json!({"isLastPage": true, "size": n, "start": 0, "limit": 100, "values": items}).to_string(),
            ),
        },
        Where::Other(Forge::Github) => match shape {
            Shape::NotFound => not_found(&Forge::Github.error_body("Not Found")),
            Shape::Missing => Reply::json(200, json!({"total_count": announced}).to_string()),
            Shape::NotArray => Reply::json(200, json!({"total_count": n, "check_runs": {}}).to_string()),
            _ => Reply::json(200, json!({"total_count": announced, "check_runs": items}).to_string()),
        },
        Where::Other(Forge::Gitlab) => match shape {
            Shape::NotFound => not_found(&Forge::Gitlab.error_body("404 Commit Not Found")),
            Shape::Missing => Reply::json(200, "{}"),
            Shape::NotArray => Reply::json(200, json!({"statuses": items}).to_string()),
            _ => Reply::json(200, json!(items).to_string()).with_header("x-total", &announced.to_string()),
        },
    }
}

/// Runs one generated case and returns the verdict (`outcome` of the summary).
fn verdict(w: Where, states: Vec<State>, shape: Shape) -> (String, String) {
    let list = build_list(w, &states, shape);
    let server = match w {
        Where::Cloud => serve(move |req, _| {
            if req.path().ends_with("/statuses") {
                list.clone()
            } else {
                let pr = common::cloud_pr(7, "Fix");
                let prs = if shape == Shape::Duplicated {
                    vec![pr.clone(), pr]
                } else {
                    vec![pr]
                };
                Reply::json(200, json!({"pagelen": 50, "values": prs}).to_string())
            }
        }),
        Where::Other(f) => serve(move |req, _| {
            let e = f.endpoints();
            let path = req.path();
            let builds_path = match f {
                Forge::Datacenter => &e[1],
                Forge::Github => &e[2],
                Forge::Gitlab => &e[4],
            };
            if path == builds_path {
                return list.clone();
            }
            if path == e[0] && shape == Shape::Duplicated {
                let listed = match f {
                    Forge::Datacenter => {
                        json!({"isLastPage": true, "size": 2, "values": [f.pr("Fix"), f.pr("Fix")]})
                    }
                    Forge::Github => json!([f.pr("Fix"), f.pr("Fix")]),
                    Forge::Gitlab => json!([
                        {"iid": 7, "sha": COMMIT, "source_branch": "Fix"},
                        {"iid": 7, "sha": COMMIT, "source_branch": "Fix"}
                    ]),
                };
                return Reply::json(200, listed.to_string());
            }
            if f == Forge::Github && path == e[3] {
                return Reply::json(200, r#"{"state":"success","total_count":0,"statuses":[]}"#);
            }
            f.answer(path, "Fix")
        }),
    };
    let mut s = step().env("REQUIRE", "builds-passed");
    s = match w {
        Where::Cloud => s.cloud(&server.url),
        Where::Other(f) => {
            for (k, v) in f.vars_with_token(&server.url) {
                s = s.env(k, v);
            }
            s
        }
    };
    let r = s.run();
    let outcome = r.summary()["outcome"].as_str().unwrap_or("").to_string();
    (outcome, format!("exit {}: {}{}", r.code, r.stdout, r.stderr))
}

#[test]
fn the_gate_never_passes_on_an_unmet_or_unknown_build_list() {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 128;
    }
    config.failure_persistence = None;
    let mut runner = TestRunner::new(config);
    let cases = (forge(), proptest::collection::vec(state(), 0..5), shape());
    runner
        .run(&cases, |(w, states, shape)| {
            let expected = truth(&states, shape);
            let (got, log) = verdict(w, states.clone(), shape);
            if expected != "pass" && got == "pass" {
                return Err(TestCaseError::fail(format!(
                    "{w:?} {states:?} {shape:?}: passed, the truth is {expected}\n{log}"
                )));
            }
            prop_assert_eq!(got.as_str(), expected, "{:?} {:?} {:?}\n{}", w, states, shape, log);
            Ok(())
        })
        .unwrap();
}
