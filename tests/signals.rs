//! Interrupted runs leave no stale verdict (issue 9, point 5): the real binary, stalled on a
//! silent local server, gets a real SIGTERM, SIGINT or SIGHUP (also as PID 1 of its own PID
//! namespace, as in a container) or a SIGKILL, and the summary files it leaves behind are read
//! back and checked against the schema.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A run of Bitbucket Cloud against `url` writing all three summaries under `dir/out`, with a
/// timeout long enough that a silent server stalls it for the whole test.
fn envs(dir: &Path, url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("BITBUCKET_API_URL", format!("{url}/2.0")),
        ("BITBUCKET_WORKSPACE", "acme".into()),
        ("BITBUCKET_REPO_SLUG", "widget".into()),
        ("BITBUCKET_COMMIT", COMMIT.into()),
        ("BITBUCKET_ACCESS_TOKEN", TOKEN.into()),
        ("HTTP_TIMEOUT", "60".into()),
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

/// Summaries of an earlier, passing run in the same workspace (a reused Jenkins agent).
fn earlier_pass(dir: &Path) {
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    // A real passing summary, made by the binary itself.
    let good = cloud_index(|_, _| Reply::json(200, one_pr_page("Fix")));
    let done = child_command(dir, &envs(dir, &good.url)).output().unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", String::from_utf8_lossy(&done.stderr));
    let mut pass: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("pr-status.json")).unwrap()).unwrap();
    assert_eq!(pass["outcome"], "pass");
    pass["message"] = "an earlier run passed".into();
    std::fs::write(out.join("pr-status.json"), pass.to_string()).unwrap();
    assert!(std::fs::read_to_string(out.join("pr-status.md"))
        .unwrap()
        .contains("pass"));
    assert!(std::fs::read_to_string(out.join("pr-status.env"))
        .unwrap()
        .contains("PR_STATUS_OUTCOME='pass'"));
}

/// Waits until the stalled server holds the binary's first request: the run is mid-lookup.
fn wait_for_request(server: &RawServer, child: &mut Child) {
    let started = Instant::now();
    while server.hits(&index_path()) == 0 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the binary ended ({status}) before sending its request");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the binary never sent its request"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
}

fn kill(signal: &str, pid: u32) {
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{signal} {pid}");
}

/// Waits at most `limit` for the child to end; kills it (and fails) if it does not.
fn exit_within(child: &mut Child, limit: Duration) -> (i32, Duration, String) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut stderr).unwrap();
            }
            return (status.code().unwrap_or(-1), started.elapsed(), stderr);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running {limit:?} after the signal: the signal was ignored");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_valid(&json);
    json
}

/// The three summaries say `error`, kind `interrupted`, the signal by name and its exit code.
fn assert_interrupted(dir: &Path, name: &str, code: i32, stderr: &str) {
    let out = dir.join("out");
    let json = read_json(&out.join("pr-status.json"));
    assert_eq!(json["outcome"], "error", "{json:#}");
    assert_eq!(json["exit_code"], code, "{json:#}");
    assert_eq!(json["error"]["kind"], "interrupted", "{json:#}");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains(name), "{message}");
    assert!(stderr.contains(message), "stderr {stderr:?} lacks {message:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let md = std::fs::read_to_string(out.join("pr-status.md")).unwrap();
    assert!(md.contains("error") && md.contains(name), "{md}");
    let env = std::fs::read_to_string(out.join("pr-status.env")).unwrap();
    assert!(env.contains("PR_STATUS_OUTCOME='error'"), "{env}");
    assert!(env.contains(&format!("PR_STATUS_EXIT_CODE='{code}'")), "{env}");
    assert_eq!(temp_files(dir), Vec::<std::path::PathBuf>::new());
}

#[test]
fn sigterm_sigint_and_sighup_write_interrupted_summaries_and_exit_128_plus_the_signal() {
    for (signal, name, code) in [("TERM", "SIGTERM", 143), ("INT", "SIGINT", 130), ("HUP", "SIGHUP", 129)] {
        let dir = tempfile::tempdir().unwrap();
        earlier_pass(dir.path());
        let server = cloud_index(|_, _| Reply::Silent);
        let mut envs = envs(dir.path(), &server.url);
        envs.push((
            "GITHUB_OUTPUT",
            dir.path().join("out/github-output").display().to_string(),
        ));
        let mut child = child_command(dir.path(), &envs).spawn().unwrap();
        wait_for_request(&server, &mut child);
        kill(signal, child.id());
        let (exit, took, stderr) = exit_within(&mut child, Duration::from_secs(5));
        eprintln!("{name}: exit {exit} {took:?} after the signal");
        assert_eq!(exit, code, "{name}: {stderr}");
        assert_interrupted(dir.path(), name, code, &stderr);
        let outputs = std::fs::read_to_string(dir.path().join("out/github-output")).unwrap();
        let lines: Vec<&str> = outputs.lines().collect();
        let at = |name: &str| {
            let i = lines.iter().position(|l| l.starts_with(&format!("{name}<<"))).unwrap();
            lines[i + 1]
        };
        assert_eq!(at("exit_code"), code.to_string(), "{outputs}");
        assert_eq!(at("outcome"), "error", "{outputs}");
    }
}

#[test]
fn sigterm_to_pid_1_of_a_pid_namespace_is_handled() {
    // In a container the step is PID 1, and the kernel drops signals PID 1 has no handler for:
    // `docker stop` then waits 10 s and kills it. `unshare --pid --fork --mount-proc` makes
    // the same situation: the binary is PID 1 of a new PID namespace.
    let dir = tempfile::tempdir().unwrap();
    earlier_pass(dir.path());
    let server = cloud_index(|_, _| Reply::Silent);
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_pr-status"))
        .env_clear()
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs(dir.path(), &server.url) {
        cmd.env(k, v);
    }
    let mut unshare = cmd.spawn().unwrap();
    wait_for_request(&server, &mut unshare);
    // The binary is unshare's only child; its PID inside the namespace must be 1.
    let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.id())).unwrap();
    let pid: u32 = children
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("children: {children:?}"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert_eq!(nspid.split_whitespace().last(), Some("1"), "{nspid}");
    kill("TERM", pid);
    // unshare exits with its child's code.
    let (exit, took, stderr) = exit_within(&mut unshare, Duration::from_secs(5));
    eprintln!("PID 1, SIGTERM: exit {exit} {took:?} after the signal");
    assert_eq!(exit, 143, "{stderr}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_interrupted(dir.path(), "SIGTERM", 143, &stderr);
}

#[test]
fn before_the_first_request_every_summary_holds_a_no_verdict_placeholder_even_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    earlier_pass(dir.path());
    let out = dir.path().join("out");
    let server = cloud_index(|_, _| Reply::Silent);
    let mut child = child_command(dir.path(), &envs(dir.path(), &server.url))
        .spawn()
        .unwrap();
    wait_for_request(&server, &mut child);
    child.kill().unwrap(); // SIGKILL: nothing of the binary runs any more.
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
    let json = read_json(&out.join("pr-status.json"));
    assert_eq!(json["outcome"], "error", "{json:#}");
    assert_eq!(json["error"]["kind"], "interrupted", "{json:#}");
    let message = json["message"].as_str().unwrap();
    assert!(message.contains("no verdict yet"), "{message}");
    let md = std::fs::read_to_string(out.join("pr-status.md")).unwrap();
    assert!(md.contains("no verdict yet") && !md.contains("pass"), "{md}");
    let env = std::fs::read_to_string(out.join("pr-status.env")).unwrap();
    assert!(
        env.contains("PR_STATUS_OUTCOME='error'") && !env.contains("'pass'"),
        "{env}"
    );
    // `set -a; . file` in a shell gives the later step PR_STATUS_OUTCOME=error.
    let sourced = Command::new("sh")
        .args(["-c", "set -a; . \"$0\"; printf %s \"$PR_STATUS_OUTCOME\""])
        .arg(out.join("pr-status.env"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&sourced.stdout), "error");
    assert_eq!(temp_files(dir.path()), Vec::<std::path::PathBuf>::new());
}

#[test]
fn sigterm_while_waiting_for_a_fifo_reader_still_ends_the_run() {
    // A FIFO gets its summary like `>` does: the run waits for a reader. That wait must not
    // swallow SIGTERM (a blocking open would hold the thread the signal is handled on).
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let server = cloud_index(|_, _| Reply::json(200, one_pr_page("Fix")));
    let mut envs = envs(dir.path(), &server.url);
    envs.push(("SUMMARY_DOTENV_FILE", fifo.display().to_string()));
    envs.retain(|(k, v)| *k != "SUMMARY_DOTENV_FILE" || v.ends_with(".fifo"));
    let mut child = child_command(dir.path(), &envs).spawn().unwrap();
    wait_for_request(&server, &mut child);
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run did not wait for the FIFO's reader"
    );
    kill("TERM", child.id());
    let (exit, took, stderr) = exit_within(&mut child, Duration::from_secs(5));
    eprintln!("FIFO without reader, SIGTERM: exit {exit} {took:?} after the signal");
    assert_eq!(exit, 143, "{stderr}");
    let json = read_json(&dir.path().join("out/pr-status.json"));
    assert_eq!(json["error"]["kind"], "interrupted", "{json:#}");
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}
