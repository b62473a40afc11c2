//! Secrets never leave: every failure case of the fault and hostile suites, with and without
//! `DEBUG=true`, under each credential form of every provider (Bitbucket Cloud's four, Data
//! Center's Bearer token and username + password, GitHub's and GitLab's tokens), against a
//! hostile server that echoes the credential header it received (`Authorization` raw and
//! Basic-decoded, GitLab's `PRIVATE-TOKEN`) into its error bodies, its JSON fields, its
//! pagination links and its redirects. stdout, stderr and every file the run wrote are scanned
//! for each secret, its base64 forms and the Basic `user:secret` form.

mod common;

use std::path::Path;

use base64::Engine as _;
use common::*;

const ACCESS_TOKEN: &str = "ATCTT3xFfGN0_acc3ss-T0k3n_5f0e1d2c=AB12CD34";
const EMAIL: &str = "dev@example.com";
const API_TOKEN: &str = "ATATT3xFfGF0_ap1-T0k3n_9a8b7c6d=EF56AB78";
const CLIENT_ID: &str = "cl1ent-id-Q2w3";
const CLIENT_SECRET: &str = "oauthS3cr3t_K9x-2mQ7vLp4Zt8Rw";
/// What the fake token endpoint hands out: a secret the step learns at run time.
const OAUTH_BEARER: &str = "oauth-b34r3r_T0k3n-ZZ9y8x7w=";
const USERNAME: &str = "bob-builder";
const APP_PASSWORD: &str = "ATBBapp_Pa55w0rd-7h6g5f4e3d";
/// Data Center: an HTTP access token, and a login with its password.
const DC_TOKEN: &str = "BBDC-NzY0MjM1OTE1ODg3OkZ1cnRoZXI=Xy9";
const DC_USER: &str = "jenkins.ci";
const DC_PASSWORD: &str = "dcP4ssw0rd_wQ8-zL3mN6=";
const GITHUB_TOKEN: &str = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
const GITLAB_TOKEN: &str = "glpat-Xq8vR2nT5wYz_3bK9mLp";

/// One credential form: its variables and every text that must never appear.
struct CredentialForm {
    name: &'static str,
    vars: Vec<(&'static str, String)>,
    needles: Vec<String>,
    oauth: bool,
}

fn encodings(secret: &str, user: Option<&str>) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut out = vec![secret.to_string()];
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(secret));
        if let Some(u) = user {
            out.push(engine.encode(format!("{u}:{secret}")));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn forms(token_url: &str) -> Vec<CredentialForm> {
    vec![
        CredentialForm {
            name: "access token",
            vars: vec![("BITBUCKET_ACCESS_TOKEN", ACCESS_TOKEN.into())],
            needles: encodings(ACCESS_TOKEN, None),
            oauth: false,
        },
        CredentialForm {
            name: "email + API token",
            vars: vec![
                ("BITBUCKET_EMAIL", EMAIL.into()),
                ("BITBUCKET_API_TOKEN", API_TOKEN.into()),
            ],
            needles: encodings(API_TOKEN, Some(EMAIL)),
            oauth: false,
        },
        CredentialForm {
            name: "OAuth client credentials",
            vars: vec![
                ("BITBUCKET_OAUTH_CLIENT_ID", CLIENT_ID.into()),
                ("BITBUCKET_OAUTH_CLIENT_SECRET", CLIENT_SECRET.into()),
                ("BITBUCKET_OAUTH_TOKEN_URL", token_url.into()),
            ],
            needles: [encodings(CLIENT_SECRET, Some(CLIENT_ID)), encodings(OAUTH_BEARER, None)].concat(),
            oauth: true,
        },
        CredentialForm {
            name: "app password",
            vars: vec![
                ("BITBUCKET_USERNAME", USERNAME.into()),
                ("BITBUCKET_APP_PASSWORD", APP_PASSWORD.into()),
            ],
            needles: encodings(APP_PASSWORD, Some(USERNAME)),
            oauth: false,
        },
    ]
}

/// The credential header a request carried: `Authorization`, or GitLab's `PRIVATE-TOKEN`.
fn credential_header(req: &Request) -> Option<&str> {
    req.header("authorization").or(req.header("private-token"))
}

/// What the hostile server saw, as it would echo it: the header, and Basic decoded.
fn echo(req: &Request) -> String {
    let auth = credential_header(req).unwrap_or("").to_string();
    let decoded = auth
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    format!("{auth} ({decoded})")
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn error_body(req: &Request) -> String {
    format!(
        r#"{{"type":"error","error":{{"message":{},"detail":{}}}}}"#,
        json_str(&format!("denied: you sent Authorization: {}", echo(req))),
        json_str(&echo(req))
    )
}

fn is_token(req: &Request) -> bool {
    req.path().ends_with("/access_token")
}

fn token_ok() -> Reply {
    Reply::json(
        200,
        format!(
            r#"{{"access_token":"{OAUTH_BEARER}","token_type":"bearer","expires_in":7200,"scopes":"pullrequest"}}"#
        ),
    )
}

/// A PR whose every text field is the echo.
fn echoing_pr(req: &Request) -> serde_json::Value {
    let e = echo(req);
    let mut pr = cloud_pr(7, &e);
    pr["author"]["display_name"] = e.clone().into();
    pr["source"]["branch"]["name"] = e.clone().into();
    pr["destination"]["branch"]["name"] = e.clone().into();
    pr["links"]["html"]["href"] = format!("https://bitbucket.org/x?{e}").into();
    pr["participants"][0]["user"]["display_name"] = e.into();
    pr
}

type Script = Box<dyn Fn(&Request, usize, u16) -> Reply + Send + Sync>;

/// One failure (or success) case: extra variables and the server's behaviour for API
/// requests. The token endpoint answers normally unless `token` says otherwise.
struct Case {
    name: &'static str,
    vars: Vec<(&'static str, String)>,
    api: Script,
    token: Option<Script>,
    /// Whether the server is involved at all (config errors: it is not).
    serves: bool,
}

fn case(name: &'static str, api: impl Fn(&Request, usize, u16) -> Reply + Send + Sync + 'static) -> Case {
    Case {
        name,
        vars: Vec::new(),
        api: Box::new(api),
        token: None,
        serves: true,
    }
}

fn cases() -> Vec<Case> {
    let mut all = vec![
        case("401 echoing the header", |r, _, _| Reply::json(401, error_body(r))),
        case("403 echoing the header", |r, _, _| Reply::json(403, error_body(r))),
        case("404 echoing the header", |r, _, _| Reply::json(404, error_body(r))),
        case("400 echoing the header", |r, _, _| Reply::json(400, error_body(r))),
        case("always 500 echoing the header", |r, _, _| {
            Reply::json(500, error_body(r))
        }),
        case("always 429 echoing the header", |r, _, _| {
            Reply::json(429, error_body(r))
        }),
        case("HTML 200 echoing the header", |r, _, _| {
            Reply::typed(
                200,
                "text/html",
                format!("<html><body>Log in, {}</body></html>", echo(r)),
            )
        }),
        case("plain text 200 echoing the header", |r, _, _| {
            Reply::typed(200, "text/plain", echo(r))
        }),
        case("the header as a wrong-typed id", |r, _, _| {
            Reply::json(
                200,
                format!(r#"{{"values":[{{"id":{},"state":"OPEN"}}]}}"#, json_str(&echo(r))),
            )
        }),
        case("the header as an unknown state", |r, _, _| {
            Reply::json(
                200,
                format!(r#"{{"values":[{{"id":7,"state":{}}}]}}"#, json_str(&echo(r))),
            )
        }),
        case("the header as a pagination link elsewhere", |r, _, _| {
            Reply::json(
                200,
                serde_json::json!({"values": [], "next": format!("http://127.0.0.1:1/{}?{}", echo(r), echo(r))})
                    .to_string(),
            )
        }),
        case("the header as a pagination link on the same origin", |r, n, port| {
            if n == 0 {
                let next = format!("http://127.0.0.1:{port}/2.0/leak/{}?t={}", echo(r), echo(r));
                Reply::json(200, serde_json::json!({"values": [], "next": next}).to_string())
            } else {
                Reply::json(500, error_body(r))
            }
        }),
        case("a redirect elsewhere carrying the header", |r, _, _| {
            Reply::json(302, "{}").with_header("Location", &format!("http://127.0.0.1:1/{}", echo(r).replace(' ', "_")))
        }),
        case("a same-origin redirect carrying the header, then HTML", |r, _, _| {
            if r.path().contains("/leak/") {
                Reply::typed(200, "text/html", "<html></html>")
            } else {
                Reply::json(302, "{}").with_header("Location", &format!("/2.0/leak/{}", echo(r).replace(' ', "_")))
            }
        }),
        case("202 indexing echoing the header", |r, _, _| {
            Reply::json(202, error_body(r))
        }),
        case("connection reset after echoing the header", |r, _, _| {
            Reply::ResetAfter(format!("HTTP/1.1 200 OK\r\nContent-Length: 9999\r\n\r\n{}", error_body(r)).into_bytes())
        }),
        case("truncated body echoing the header", |r, _, _| {
            Reply::Raw(format!("HTTP/1.1 500 Oops\r\nContent-Length: 9999\r\n\r\n{}", error_body(r)).into_bytes())
        }),
        case("success with the header in every text field", |r, _, _| {
            if r.path().ends_with("/statuses") {
                let e = echo(r);
                Reply::json(
                    200,
                    serde_json::json!({"values": [{"key": e, "name": e, "state": "FAILED", "url": format!("https://ci/{e}")}]})
                        .to_string(),
                )
            } else {
                Reply::json(200, serde_json::json!({ "values": [echoing_pr(r)] }).to_string())
            }
        }),
        case("never answers", |_, _, _| Reply::Silent),
    ];
    all.last_mut().unwrap().vars.push(("HTTP_TIMEOUT", "1".into()));
    let mut gate = case("gate closed with the header in every text field", |r, _, _| {
        Reply::json(200, serde_json::json!({ "values": [echoing_pr(r)] }).to_string())
    });
    gate.vars.push(("REQUIRE", "merged".into()));
    all.push(gate);
    let mut config = case("configuration error", |_, _, _| Reply::json(200, EMPTY_PAGE));
    config.vars.push(("BITBUCKET_REPO_SLUG", "../x".into()));
    config.serves = false;
    all.push(config);
    let mut unwritable = case("unwritable output", |_, _, _| Reply::json(200, EMPTY_PAGE));
    unwritable
        .vars
        .push(("SUMMARY_DOTENV_FILE", "/proc/pr-status.env".into()));
    unwritable.serves = false;
    all.push(unwritable);
    let mut refused = case("connection refused", |_, _, _| Reply::json(200, EMPTY_PAGE));
    refused
        .vars
        .push(("BITBUCKET_API_URL", format!("http://127.0.0.1:{}/2.0", dead_port())));
    refused.serves = false;
    all.push(refused);
    // The OAuth exchange itself failing, echoing the client's Basic header.
    for (name, status) in [("token endpoint 401 echoing", 401), ("token endpoint 500 echoing", 500)] {
        let mut c = case(name, |_, _, _| Reply::json(200, EMPTY_PAGE));
        c.token = Some(Box::new(move |r, _, _| Reply::json(status, error_body(r))));
        all.push(c);
    }
    let mut c = case("token endpoint answering HTML echoing", |_, _, _| {
        Reply::json(200, EMPTY_PAGE)
    });
    c.token = Some(Box::new(|r, _, _| {
        Reply::typed(200, "text/html", format!("<html>{}</html>", echo(r)))
    }));
    all.push(c);
    let mut c = case("token endpoint answering the header as the token's type", |_, _, _| {
        Reply::json(200, EMPTY_PAGE)
    });
    c.token = Some(Box::new(|r, _, _| {
        Reply::json(200, format!(r#"{{"access_token":{}}}"#, serde_json::json!([echo(r)])))
    }));
    all.push(c);
    all
}

/// Every place the run wrote, with Markdown's backslash escapes undone (a title escaped as
/// `a\_b` still shows the secret `a_b`).
fn outputs(r: &Ran) -> String {
    let all = r.everything();
    format!("{all}\n{}", all.replace('\\', ""))
}

fn scan(what: &str, text: &str, needles: &[String]) {
    for n in needles {
        if let Some(at) = text.find(n.as_str()) {
            let from = text[..at].char_indices().rev().nth(80).map(|(i, _)| i).unwrap_or(0);
            panic!(
                "{what}: secret form {n:?} leaked: …{}…",
                &text[from..(at + n.len()).min(text.len())]
            );
        }
    }
}

#[test]
fn no_secret_leaks_in_any_failure_case_or_form() {
    let cases: Vec<std::sync::Arc<Case>> = cases().into_iter().map(std::sync::Arc::new).collect();
    let mut runs = Vec::new();
    for (ci, _) in cases.iter().enumerate() {
        for fi in 0..4 {
            for debug in [false, true] {
                runs.push((ci, fi, debug));
            }
        }
    }
    let total = runs.len();
    let echoed = std::sync::atomic::AtomicUsize::new(0);
    let cases = &cases;
    let started = std::time::Instant::now();
    parallel(runs, |(ci, fi, debug)| {
        let c = cases[ci].clone();
        let port = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
        let (p, script) = (port.clone(), c.clone());
        let server = serve(move |req, n| {
            let port = *p.get().unwrap();
            match (&script.token, is_token(req)) {
                (Some(t), true) => t(req, n, port),
                (None, true) => token_ok(),
                _ => (script.api)(req, n, port),
            }
        });
        port.set(server.port).unwrap();
        let form = &forms(&format!("{}/site/oauth2/access_token", server.url))[fi];
        let mut s = step().cloud(&server.url).env("BITBUCKET_ACCESS_TOKEN", "");
        let (md, env, out, sum) = (s.path("pr.md"), s.path("pr.env"), s.path("gh-out"), s.path("gh-sum"));
        s = s
            .env("DEBUG", if debug { "true" } else { "false" })
            .env("GITHUB_ACTIONS", "true")
            .env("SUMMARY_MARKDOWN_FILE", md)
            .env("SUMMARY_DOTENV_FILE", env)
            .env("GITHUB_OUTPUT", out)
            .env("GITHUB_STEP_SUMMARY", sum)
            .env("INDEX_WAIT", "1");
        for (k, v) in form.vars.iter().chain(&c.vars) {
            s = s.env(k, v);
        }
        let r = s.run();
        let what = format!("{} / {} / DEBUG={debug} (exit {})", c.name, form.name, r.code);
        assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
        assert!([0, 1, 2, 3, 4, 8].contains(&r.code), "{what}: {}", r.stderr);
        if c.serves && (c.token.is_none() || form.oauth) {
            let saw = server.requests().iter().any(|q| credential_header(q).is_some());
            assert!(
                saw,
                "{what}: the server never saw the credentials, so the case proves nothing"
            );
            echoed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        scan(&what, &outputs(&r), &form.needles);
        if debug {
            assert!(
                r.stderr.contains("pr-status: debug:") || !c.serves,
                "{what}: DEBUG printed nothing"
            );
        }
    });
    eprintln!(
        "{total} runs, {} against a server that saw the credentials, in {:?}",
        echoed.into_inner(),
        started.elapsed()
    );
}

// ---- Bitbucket Data Center, GitHub and GitLab ----

/// The credential forms of the other providers: which forge, its variables, and every text
/// that must never appear.
fn forge_forms() -> Vec<(Forge, CredentialForm)> {
    let form = |name, vars: Vec<(&'static str, &str)>, needles| CredentialForm {
        name,
        vars: vars.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
        needles,
        oauth: false,
    };
    vec![
        (
            Forge::Datacenter,
            form(
                "Data Center HTTP access token (Bearer)",
                vec![("BITBUCKET_ACCESS_TOKEN", DC_TOKEN)],
                encodings(DC_TOKEN, None),
            ),
        ),
        (
            Forge::Datacenter,
            form(
                "Data Center username + password (Basic)",
                vec![("BITBUCKET_USERNAME", DC_USER), ("BITBUCKET_PASSWORD", DC_PASSWORD)],
                encodings(DC_PASSWORD, Some(DC_USER)),
            ),
        ),
        (
            Forge::Github,
            form(
                "GITHUB_TOKEN",
                vec![("GITHUB_TOKEN", GITHUB_TOKEN)],
                encodings(GITHUB_TOKEN, None),
            ),
        ),
        (
            Forge::Gitlab,
            form(
                "GITLAB_TOKEN (PRIVATE-TOKEN)",
                vec![("GITLAB_TOKEN", GITLAB_TOKEN)],
                encodings(GITLAB_TOKEN, None),
            ),
        ),
    ]
}

/// The forge's error answer carrying what it received.
fn forge_error(forge: Forge, req: &Request) -> String {
    forge.error_body(&format!("denied: you sent {} ({})", echo(req), echo(req)))
}

/// The failure cases of a forge; `forge.answer` is its passing lookup, every text the echo.
fn forge_cases(forge: Forge) -> Vec<Case> {
    let lookup = forge.lookup_path();
    let first = move |r: &Request| r.path() == lookup;
    let f = forge;
    let (id, state) = match forge {
        Forge::Datacenter => ("id", "state"),
        Forge::Github => ("number", "state"),
        Forge::Gitlab => ("iid", "state"),
    };
    // The lookup's answer (DC: the page, GitHub: the list) or GitLab's merge request, with
    // `member` of the pull request set to the echo.
    let with_member = move |r: &Request, member: &'static str| -> Option<Reply> {
        let e = forge.endpoints();
        let target = if forge == Forge::Gitlab { &e[1] } else { &e[0] };
        if r.path() != target {
            return None;
        }
        let mut pr = forge.pr("Fix");
        pr[member] = echo(r).into();
        let body = match forge {
            Forge::Datacenter => serde_json::json!({"isLastPage": true, "values": [pr]}),
            Forge::Github => serde_json::json!([pr]),
            Forge::Gitlab => pr,
        };
        Some(Reply::json(200, body.to_string()))
    };
    let first2 = first.clone();
    let first3 = first.clone();
    let first4 = first.clone();
    let first5 = first.clone();
    let first6 = first.clone();
    let mut all = vec![
        case("401 echoing the header", move |r, _, _| {
            Reply::json(401, forge_error(f, r))
        }),
        case(
            "401 'Basic authentication is disabled' echoing the header",
            move |r, _, _| {
                Reply::json(
                    401,
                    f.error_body(&format!("Basic authentication is disabled. You sent {}", echo(r))),
                )
            },
        ),
        case("403 echoing the header", move |r, _, _| {
            Reply::json(403, forge_error(f, r))
        }),
        case("403 rate limit exhausted echoing the header", move |r, _, _| {
            Reply::json(403, forge_error(f, r))
                .with_header("x-ratelimit-remaining", "0")
                .with_header("x-ratelimit-reset", "4102444800")
        }),
        case("404 echoing the header", move |r, _, _| {
            Reply::json(404, forge_error(f, r))
        }),
        case("422 echoing the header", move |r, _, _| {
            Reply::json(422, forge_error(f, r))
        }),
        case("always 500 echoing the header (retried)", move |r, _, _| {
            Reply::json(500, forge_error(f, r))
        }),
        case("always 429 echoing the header", move |r, _, _| {
            Reply::json(429, forge_error(f, r))
        }),
        case("HTML 200 echoing the header", move |r, _, _| {
            Reply::typed(
                200,
                "text/html",
                format!("<html><body>Sign in, {}</body></html>", echo(r)),
            )
        }),
        case("truncated JSON echoing the header", move |r, _, _| {
            Reply::json(200, format!(r#"{{"values":[{{"id":7,"title":{}"#, json_str(&echo(r))))
        }),
        case("the header as a wrong-typed id", move |r, _, _| {
            with_member(r, id).unwrap_or_else(|| f.answer(r.path(), "Fix"))
        }),
        case("the header as an unknown state", move |r, _, _| {
            with_member(r, state).unwrap_or_else(|| f.answer(r.path(), "Fix"))
        }),
        case("success with the header in every text field", move |r, _, _| {
            f.answer(r.path(), &echo(r))
        }),
        case(
            "the header as the next page (DC: nextPageStart; else a Link elsewhere)",
            move |r, _, _| {
                if !first2(r) {
                    return f.answer(r.path(), "Fix");
                }
                match f {
                    Forge::Datacenter => Reply::json(
                        200,
                        serde_json::json!({"isLastPage": false, "nextPageStart": echo(r), "values": []}).to_string(),
                    ),
                    _ => Reply::json(200, "[]").with_header(
                        "Link",
                        &format!(
                            "<http://127.0.0.1:1/{}?t={}>; rel=\"next\"",
                            echo(r).replace(' ', "_"),
                            echo(r).replace(' ', "_")
                        ),
                    ),
                }
            },
        ),
        case(
            "a same-origin next page carrying the header, then 500",
            move |r, n, port| {
                if r.path().contains("/leak/") {
                    return Reply::json(500, forge_error(f, r));
                }
                if !first3(r) || n > 0 {
                    return f.answer(r.path(), "Fix");
                }
                let next = format!(
                    "http://127.0.0.1:{port}/leak/{}?t={}",
                    echo(r).replace(' ', "_"),
                    echo(r).replace(' ', "_")
                );
                match f {
                    Forge::Datacenter => Reply::json(
                        200,
                        serde_json::json!({"isLastPage": false, "nextPageStart": 1, "values": []}).to_string(),
                    ),
                    _ => Reply::json(200, "[]").with_header("Link", &format!("<{next}>; rel=\"next\"")),
                }
            },
        ),
        case("a redirect elsewhere carrying the header", move |r, _, _| {
            if !first4(r) {
                return f.answer(r.path(), "Fix");
            }
            Reply::json(302, "{}").with_header("Location", &format!("http://127.0.0.1:1/{}", echo(r).replace(' ', "_")))
        }),
        case("connection reset after echoing the header", move |r, _, _| {
            if !first5(r) {
                return f.answer(r.path(), "Fix");
            }
            Reply::ResetAfter(
                format!("HTTP/1.1 200 OK\r\nContent-Length: 9999\r\n\r\n{}", forge_error(f, r)).into_bytes(),
            )
        }),
        case("truncated body echoing the header", move |r, _, _| {
            if !first6(r) {
                return f.answer(r.path(), "Fix");
            }
            Reply::Raw(format!("HTTP/1.1 500 Oops\r\nContent-Length: 9999\r\n\r\n{}", forge_error(f, r)).into_bytes())
        }),
        case("never answers", |_, _, _| Reply::Silent),
    ];
    all.last_mut().unwrap().vars.push(("HTTP_TIMEOUT", "1".into()));
    let mut gate = case("gate closed with the header in every text field", move |r, _, _| {
        f.answer(r.path(), &echo(r))
    });
    gate.vars.push(("REQUIRE", "merged".into()));
    all.push(gate);
    let mut config = case("configuration error", move |r, _, _| f.answer(r.path(), "Fix"));
    config.vars.push((forge.path_var(), "../x".into()));
    config.serves = false;
    all.push(config);
    let mut unwritable = case("unwritable output", move |r, _, _| f.answer(r.path(), "Fix"));
    unwritable
        .vars
        .push(("SUMMARY_DOTENV_FILE", "/proc/pr-status.env".into()));
    unwritable.serves = false;
    all.push(unwritable);
    let mut refused = case("connection refused", move |r, _, _| f.answer(r.path(), "Fix"));
    // The forge's variables again, its API URL now a port nothing listens on.
    refused
        .vars
        .extend(forge.vars(&format!("http://127.0.0.1:{}", dead_port())));
    refused.serves = false;
    all.push(refused);
    all
}

#[test]
fn no_secret_leaks_from_datacenter_github_or_gitlab() {
    let mut runs = Vec::new();
    for (fi, (forge, _)) in forge_forms().iter().enumerate() {
        for ci in 0..forge_cases(*forge).len() {
            for debug in [false, true] {
                runs.push((fi, ci, debug));
            }
        }
    }
    let total = runs.len();
    let echoed = std::sync::atomic::AtomicUsize::new(0);
    let started = std::time::Instant::now();
    parallel(runs, |(fi, ci, debug)| {
        let (forge, form) = forge_forms().remove(fi);
        let c = std::sync::Arc::new(forge_cases(forge).remove(ci));
        let port = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
        let (p, script) = (port.clone(), c.clone());
        let server = serve(move |req, n| (script.api)(req, n, *p.get().unwrap()));
        port.set(server.port).unwrap();
        let mut s = step();
        let provider = match forge {
            Forge::Datacenter => "bitbucket-datacenter",
            Forge::Github => "github",
            Forge::Gitlab => "gitlab",
        };
        let (md, env, out, sum) = (s.path("pr.md"), s.path("pr.env"), s.path("gh-out"), s.path("gh-sum"));
        s = s
            .env("PROVIDER", provider)
            .env("DEBUG", if debug { "true" } else { "false" })
            .env("GITHUB_ACTIONS", "true")
            .env("SUMMARY_MARKDOWN_FILE", md)
            .env("SUMMARY_DOTENV_FILE", env)
            .env("GITHUB_OUTPUT", out)
            .env("GITHUB_STEP_SUMMARY", sum);
        for (k, v) in forge.vars(&server.url).iter().chain(&form.vars).chain(&c.vars) {
            s = s.env(k, v);
        }
        let r = s.run();
        let what = format!("{} / {} / DEBUG={debug} (exit {})", c.name, form.name, r.code);
        assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
        assert!([0, 1, 2, 3, 4, 8].contains(&r.code), "{what}: {}", r.stderr);
        if c.serves {
            let saw = server.requests().iter().any(|q| credential_header(q).is_some());
            assert!(
                saw,
                "{what}: the server never saw the credentials, so the case proves nothing"
            );
            echoed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        scan(&what, &outputs(&r), &form.needles);
        if debug {
            assert!(
                r.stderr.contains("pr-status: debug:") || !c.serves,
                "{what}: DEBUG printed nothing"
            );
        }
    });
    eprintln!(
        "{total} runs, {} against a server that saw the credentials, in {:?}",
        echoed.into_inner(),
        started.elapsed()
    );
}

#[test]
fn the_scan_finds_a_leak_when_there_is_one() {
    // The scan itself must be able to fail: a Markdown-escaped or base64 secret is found.
    let needles = encodings(API_TOKEN, Some(EMAIL));
    let escaped = API_TOKEN.replace('_', "\\_");
    let text = format!("x {escaped} y");
    let found = std::panic::catch_unwind(|| scan("t", &format!("{text}\n{}", text.replace('\\', "")), &needles));
    assert!(found.is_err());
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{API_TOKEN}"));
    assert!(std::panic::catch_unwind(|| scan("t", &b64, &needles)).is_err());
}

#[test]
fn debug_formatting_of_configuration_and_provider_hides_secrets() {
    use pr_status::config::Vars;
    use pr_status::provider::bitbucket_cloud::BitbucketCloud;
    for form in forms("https://bitbucket.org/site/oauth2/access_token") {
        let mut pairs: Vec<(String, String)> = vec![
            ("BITBUCKET_WORKSPACE".into(), "acme".into()),
            ("BITBUCKET_REPO_SLUG".into(), "widget".into()),
            ("BITBUCKET_COMMIT".into(), COMMIT.into()),
        ];
        pairs.extend(form.vars.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let vars = Vars::from_pairs(pairs);
        let cfg = pr_status::provider::registry::configure(vars.clone(), false).unwrap();
        let provider = BitbucketCloud::from_config(&cfg).unwrap();
        let text = format!("{vars:?}\n{vars:#?}\n{cfg:?}\n{cfg:#?}\n{provider:?}\n{provider:#?}");
        scan(&format!("Debug of {}", form.name), &text, &form.needles);
        assert!(
            text.contains("BITBUCKET_WORKSPACE"),
            "Debug still shows which variables are set"
        );
    }
    for (forge, form) in forge_forms() {
        let mut pairs: Vec<(String, String)> = forge
            .vars("https://forge.example.com")
            .into_iter()
            .chain(form.vars.iter().cloned())
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        pairs.push(("DEBUG".into(), "true".into()));
        let cfg = pr_status::provider::registry::configure(Vars::from_pairs(pairs), false).unwrap();
        let provider = match forge {
            Forge::Datacenter => {
                let p = pr_status::provider::bitbucket_datacenter::BitbucketDatacenter::from_config(&cfg).unwrap();
                format!("{p:?}\n{p:#?}")
            }
            Forge::Github => {
                let p = pr_status::provider::github::Github::from_config(&cfg).unwrap();
                format!("{p:?}\n{p:#?}")
            }
            Forge::Gitlab => {
                let p = pr_status::provider::gitlab::Gitlab::from_config(&cfg).unwrap();
                format!("{p:?}\n{p:#?}")
            }
        };
        let text = format!("{cfg:?}\n{cfg:#?}\n{provider}");
        scan(&format!("Debug of {}", form.name), &text, &form.needles);
        assert!(
            text.contains(form.vars[0].0),
            "Debug still shows which variables are set"
        );
    }
}

#[test]
fn a_killed_run_leaves_no_secret_on_disk() {
    // Nothing is written before the run ends; after SIGKILL the folder holds only what was
    // there before.
    let dir = tempfile::tempdir().unwrap();
    let server = cloud_index(|_, _| Reply::Silent);
    let envs = vec![
        ("BITBUCKET_API_URL", format!("{}/2.0", server.url)),
        ("BITBUCKET_WORKSPACE", "acme".to_string()),
        ("BITBUCKET_REPO_SLUG", "widget".to_string()),
        ("BITBUCKET_COMMIT", COMMIT.to_string()),
        ("BITBUCKET_ACCESS_TOKEN", ACCESS_TOKEN.to_string()),
        ("DEBUG", "true".to_string()),
        ("SUMMARY_FILE", dir.path().join("s.json").display().to_string()),
    ];
    let mut child = child_command(dir.path(), &envs).spawn().unwrap();
    let started = std::time::Instant::now();
    while server.hits(&index_path()) == 0 && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    for e in walk(dir.path()) {
        text.push_str(&std::fs::read_to_string(e).unwrap_or_default());
    }
    scan("killed run", &text, &encodings(ACCESS_TOKEN, None));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
