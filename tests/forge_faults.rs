//! Fault injection for Bitbucket Data Center, GitHub and GitLab over real sockets (Bitbucket
//! Cloud's fuller suite is tests/faults.rs): the same scripted raw server (`tests/common/server.rs`)
//! answering every request of a commit lookup, broken one way at a time. Each case asserts
//! the exit code, the JSON summary, one line on stderr, and the attempts the server saw.

mod common;

use common::*;

/// The forge's variables pointing at `server`, with a token.
fn forge_step(forge: Forge, server: &RawServer) -> Step {
    let mut s = step();
    for (k, v) in forge.vars_with_token(&server.url) {
        s = s.env(k, v);
    }
    s
}

/// A server answering the passing lookup, except `broken` for requests whose path is `path`.
fn serve_broken(forge: Forge, path: Option<String>, broken: Reply) -> RawServer {
    serve(move |req, _| match &path {
        Some(p) if req.path() == p => broken.clone(),
        _ => forge.answer(req.path(), "Fix"),
    })
}

#[test]
fn the_passing_fakes_pass() {
    // The fakes below break one thing each in an otherwise passing lookup: check it passes.
    parallel(Forge::ALL.to_vec(), |forge| {
        let server = serve_broken(forge, None, Reply::Silent);
        let r = forge_step(forge, &server)
            .env("REQUIRE", "open,approved,builds-passed")
            .run();
        assert_eq!(r.code, 0, "{}: {}", forge.name(), r.stderr);
        let pr = &r.summary()["pull_requests"][0];
        assert_eq!(pr["id"], 7, "{}", forge.name());
        assert_eq!(pr["approvals"], 1, "{}", forge.name());
        for path in forge.endpoints() {
            assert_eq!(server.hits(&path), 1, "{}: {path}", forge.name());
        }
    });
}

#[test]
fn always_500_gives_up_after_exactly_four_attempts() {
    parallel(Forge::ALL.to_vec(), |forge| {
        let server = serve(move |_, _| Reply::json(500, forge.error_body("Something went wrong (trace 1234)")));
        let r = forge_step(forge, &server).run();
        assert_clean_failure(&r, 4);
        assert_error_summary(&r, "error", "api");
        let lookup = forge.lookup_path();
        assert_eq!(server.hits(&lookup), 4, "{}: attempts", forge.name());
        let s = r.summary();
        assert_eq!(s["error"]["http_status"], 500, "{}", forge.name());
        let msg = s["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("Something went wrong"),
            "{}: the reason is kept: {msg}",
            forge.name()
        );
        assert!(msg.contains("gave up after 4 attempts"), "{}: {msg}", forge.name());
        assert!(
            msg.starts_with(forge.name()),
            "{}: names the forge: {msg}",
            forge.name()
        );
        // Every request the lookup sent got exactly 4 attempts, and nothing was sent after.
        for req in server.requests() {
            assert_eq!(server.hits(req.path()), 4, "{}: {}", forge.name(), req.path());
        }
        eprintln!("{}: {msg}", forge.name());
    });
}

#[test]
fn malformed_answers_of_every_endpoint_are_one_line_api_errors() {
    let html = "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form></form></body></html>";
    let bodies: Vec<(&str, Reply, &str)> = vec![
        (
            "truncated JSON",
            Reply::json(200, r#"{"values":[{"id":7,"title":"half"#),
            // "EOF while parsing", or a type error first where a list is expected.
            "malformed answer: not the expected JSON (",
        ),
        (
            "an HTML login page",
            Reply::typed(200, "text/html", html),
            "malformed answer: an HTML page instead of JSON",
        ),
        (
            "an empty body",
            Reply::json(200, ""),
            "malformed answer: an empty body instead of JSON",
        ),
        (
            "a JSON string",
            Reply::json(200, r#""maintenance""#),
            "malformed answer: not the expected JSON (invalid type: string",
        ),
    ];
    let mut cases = Vec::new();
    for forge in Forge::ALL {
        for path in forge.endpoints() {
            for (name, reply, want) in &bodies {
                cases.push((forge, path.clone(), *name, reply.clone(), *want));
            }
        }
    }
    parallel(cases, |(forge, path, name, reply, want)| {
        let what = format!("{} {path}: {name}", forge.name());
        let server = serve_broken(forge, Some(path.clone()), reply);
        let r = forge_step(forge, &server).run();
        assert_clean_failure(&r, 4);
        assert_error_summary(&r, "error", "api");
        assert_eq!(server.hits(&path), 1, "{what}: a malformed answer is not retried");
        let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains(want), "{what}: {msg}");
        assert!(
            msg.starts_with(&format!("GET {path} gave")),
            "{what}: names the request: {msg}"
        );
        assert!(msg.len() < 400, "{what}: one short line: {msg}");
    });
}

#[test]
fn wrong_types_and_unknown_states_are_api_errors_naming_what_was_wrong() {
    use serde_json::json;
    let mut cases: Vec<(Forge, String, serde_json::Value, &str)> = Vec::new();
    for forge in Forge::ALL {
        let e = forge.endpoints();
        let mut pr = forge.pr("Fix");
        let (id, state) = match forge {
            Forge::Datacenter => ("id", "MERGING"),
            Forge::Github => ("number", "reopened"),
            Forge::Gitlab => ("iid", "archived"),
        };
        pr[id] = json!("7");
        let wrapped = |pr: serde_json::Value| match forge {
            Forge::Datacenter => json!({"isLastPage": true, "values": [pr]}),
            Forge::Github => json!([pr]),
            Forge::Gitlab => pr,
        };
        let pr_path = if forge == Forge::Gitlab {
            e[1].clone()
        } else {
            e[0].clone()
        };
        cases.push((forge, pr_path.clone(), wrapped(pr), "invalid type: string \"7\""));
        let mut pr = forge.pr("Fix");
        pr["state"] = json!(state);
        cases.push((forge, pr_path, wrapped(pr), state));
    }
    parallel(cases, |(forge, path, body, want)| {
        let what = format!("{} {path}: {want}", forge.name());
        let server = serve_broken(forge, Some(path.clone()), Reply::json(200, body.to_string()));
        let r = forge_step(forge, &server).run();
        assert_clean_failure(&r, 4);
        assert_error_summary(&r, "error", "api");
        let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains(want), "{what}: {msg}");
        eprintln!("{what}: {msg}");
    });
}

#[test]
fn a_connection_reset_mid_body_is_a_network_error_after_four_attempts() {
    let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n".to_vec();
    head.extend_from_slice(br#"[{"id":7,"iid":7,"number":7,"title":"half"#);
    parallel(Forge::ALL.to_vec(), |forge| {
        let lookup = forge.lookup_path();
        let server = serve_broken(forge, Some(lookup.clone()), Reply::ResetAfter(head.clone()));
        let r = forge_step(forge, &server).run();
        assert_clean_failure(&r, 4);
        assert_error_summary(&r, "error", "network");
        assert_eq!(server.hits(&lookup), 4, "{}: attempts", forge.name());
        let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            msg.contains("the connection to 127.0.0.1 broke while its answer was being read"),
            "{}: {msg}",
            forge.name()
        );
        assert!(
            msg.contains(&format!("GET {lookup}")),
            "{}: names the request: {msg}",
            forge.name()
        );
        assert!(msg.contains("gave up after 4 attempts"), "{}: {msg}", forge.name());
    });
}

#[test]
fn connection_refused_is_a_network_error() {
    parallel(Forge::ALL.to_vec(), |forge| {
        let url = format!("http://127.0.0.1:{}", dead_port());
        let mut s = step();
        for (k, v) in forge.vars_with_token(&url) {
            s = s.env(k, v);
        }
        let r = s.run();
        assert_clean_failure(&r, 4);
        assert_error_summary(&r, "error", "network");
        let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains("cannot connect to 127.0.0.1"), "{}: {msg}", forge.name());
        assert!(msg.contains("gave up after 4 attempts"), "{}: {msg}", forge.name());
    });
}
