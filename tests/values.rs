//! Values of variables (issue 9, points 11 and 12), run through the real binary:
//!
//! - a URL variable that fails to parse, of any provider, is never echoed with its userinfo:
//!   not on stderr, not in the JSON, dotenv or Markdown summary, not in the GitHub `::error`
//!   annotation or step outputs;
//! - a value with bytes that are not UTF-8 (real bytes in the environment, through
//!   `OsStrExt`) is refused with exit 2 naming the variable, before any request, and an error
//!   summary lands at the exact path the user named;
//! - blanks at the ends of a secret are removed (with a DEBUG note), never sent.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use common::*;

/// A password distinctive enough to search every output for.
const PASSWORD: &str = "hunter2-Url-Pw-61";

/// Broken URL values, each with `PASSWORD` in its userinfo.
fn broken_urls() -> Vec<String> {
    [
        "https://user:{pw}@api.example.com:99999/2.0",
        "https://user:{pw}@ho st.example.com/",
        "https://user:{pw}@[::1/",
        "https:/user:{pw}@api.example.com:99999",
        "https:\\\\user:{pw}@api.example.com:99999",
        "https://user:a#{pw}@api.example.com:99999",
        "ftp://user:{pw}@api.example.com/",
        "http://user:{pw}@api.example.com/",
        "user:{pw}@api.example.com",
    ]
    .iter()
    .map(|t| t.replace("{pw}", PASSWORD))
    .collect()
}

/// A run that writes every output there is: JSON, Markdown, dotenv, GitHub outputs, step
/// summary and annotation (`GITHUB_ACTIONS=true`, the provider chosen by `PROVIDER`).
fn everything_step() -> Step {
    let s = step();
    let (md, env, out, sum) = (
        s.path("summary.md"),
        s.path("summary.env"),
        s.path("github_output"),
        s.path("step_summary.md"),
    );
    s.env("GITHUB_ACTIONS", "true")
        .env("SUMMARY_MARKDOWN_FILE", md)
        .env("SUMMARY_DOTENV_FILE", env)
        .env("GITHUB_OUTPUT", out)
        .env("GITHUB_STEP_SUMMARY", sum)
}

#[test]
fn a_url_that_fails_to_parse_is_never_echoed_with_its_userinfo() {
    // (provider, the URL variable, the other variables of a complete configuration)
    let cloud = |var: &'static str| {
        let mut v = vec![
            ("PROVIDER", "bitbucket-cloud".to_string()),
            ("BITBUCKET_WORKSPACE", "acme".into()),
            ("BITBUCKET_REPO_SLUG", "widget".into()),
            ("BITBUCKET_COMMIT", COMMIT.into()),
        ];
        if var == "BITBUCKET_OAUTH_TOKEN_URL" {
            v.push(("BITBUCKET_OAUTH_CLIENT_ID", "client-id".into()));
            v.push(("BITBUCKET_OAUTH_CLIENT_SECRET", TOKEN.into()));
        } else {
            v.push(("BITBUCKET_ACCESS_TOKEN", TOKEN.into()));
        }
        v
    };
    let forge = |f: Forge, provider: &'static str| {
        let mut v = f.vars_with_token("https://placeholder.example");
        v.push(("PROVIDER", provider.to_string()));
        v
    };
    let variables: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("BITBUCKET_API_URL", cloud("BITBUCKET_API_URL")),
        ("BITBUCKET_OAUTH_TOKEN_URL", cloud("BITBUCKET_OAUTH_TOKEN_URL")),
        ("BITBUCKET_SERVER_URL", forge(Forge::Datacenter, "bitbucket-datacenter")),
        ("GITHUB_API_URL", forge(Forge::Github, "github")),
        ("CI_API_V4_URL", forge(Forge::Gitlab, "gitlab")),
    ];
    let mut cases = Vec::new();
    for (variable, base) in &variables {
        for url in broken_urls() {
            cases.push((*variable, base.clone(), url));
        }
    }
    parallel(cases, |(variable, base, url)| {
        let mut s = everything_step();
        for (k, v) in &base {
            s = s.env(k, v);
        }
        let r = s.env(variable, &url).run();
        let case = format!("{variable}={url}");
        assert_eq!(r.code, 2, "{case}: {}", r.stderr);
        assert!(r.stderr.contains(variable), "{case}: {}", r.stderr);
        let message = r.summary()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(variable), "{case}: {message}");
        assert!(
            r.stdout.contains("::error"),
            "{case}: the annotation is written: {}",
            r.stdout
        );
        let all = r.everything();
        assert!(!all.contains(PASSWORD), "{case}: the password was echoed:\n{all}");
        assert!(
            !all.contains("Url-Pw"),
            "{case}: part of the password was echoed:\n{all}"
        );
    });
}

#[test]
fn web_links_from_url_variables_lose_their_userinfo() {
    for (forge, provider, variable, value) in [
        (
            Forge::Github,
            "github",
            "GITHUB_SERVER_URL",
            format!("https://user:{PASSWORD}@github.example"),
        ),
        (
            Forge::Gitlab,
            "gitlab",
            "CI_PROJECT_URL",
            format!("https://user:{PASSWORD}@gitlab.example/group/sub/widget"),
        ),
    ] {
        let server = serve(move |req, _| forge.answer(req.path(), "Fix"));
        let mut s = everything_step().env("PROVIDER", provider).env(variable, &value);
        for (k, v) in forge.vars_with_token(&server.url) {
            s = s.env(k, v);
        }
        let r = s.run();
        assert_eq!(r.code, 0, "{variable}: {}", r.stderr);
        let all = r.everything();
        assert!(!all.contains(PASSWORD), "{variable}: the password was written:\n{all}");
        assert!(
            all.contains("[redacted]@"),
            "{variable}: the link is kept, its userinfo hidden"
        );
    }
}

// ---- bytes that are not UTF-8 ----

#[test]
fn a_value_that_is_not_utf8_is_refused_naming_its_variable() {
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("x")));
    let cases: [(&str, &[u8]); 6] = [
        ("BITBUCKET_ACCESS_TOKEN", b"tok-SECRET-\xff\xfe-5f0e"),
        ("BITBUCKET_WORKSPACE", b"acm\xe9"),
        ("REQUIRE", b"open,approved\xa0"),
        ("DESTINATION_BRANCH", b"ma\xefn"),
        ("HTTPS_PROXY", b"http://pr\xf6xy.corp:3128"),
        ("NO_PROXY", b"caf\xe9.example"),
    ];
    for (variable, bytes) in cases {
        let r = step().cloud(&server.url).env(variable, OsStr::from_bytes(bytes)).run();
        assert_clean_failure(&r, 2);
        assert_error_summary(&r, "error", "config");
        let msg = r.summary()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains(variable) && msg.contains("UTF-8"), "{variable}: {msg}");
        assert!(
            !r.stderr.contains('\u{fffd}'),
            "{variable}: the value is never shown converted"
        );
    }
    assert_eq!(server.connections(), 0, "nothing was sent");
}

#[test]
fn a_summary_path_that_is_not_utf8_gets_the_error_at_that_exact_path() {
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("x")));
    let s = step().cloud(&server.url);
    let dir = s.dir.path().to_path_buf();
    let mut name = dir.as_os_str().as_bytes().to_vec();
    name.extend_from_slice(b"/r\xe9sum\xe9.json");
    let exact = std::path::PathBuf::from(OsStr::from_bytes(&name));
    let r = s.env("SUMMARY_FILE", exact.as_os_str()).run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("SUMMARY_FILE") && r.stderr.contains("UTF-8"),
        "{}",
        r.stderr
    );
    let text = std::fs::read_to_string(&exact).expect("the summary is at the exact path named");
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(summary["outcome"], "error");
    assert_eq!(summary["error"]["kind"], "config");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(files, vec![exact.file_name().unwrap().to_owned()], "no look-alike file");
    assert_eq!(server.connections(), 0, "nothing was sent");
}

#[test]
fn a_variable_pr_status_does_not_read_may_hold_any_bytes() {
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("left alone")));
    let r = step()
        .cloud(&server.url)
        .env("LEGACY_NOTE", OsStr::from_bytes(b"caf\xe9"))
        .env("OLDPWD", OsStr::from_bytes(b"/home/jos\xe9"))
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["title"], "left alone");
}

// ---- blanks around secrets ----

#[test]
fn blanks_around_a_secret_are_removed_never_sent() {
    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("me@example.com:{TOKEN}"))
    );
    let cases: Vec<(Vec<(&str, String)>, String)> = vec![
        (
            vec![("BITBUCKET_ACCESS_TOKEN", format!("  {TOKEN}\r\n"))],
            format!("Bearer {TOKEN}"),
        ),
        (
            vec![("BITBUCKET_ACCESS_TOKEN", format!("\t{TOKEN} "))],
            format!("Bearer {TOKEN}"),
        ),
        (
            vec![
                ("BITBUCKET_EMAIL", "me@example.com".into()),
                ("BITBUCKET_API_TOKEN", format!("{TOKEN}\n")),
            ],
            basic,
        ),
    ];
    for (vars, want) in cases {
        let server = cloud_index(|_, _| Reply::json(200, one_pr_page("trimmed")));
        let mut s = step()
            .env("BITBUCKET_API_URL", format!("{}/2.0", server.url))
            .env("BITBUCKET_WORKSPACE", "acme")
            .env("BITBUCKET_REPO_SLUG", "widget")
            .env("BITBUCKET_COMMIT", COMMIT)
            .env("DEBUG", "true");
        for (k, v) in &vars {
            s = s.env(k, v);
        }
        let r = s.run();
        let case = format!("{vars:?}");
        assert_eq!(r.code, 0, "{case}: {}", r.stderr);
        let sent: Vec<String> = server
            .requests()
            .iter()
            .map(|q| q.header("authorization").unwrap_or("").to_string())
            .collect();
        assert!(
            !sent.is_empty() && sent.iter().all(|a| *a == want),
            "{case}: sent {sent:?}"
        );
        let variable = vars.last().unwrap().0;
        assert!(
            r.stderr.contains(&format!("pr-status: debug: {variable} had ")) && r.stderr.contains("removed"),
            "{case}: the DEBUG note names the variable: {}",
            r.stderr
        );
        assert!(!r.everything().contains(TOKEN), "{case}: the token was printed");
    }
}

#[test]
fn a_secret_of_blanks_only_is_unset() {
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("x")));
    let r = step()
        .env("BITBUCKET_API_URL", format!("{}/2.0", server.url))
        .env("BITBUCKET_WORKSPACE", "acme")
        .env("BITBUCKET_REPO_SLUG", "widget")
        .env("BITBUCKET_COMMIT", COMMIT)
        .env("BITBUCKET_ACCESS_TOKEN", " \r\n")
        .run();
    assert_clean_failure(&r, 2);
    assert!(r.stderr.contains("BITBUCKET_ACCESS_TOKEN"), "{}", r.stderr);
    assert_eq!(server.connections(), 0, "nothing was sent");
}
