//! Text pr-status prints or writes for people and for CI runners: server values with
//! bidirectional overrides cannot reorder pr-status's own text on stdout or in Markdown, a
//! newline inside a value quoted on stderr cannot start a line (GitHub's runner reads `::`
//! commands there too), and GitHub's size limits hold for the step summary and step outputs
//! with 1000 pull requests whose titles are long.

mod common;

use common::*;
use serde_json::Value;

/// Every character that reorders text (the embeddings and overrides, the isolates, the marks).
const BIDI: [char; 12] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    '\u{200E}', '\u{200F}', '\u{061C}',
];

/// A value written to attack every reader at once: an override that would show `txt.exe` as
/// `exe.txt`, isolates, and line breaks followed by the runner's workflow commands.
fn hostile() -> String {
    "Fix \u{202E}txt.exe\u{202C} \u{2066}x\u{2069}\u{200F}\u{061C}\n::error::pwned\r::add-mask::pwned\r\n::warning::pwned".into()
}

fn no_bidi(what: &str, text: &str) {
    let found: Vec<String> = text
        .chars()
        .filter(|c| BIDI.contains(c))
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    assert!(found.is_empty(), "{what} holds {found:?}:\n{text}");
}

/// No line of `text` is a workflow command, except pr-status's own annotation on stdout.
fn no_injected_command(what: &str, text: &str) {
    for line in text.split(['\n', '\r']) {
        // pr-status's own annotations: the verdict, and one per unmet condition.
        let own = [
            "::error title=pr-status",
            "::warning title=pr-status",
            "::notice title=pr-status",
        ]
        .iter()
        .any(|p| line.starts_with(p));
        assert!(
            !line.trim_start().starts_with("::") || own,
            "{what} has a line that is a workflow command: {line:?}\nall of it:\n{text}"
        );
    }
}

/// The server values reach every output with their text intact in the data files and
/// neutralised in the text people read.
fn check_hostile_run(forge: &str, r: &Ran) {
    assert_eq!(r.code, 0, "{forge}: stderr {}\nstdout {}", r.stderr, r.stdout);
    no_bidi(&format!("{forge} stdout"), &r.stdout);
    no_bidi(&format!("{forge} stderr"), &r.stderr);
    no_injected_command(&format!("{forge} stdout"), &r.stdout);
    no_injected_command(&format!("{forge} stderr"), &r.stderr);
    assert!(
        r.stdout.contains("<U+202E>"),
        "{forge}: the override is shown, not dropped: {}",
        r.stdout
    );
    for file in ["summary.md", "step-summary.md"] {
        let md = r.file(file);
        no_bidi(&format!("{forge} {file}"), &md);
        no_injected_command(&format!("{forge} {file}"), &md);
        assert!(
            md.contains("&lt;U+202E&gt;"),
            "{forge} {file}: the override is shown:\n{md}"
        );
    }
    // The data files keep the exact text: they are read by programs, not shown.
    let s = r.summary();
    let title = s["pull_requests"][0]["title"].as_str().unwrap();
    assert_eq!(title, hostile(), "{forge}: the JSON keeps the title exactly");
}

fn with_outputs(s: Step) -> Step {
    let md = s.path("summary.md");
    let step_summary = s.path("step-summary.md");
    let output = s.path("github-output");
    s.env("SUMMARY_MARKDOWN_FILE", md)
        .env("GITHUB_STEP_SUMMARY", step_summary)
        .env("GITHUB_OUTPUT", output)
}

#[test]
fn hostile_titles_names_and_branches_cannot_reorder_or_inject() {
    let text = hostile();
    // Bitbucket Cloud: the title through the commit index.
    let t = text.clone();
    let server = cloud_index(move |_, _| Reply::json(200, one_pr_page(&t)));
    let r = with_outputs(step().cloud(&server.url)).run();
    check_hostile_run("Bitbucket Cloud", &r);
    // The other forges: `text` in the title, author, branches, links, reviewer and build names.
    for forge in Forge::ALL {
        let t = text.clone();
        let server = serve(move |req, _| forge.answer(req.path(), &t));
        let r = with_outputs(step().envs(forge.vars_with_token(&server.url).iter().map(|(k, v)| (*k, v.as_str()))))
            .env("DEBUG", "true")
            .run();
        check_hostile_run(forge.name(), &r);
    }
}

#[test]
fn a_server_reason_with_line_breaks_stays_on_its_line() {
    for forge in Forge::ALL {
        let reason = hostile();
        let server = serve(move |_, _| Reply::json(400, forge.error_body(&reason)));
        let provider = match forge {
            Forge::Datacenter => "bitbucket-datacenter",
            Forge::Github => "github",
            Forge::Gitlab => "gitlab",
        };
        // Under GitHub Actions, so the error is also an annotation on stdout.
        let r = step()
            .envs(forge.vars_with_token(&server.url).iter().map(|(k, v)| (*k, v.as_str())))
            .env("GITHUB_ACTIONS", "true")
            .env("PROVIDER", provider)
            .run();
        assert_eq!(r.code, 4, "{}: {}", forge.name(), r.stderr);
        no_injected_command(&format!("{} stderr", forge.name()), &r.stderr);
        no_injected_command(&format!("{} stdout", forge.name()), &r.stdout);
        no_bidi(&format!("{} stderr", forge.name()), &r.stderr);
        no_bidi(&format!("{} stdout", forge.name()), &r.stdout);
        assert_eq!(r.stderr.lines().count(), 1, "{}: {}", forge.name(), r.stderr);
    }
}

/// A variable whose value holds a newline and a workflow command, in every kind of message
/// that quotes a value: output paths (the writer's messages), variables quoted by the
/// configuration check, a file path read by the TLS setup, and the gate's own sentences
/// (`DESTINATION_BRANCH`) in the DEBUG lines.
#[test]
fn a_variable_with_a_newline_cannot_start_a_line_on_stderr() {
    let payloads = [
        "\n::error::pwned",
        "\n::add-mask::pwned",
        "\r::error::pwned",
        "\u{85}::error::pwned",
    ];
    for payload in payloads {
        let server = cloud_index(|_, _| Reply::json(200, one_pr_page("Fix")));
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(format!("out{payload}"));
        std::fs::create_dir_all(&folder).unwrap();
        let cases: Vec<(&str, String)> = vec![
            ("SUMMARY_MARKDOWN_FILE", folder.display().to_string()),
            ("GITHUB_STEP_SUMMARY", folder.display().to_string()),
            ("SSL_CERT_FILE", format!("/nonexistent{payload}/ca.pem")),
            ("BITBUCKET_REPO_SLUG", format!("widget{payload}")),
            ("MIN_APPROVALS", format!("1{payload}")),
            ("PROVIDER", format!("github{payload}")),
        ];
        for (name, value) in cases {
            let r = step()
                .cloud(&server.url)
                .env("GITHUB_ACTIONS", "true")
                .env(name, &value)
                .run();
            let what = format!("{name}={value:?}");
            assert_eq!(r.code, 2, "{what}: {}", r.stderr);
            no_injected_command(&format!("{what} stderr"), &r.stderr);
            no_injected_command(&format!("{what} stdout"), &r.stdout);
            for line in r.stderr.lines() {
                assert!(line.starts_with("pr-status: error: "), "{what}: {line:?}");
                assert!(line.contains(name), "{what}: the line names the variable: {line:?}");
            }
        }
        // The gate's sentences quote DESTINATION_BRANCH; DEBUG prints them to stderr.
        let r = step()
            .cloud(&server.url)
            .env("DESTINATION_BRANCH", format!("main{payload}"))
            .env("REQUIRE", "open")
            .env("DEBUG", "true")
            .env("GITHUB_ACTIONS", "true")
            .run();
        assert_eq!(r.code, 1, "{payload:?}: {}", r.stderr);
        no_injected_command(&format!("DESTINATION_BRANCH {payload:?} stderr"), &r.stderr);
        no_injected_command(&format!("DESTINATION_BRANCH {payload:?} stdout"), &r.stdout);
    }
}

// ---- GitHub's limits ----

/// PRs in the answers, and the length of each title.
const PRS: usize = 1000;
const TITLE: usize = 10_000;

/// GitHub's limits: a step summary above 1024 KiB is refused whole ("upload aborted"), and the
/// outputs of a job may take 1 MB in all, measured as UTF-16 (2 bytes for each ASCII char).
const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;
const JOB_OUTPUTS_LIMIT: usize = 1_000_000;

fn utf16_bytes(text: &str) -> usize {
    text.encode_utf16().count() * 2
}

/// Reads `GITHUB_OUTPUT`'s `name<<DELIM` blocks.
fn outputs(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut lines = text.split('\n');
    while let Some(head) = lines.next() {
        let Some((name, delim)) = head.split_once("<<") else {
            continue;
        };
        let mut value = Vec::new();
        for line in lines.by_ref() {
            if line == delim {
                break;
            }
            value.push(line);
        }
        out.insert(name.to_string(), value.join("\n"));
    }
    out
}

#[test]
fn a_thousand_prs_with_long_titles_stay_within_githubs_limits() {
    let per_page = 50;
    let server = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let base = server.clone();
    let srv = cloud_index(move |req, _| {
        let page: usize = req
            .target
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("page="))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let values: Vec<Value> = (0..per_page)
            .map(|i| {
                let id = ((page - 1) * per_page + i + 1) as u64;
                // Mixed scripts: ASCII weighs most as GitHub counts outputs (UTF-16),
                // CJK most in the UTF-8 Markdown.
                let title = format!("PR {id} ") + &"long title 長い題名 ".repeat(TITLE / 16);
                cloud_pr(id, &title)
            })
            .collect();
        let mut body = serde_json::json!({"pagelen": per_page, "page": page, "values": values});
        // `size` on the first page only: the Cloud lookup as merged checks the pages after the
        // first against it as if they were the whole list (950 of 1000, exit 4), reported to
        // the lead; Bitbucket may send it on every page.
        if page == 1 {
            body["size"] = Value::from(PRS);
        }
        if page * per_page < PRS {
            body["next"] = Value::String(format!("{}{}?page={}", base.get().unwrap(), index_path(), page + 1));
        }
        Reply::json(200, body.to_string())
    });
    server.set(srv.url.clone()).unwrap();
    let r = with_outputs(step().cloud(&srv.url)).run();
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The JSON summary stays complete.
    let s = r.summary();
    assert_eq!(s["pull_requests"].as_array().unwrap().len(), PRS);

    // The step summary: under GitHub's limit, with the line that says what was left out.
    let step_summary = r.file("step-summary.md");
    assert!(
        step_summary.len() < STEP_SUMMARY_LIMIT,
        "step summary is {} bytes",
        step_summary.len()
    );
    let rows = step_summary.lines().filter(|l| l.starts_with("| [#")).count();
    assert!(rows > 0 && rows < PRS, "{rows} rows");
    let more = format!("and {} more pull requests", PRS - rows);
    assert!(
        step_summary.contains(&more),
        "no {more:?} line:\n{}",
        &step_summary[step_summary.len() - 600..]
    );
    assert_eq!(
        r.file("summary.md"),
        step_summary,
        "the Markdown file is the step summary"
    );

    // The step outputs: within a job's 1 MB, every output present, `json` still a summary.
    let text = r.file("github-output");
    assert!(
        utf16_bytes(&text) < JOB_OUTPUTS_LIMIT,
        "outputs are {} bytes as UTF-16",
        utf16_bytes(&text)
    );
    let out = outputs(&text);
    assert_eq!(out["count"], PRS.to_string());
    assert_eq!(out["outcome"], "pass");
    let json: Value = serde_json::from_str(&out["json"]).expect("the json output parses");
    assert_valid(&json);
    let kept = json["pull_requests"].as_array().unwrap().len();
    assert!(kept > 0 && kept < PRS, "{kept} PRs in the json output");
    assert_eq!(
        json["pull_requests_omitted"],
        (PRS - kept) as u64,
        "the json output says what it left out"
    );
    assert!(
        out["title"].len() <= 4096,
        "title output is {} bytes",
        out["title"].len()
    );
    eprintln!(
        "measured: JSON summary {} bytes, step summary {} bytes ({rows} rows), GITHUB_OUTPUT {} bytes ({} as UTF-16, {kept} PRs in json)",
        r.file("pr-status.json").len(),
        step_summary.len(),
        text.len(),
        utf16_bytes(&text)
    );
}

/// A summary that fits is written whole: no "more" line, the json output is the JSON file.
#[test]
fn a_small_summary_is_not_cut() {
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("Fix")));
    let r = with_outputs(step().cloud(&server.url)).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let md = r.file("step-summary.md");
    assert!(!md.contains("more pull request"), "{md}");
    let out = outputs(&r.file("github-output"));
    let json: Value = serde_json::from_str(&out["json"]).unwrap();
    assert_eq!(&json, r.summary());
}
