//! Configuration errors: one run names every missing or invalid variable, one stderr line
//! each starting `pr-status: error: `, and the JSON summary's message holds the same lines.
//! When the provider was detected rather than chosen, each of its lines says which variable
//! chose it and that `PROVIDER` overrides it. Exit 2, nothing sent.

mod common;

use common::*;

/// Runs with `vars` (and a server that must see nothing at every API variable) and returns
/// the problem lines, checked against the summary.
fn problems(vars: &[(&str, &str)]) -> (Ran, Vec<String>) {
    let server = bystander();
    let mut s = step().envs(vars.iter().copied());
    // Every API base that is not under test points at a server that must see nothing.
    for (name, path) in [
        ("BITBUCKET_API_URL", "/2.0"),
        ("GITHUB_API_URL", ""),
        ("CI_API_V4_URL", "/api/v4"),
    ] {
        if !vars.iter().any(|(k, _)| *k == name) {
            s = s.env(name, format!("{}{path}", server.url));
        }
    }
    let r = s.run();
    assert_eq!(server.connections(), 0, "nothing is sent");
    assert_eq!(r.code, 2, "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let s = r.summary();
    assert_eq!(s["outcome"], "error");
    assert_eq!(s["error"]["kind"], "config", "{s:#}");
    let message = s["error"]["message"].as_str().unwrap();
    assert_eq!(s["message"], message);
    let lines: Vec<String> = r
        .stderr
        .lines()
        .map(|l| {
            l.strip_prefix("pr-status: error: ")
                .unwrap_or_else(|| panic!("a stderr line without the prefix: {l:?}\n{}", r.stderr))
                .to_string()
        })
        .collect();
    let summary_lines: Vec<&str> = message.split('\n').collect();
    assert_eq!(lines, summary_lines, "stderr and the JSON message hold the same lines");
    (r, lines)
}

/// Exactly one line names each of `names`, and every line names one of them.
fn names_each(lines: &[String], names: &[&str]) {
    assert_eq!(lines.len(), names.len(), "one line per problem: {lines:#?}");
    for name in names {
        let n = lines.iter().filter(|l| l.contains(name)).count();
        assert!(n >= 1, "no line names {name}: {lines:#?}");
    }
}

fn says_detected_by(lines: &[String], provider: &str, variable: &str) {
    for l in lines {
        assert!(
            l.contains(&format!("provider {provider} chosen because {variable}")) && l.contains("PROVIDER"),
            "the line says why {provider} was chosen and that PROVIDER overrides it: {l}"
        );
    }
}

#[test]
fn github_names_every_missing_variable_in_one_run() {
    let (_, lines) = problems(&[("GITHUB_ACTIONS", "true")]);
    names_each(&lines, &["GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_TOKEN"]);
    says_detected_by(&lines, "github", "GITHUB_ACTIONS=true");
}

#[test]
fn gitlab_names_every_missing_variable_in_one_run() {
    let (_, lines) = problems(&[("GITLAB_CI", "true")]);
    names_each(&lines, &["CI_PROJECT_ID", "CI_COMMIT_SHA", "GITLAB_TOKEN"]);
    says_detected_by(&lines, "gitlab", "GITLAB_CI=true");
}

#[test]
fn datacenter_names_every_missing_variable_in_one_run() {
    let (_, lines) = problems(&[("BITBUCKET_SERVER_URL", "https://bitbucket.example.com")]);
    names_each(
        &lines,
        &[
            "BITBUCKET_PROJECT_KEY",
            "BITBUCKET_REPO_SLUG",
            "BITBUCKET_COMMIT",
            "BITBUCKET_ACCESS_TOKEN",
        ],
    );
    says_detected_by(&lines, "bitbucket-datacenter", "BITBUCKET_SERVER_URL");
}

#[test]
fn cloud_by_default_says_nothing_chose_another_provider() {
    let (_, lines) = problems(&[]);
    names_each(
        &lines,
        &[
            "BITBUCKET_WORKSPACE",
            "BITBUCKET_REPO_SLUG",
            "BITBUCKET_COMMIT",
            "BITBUCKET_ACCESS_TOKEN",
        ],
    );
    for l in &lines {
        assert!(
            l.contains("provider bitbucket-cloud chosen because no other provider's variable is set")
                && l.contains("PROVIDER"),
            "{l}"
        );
    }
}

/// `BITBUCKET_WORKSPACE` left in a GitHub job selects Bitbucket Cloud; the message says so,
/// names the GitHub marker it outranked, and `PROVIDER=github` fixes it.
#[test]
fn a_stray_bitbucket_variable_in_a_github_job_is_named() {
    let github = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "acme/widget"),
        ("GITHUB_SHA", COMMIT),
        ("GITHUB_TOKEN", TOKEN),
        ("BITBUCKET_WORKSPACE", "acme"),
    ];
    let (_, lines) = problems(&github);
    names_each(
        &lines,
        &["BITBUCKET_REPO_SLUG", "BITBUCKET_COMMIT", "BITBUCKET_ACCESS_TOKEN"],
    );
    says_detected_by(&lines, "bitbucket-cloud", "BITBUCKET_WORKSPACE");
    assert!(lines.iter().all(|l| l.contains("GITHUB_ACTIONS=true")), "{lines:#?}");

    let server = serve(|req, _| Forge::Github.answer(req.path(), "Fix"));
    let r = step()
        .envs(github.iter().copied())
        .env("GITHUB_API_URL", &server.url)
        .env("PROVIDER", "github")
        .run();
    assert_eq!(r.code, 0, "PROVIDER=github overrides the detection: {}", r.stderr);
}

/// Shared and provider variables, missing and invalid, all in one run.
#[test]
fn invalid_and_missing_variables_are_all_named() {
    let (_, lines) = problems(&[
        ("GITHUB_ACTIONS", "true"),
        ("MIN_APPROVALS", "-1"),
        ("HTTP_TIMEOUT", "0"),
        ("WAIT_FOR_BUILDS", "soon"),
        ("REQUIRE", "open,green"),
        ("DEBUG", "maybe"),
        ("SSL_CERT_FILE", "/nonexistent/ca.pem"),
        ("GITHUB_REPOSITORY", "acme/../x"),
        ("GITHUB_SHA", "xyz"),
        ("GITHUB_API_URL", "http://example.com/api"),
    ]);
    names_each(
        &lines,
        &[
            "MIN_APPROVALS",
            "HTTP_TIMEOUT",
            "WAIT_FOR_BUILDS",
            "REQUIRE",
            "DEBUG",
            "SSL_CERT_FILE",
            "GITHUB_REPOSITORY",
            "GITHUB_SHA",
            "GITHUB_API_URL",
            "GITHUB_TOKEN",
        ],
    );
    // The shared variables are not the provider's: no detection note on them.
    let shared = lines.iter().find(|l| l.starts_with("MIN_APPROVALS")).unwrap();
    assert!(!shared.contains("chosen because"), "{shared}");
    let own = lines.iter().find(|l| l.contains("GITHUB_TOKEN")).unwrap();
    assert!(
        own.contains("provider github chosen because GITHUB_ACTIONS=true"),
        "{own}"
    );
}

/// An explicit `PROVIDER` needs no explanation; an unknown one is named with the others.
#[test]
fn an_explicit_provider_is_not_explained() {
    let (_, lines) = problems(&[("PROVIDER", "gitlab"), ("BITBUCKET_WORKSPACE", "acme")]);
    names_each(&lines, &["CI_PROJECT_ID", "CI_COMMIT_SHA", "GITLAB_TOKEN"]);
    assert!(lines.iter().all(|l| !l.contains("chosen because")), "{lines:#?}");

    let (_, lines) = problems(&[("PROVIDER", "svn"), ("MIN_APPROVALS", "many")]);
    names_each(&lines, &["MIN_APPROVALS", "PROVIDER"]);
}

/// One problem stays one line, as before.
#[test]
fn a_single_problem_is_one_line() {
    let server = bystander();
    let r = step().cloud(&server.url).env("MIN_APPROVALS", "lots").run();
    assert_clean_failure(&r, 2);
    assert_error_summary(&r, "error", "config");
    assert_eq!(server.connections(), 0);
}

#[test]
fn help_mentions_provider() {
    let r = step().arg("--help").run();
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("PROVIDER"), "{}", r.stdout);
    assert!(r.stdout.contains("bitbucket-datacenter"), "{}", r.stdout);
}

#[test]
fn a_bad_output_path_is_named_with_every_other_problem() {
    // A folder where the Markdown file belongs, and a GitHub job without its token or commit:
    // one run names all three.
    let folder = tempfile::tempdir().unwrap();
    let folder = folder.path().to_str().unwrap().to_string();
    let (_r, lines) = problems(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "acme/widget"),
        ("SUMMARY_MARKDOWN_FILE", folder.as_str()),
    ]);
    names_each(&lines, &["SUMMARY_MARKDOWN_FILE", "GITHUB_TOKEN", "GITHUB_SHA"]);
}
