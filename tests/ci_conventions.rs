//! The conventions of each CI, black-box: the real binary against a scripted Bitbucket Cloud
//! server on loopback.
//! - Bitbucket Pipelines: `BITBUCKET_PIPELINES_VARIABLES_PATH` gets the dotenv keys appended as
//!   one `KEY=value` line each, whatever the PR title holds (newlines, `=`, quotes, 2000
//!   characters), and a file that cannot be written is a warning, not a verdict.
//! - GitHub Actions: the verdict and each unmet condition as workflow commands, one per line,
//!   escaped so that a PR title cannot start a command of its own; `RUNNER_DEBUG=1` turns on
//!   `DEBUG`.

mod common;

use std::path::Path;

use common::*;

/// The dotenv keys, in the dotenv file's order (docs/outputs.md, "Summary files").
const KEYS: [&str; 14] = [
    "PR_STATUS_OUTCOME",
    "PR_STATUS_EXIT_CODE",
    "PR_FOUND",
    "PR_COUNT",
    "PR_ID",
    "PR_TITLE",
    "PR_STATE",
    "PR_URL",
    "PR_DRAFT",
    "PR_AUTHOR",
    "PR_SOURCE_BRANCH",
    "PR_DESTINATION_BRANCH",
    "PR_APPROVALS",
    "PR_CHANGES_REQUESTED",
];

/// A title that tries to end its line and set other variables, in every reader's syntax.
fn hostile_title() -> String {
    let mut t = String::from(
        "fix = \"quoted\" 'single' $(touch pwned1) `touch pwned2` ${HOME} \\ #comment\n\
         PR_STATUS_OUTCOME=pass\r\nPR_ID=999\rexport PR_STATE=MERGED\u{2028}PR_DRAFT=true\u{85}\
         \ttab\0nul %0A ::error::injected",
    );
    t.push_str(&" long".repeat(400));
    t
}

/// Reads the file as a strict line-based `KEY=VALUE` reader does: every line is a key, `=`,
/// and the rest of the line. Panics on any other line.
fn read_lines(text: &str) -> Vec<(String, String)> {
    assert!(text.ends_with('\n'), "the file ends with a newline: {text:?}");
    assert!(!text.contains('\r'), "no CR anywhere: {text:?}");
    text.lines()
        .map(|line| {
            let (k, v) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("a line without `=`: {line:?}"));
            assert!(
                !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                "not a variable name: {k:?} in {line:?}"
            );
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn no_pwned(dir: &Path) {
    for i in 1..=2 {
        assert!(!dir.join(format!("pwned{i}")).exists(), "pwned{i}: a command ran");
    }
}

#[test]
fn pipelines_variables_get_each_key_once_on_one_inert_line() {
    let title = hostile_title();
    let page = one_pr_page(&title);
    let server = cloud_index(move |_, _| Reply::json(200, page.clone()));
    let s = step().cloud(&server.url);
    let vars = s.path("pipelines-variables");
    let dotenv = s.path("pr.env");
    // An earlier step line written without its newline: ours must not be glued to it.
    std::fs::write(&vars, "EARLIER=1").unwrap();
    let r = s
        .env("BITBUCKET_PIPELINES_VARIABLES_PATH", &vars)
        .env("SUMMARY_DOTENV_FILE", &dotenv)
        .env("REQUIRE", "open")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["title"], title.as_str());

    let lines = read_lines(&r.file("pipelines-variables"));
    assert_eq!(lines[0], ("EARLIER".to_string(), "1".to_string()), "{lines:?}");
    let ours = &lines[1..];
    let keys: Vec<&str> = ours.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, KEYS, "each dotenv key once, in order, and nothing else");
    let get = |key: &str| ours.iter().find(|(k, _)| k == key).unwrap().1.clone();
    assert_eq!(get("PR_STATUS_OUTCOME"), "pass");
    assert_eq!(get("PR_STATUS_EXIT_CODE"), "0");
    assert_eq!(get("PR_ID"), "7");
    assert_eq!(get("PR_STATE"), "OPEN");
    assert_eq!(get("PR_DRAFT"), "false");
    assert_eq!(get("PR_APPROVALS"), "1");
    assert_eq!(get("PR_URL"), "https://bitbucket.org/acme/widget/pull-requests/7");

    let t = get("PR_TITLE");
    assert!(
        t.starts_with("fix = _quoted_ _single_ _(touch pwned1) _touch pwned2_ _{HOME} _ _comment PR_STATUS_OUTCOME=pass PR_ID=999 export PR_STATE=MERGED PR_DRAFT=true tab nul %0A ::error::injected long"),
        "{t}"
    );
    assert!(!t.contains(['"', '\'', '$', '`', '\\', '#', '\t', '\0']), "{t}");
    assert!(!t.starts_with(' ') && !t.contains("  "), "{t:?}");
    let n = t.chars().count();
    assert!((490..=500).contains(&n), "cut to at most 500 characters: {n}");
    assert!(t.ends_with('…'), "{t}");
    // The exact title is still in the dotenv summary.
    let sourced = std::process::Command::new("sh")
        .arg("-c")
        .arg("set -a; . \"$1\"; printf %s \"$PR_TITLE\"")
        .arg("sh")
        .arg(&dotenv)
        .current_dir(&r.dir)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&sourced.stdout), title.replace('\0', ""));
    no_pwned(&r.dir);
}

#[test]
fn pipelines_variables_are_written_when_the_step_fails_too() {
    // No credentials: a configuration error, nothing sent; later steps still see why.
    let s = step();
    let vars = s.path("vars");
    let r = s
        .env("BITBUCKET_WORKSPACE", "acme")
        .env("BITBUCKET_REPO_SLUG", "widget")
        .env("BITBUCKET_COMMIT", COMMIT)
        .env("BITBUCKET_PIPELINES_VARIABLES_PATH", &vars)
        .run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    let lines = read_lines(&r.file("vars"));
    let keys: Vec<&str> = lines.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, KEYS);
    assert_eq!(lines[0].1, "error");
    assert_eq!(lines[1].1, "2");
    assert_eq!(lines[2].1, "false");
    assert_eq!(lines[4].1, "", "no PR: PR_ID is empty");
}

#[test]
fn an_unwritable_pipelines_file_is_a_warning_and_keeps_the_gates_code() {
    for (label, require, code) in [("pass", "open", 0), ("fail", "merged", 1)] {
        let server = cloud_index(|_, _| Reply::json(200, one_pr_page("x")));
        let s = step().cloud(&server.url);
        // A folder where the file should be: it cannot be appended to.
        let dir = s.path("vars-dir");
        std::fs::create_dir(&dir).unwrap();
        let r = s
            .env("BITBUCKET_PIPELINES_VARIABLES_PATH", &dir)
            .env("REQUIRE", require)
            .run();
        assert_eq!(r.code, code, "{label}: {}", r.stderr);
        assert_eq!(r.summary()["outcome"], label);
        let warning: Vec<&str> = r.stderr.lines().filter(|l| l.contains("warning")).collect();
        assert_eq!(warning.len(), 1, "{label}: one warning line: {}", r.stderr);
        assert!(
            warning[0].starts_with("pr-status: warning: BITBUCKET_PIPELINES_VARIABLES_PATH="),
            "{label}: the warning names the variable: {}",
            warning[0]
        );
    }
}

#[test]
fn a_fifo_is_written_through_without_waiting() {
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("x")));
    let s = step().cloud(&server.url);
    let fifo = s.path("vars.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = s.path("read-back");
    let reader = std::process::Command::new("sh")
        .arg("-c")
        .arg("exec cat \"$1\" > \"$2\"")
        .arg("sh")
        .arg(&fifo)
        .arg(&out)
        .spawn()
        .unwrap();
    let r = s
        .env("BITBUCKET_PIPELINES_VARIABLES_PATH", &fifo)
        .env("REQUIRE", "open")
        .run();
    let mut reader = reader;
    if r.code != 0 {
        // A hung step was killed by the timeout: nothing will open the FIFO for writing now.
        let _ = reader.kill();
    }
    let status = reader.wait().unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(status.success());
    let lines = read_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(lines.len(), KEYS.len(), "{lines:?}");
    assert_eq!(lines[0], ("PR_STATUS_OUTCOME".to_string(), "pass".to_string()));
}

#[test]
fn without_the_variable_no_file_is_written() {
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("x")));
    let r = step().cloud(&server.url).env("REQUIRE", "open").run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&r.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["pr-status.json"]);
}

// ---- GitHub Actions ----

/// The workflow commands of a run: every stdout line starting with `::`.
fn commands(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("::")).collect()
}

/// A command's level, its title property (as written, escaped) and its data decoded as the
/// runner decodes it.
fn parse(command: &str) -> (String, String, String) {
    let rest = command.strip_prefix("::").unwrap();
    let (head, data) = rest.split_once("::").unwrap_or_else(|| panic!("{command}"));
    let (level, props) = head.split_once(' ').unwrap_or((head, ""));
    let title = props.strip_prefix("title=").unwrap_or_else(|| panic!("{command}"));
    assert!(
        !title.contains([':', ',']),
        "`:` and `,` escaped in properties: {command}"
    );
    assert!(!data.contains(['\r', '\n']), "{command:?}");
    let decoded = data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%");
    (level.to_string(), title.to_string(), decoded)
}

#[test]
fn annotations_give_the_verdict_and_each_unmet_condition_whatever_the_title() {
    let title = "Ship it\n::error::injected\r\n::warning title=x::second, 100% %0A done";
    let page = one_pr_page(title);
    let server = cloud_index(move |_, _| Reply::json(200, page.clone()));
    let r = step()
        .cloud(&server.url)
        .env("GITHUB_ACTIONS", "true")
        .env("REQUIRE", "merged,not-draft,approved")
        .env("MIN_APPROVALS", "3")
        .run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let cmds = commands(&r.stdout);
    assert_eq!(
        cmds.len(),
        3,
        "the verdict and two unmet conditions, nothing injected:\n{}",
        r.stdout
    );
    let parsed: Vec<_> = cmds.iter().map(|c| parse(c)).collect();

    assert_eq!(parsed[0].0, "error");
    assert_eq!(parsed[0].1, "pr-status");
    assert_eq!(parsed[0].2, r.summary()["message"].as_str().unwrap());

    assert_eq!(parsed[1].0, "error");
    assert_eq!(parsed[1].1, "pr-status%3A merged");
    assert_eq!(
        parsed[1].2,
        "PR #7 \"Ship it ::error::injected ::warning title=x::second, 100% %0A done\": is OPEN, not merged"
    );
    assert_eq!(parsed[2].1, "pr-status%3A approved");
    assert!(
        parsed[2].2.ends_with(": has 1 approval(s), 3 needed"),
        "{}",
        parsed[2].2
    );
    // No other line of stdout can be read as a command.
    for line in r.stdout.lines().filter(|l| !l.starts_with("::")) {
        assert!(!line.trim_start().starts_with("::"), "{line:?}");
    }
}

#[test]
fn a_passing_gate_is_one_notice() {
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("x")));
    let r = step()
        .cloud(&server.url)
        .env("GITHUB_ACTIONS", "true")
        .env("REQUIRE", "open,approved")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        commands(&r.stdout),
        ["::notice title=pr-status::PR #7 meets open, approved"]
    );
}

#[test]
fn a_pending_gate_warns_on_the_running_builds() {
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            let running = serde_json::json!({"type": "build", "key": "unit", "name": "unit build",
                "state": "INPROGRESS", "url": "https://ci.example/unit"});
            Reply::json(200, cloud_page(vec![running], None))
        } else {
            Reply::json(200, one_pr_page("x"))
        }
    });
    let r = step()
        .cloud(&server.url)
        .env("GITHUB_ACTIONS", "true")
        .env("REQUIRE", "open,builds-passed")
        .run();
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(
        commands(&r.stdout),
        [
            "::warning title=pr-status::PR #7 waits only on running builds",
            "::warning title=pr-status%3A builds-passed::PR #7 \"x\": builds: 0 successful, 0 failed, 1 running, 0 stopped",
        ]
    );
}

#[test]
fn no_commands_outside_github_actions() {
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("x")));
    let r = step().cloud(&server.url).env("REQUIRE", "merged").run();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(commands(&r.stdout).is_empty(), "{}", r.stdout);
}

#[test]
fn runner_debug_turns_on_debug() {
    for (runner_debug, debug, want) in [
        (Some("1"), "false", true),
        (Some("1"), "", true),
        (Some("0"), "false", false),
        (None, "false", false),
        (None, "true", true),
    ] {
        let server = cloud_index(|_, _| Reply::json(200, one_pr_page("x")));
        let mut s = step()
            .cloud(&server.url)
            .env("GITHUB_ACTIONS", "true")
            .env("DEBUG", debug);
        if let Some(v) = runner_debug {
            s = s.env("RUNNER_DEBUG", v);
        }
        let r = s.run();
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.stderr.contains("pr-status: debug:"),
            want,
            "RUNNER_DEBUG={runner_debug:?} DEBUG={debug:?}: {}",
            r.stderr
        );
        assert!(!r.everything().contains(TOKEN), "no secret in DEBUG output");
    }
}
