//! Output paths and stdout (issue 9, points 7, 8, 9 and 13), black-box: the real binary writes
//! its summaries to real device nodes made with `mknod`, a FIFO with a reader, a symlink, an
//! immutable file (`chattr +i`), a 250-byte file name and a path shared by concurrent runs,
//! and prints its report to a pipe whose reader is gone and to `/dev/full`.
//!
//! The tests run as root (device nodes, `chattr`); each says so when it cannot.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn sh(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn passing() -> RawServer {
    cloud_index(|_, _| Reply::json(200, one_pr_page("Fix")))
}

fn is_char_device(p: &Path) -> bool {
    std::fs::symlink_metadata(p)
        .map(|m| m.file_type().is_char_device())
        .unwrap_or(false)
}

// ---- Point 7: non-regular files are written through, never replaced ----

#[test]
fn a_character_device_is_written_through_and_stays_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let null = dir.path().join("null");
    // The same device as /dev/null, in a folder of the test's own.
    sh("mknod", &[null.to_str().unwrap(), "c", "1", "3"]);
    assert!(is_char_device(&null));
    let server = passing();
    for var in [
        "SUMMARY_FILE",
        "SUMMARY_MARKDOWN_FILE",
        "SUMMARY_DOTENV_FILE",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
    ] {
        let r = step().cloud(&server.url).env(var, &null).run();
        assert_eq!(r.code, 0, "{var}: {}", r.stderr);
        assert!(is_char_device(&null), "{var}: the device node was replaced");
        assert_eq!(temp_files(dir.path()), Vec::<std::path::PathBuf>::new(), "{var}");
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("null")],
        "nothing created beside it"
    );
}

#[test]
fn a_fifo_with_a_reader_gets_the_summary() {
    for var in ["SUMMARY_FILE", "SUMMARY_DOTENV_FILE", "GITHUB_OUTPUT"] {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("summary.fifo");
        sh("mkfifo", &[fifo.to_str().unwrap()]);
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = fifo.clone();
        // Blocks until a writer opens the FIFO; if the binary replaces it instead, this thread
        // never wakes and the channel tells.
        std::thread::spawn(move || {
            let _ = tx.send(std::fs::read_to_string(reader).unwrap());
        });
        let server = passing();
        let r = step().cloud(&server.url).env(var, &fifo).run();
        assert_eq!(r.code, 0, "{var}: {}", r.stderr);
        let meta = std::fs::symlink_metadata(&fifo).unwrap();
        assert!(meta.file_type().is_fifo(), "{var}: the FIFO was replaced");
        let got = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{var}: the reader got nothing"));
        match var {
            "SUMMARY_FILE" => {
                let json: serde_json::Value = serde_json::from_str(&got).unwrap();
                assert_valid(&json);
                assert_eq!(json["outcome"], "pass");
            }
            "SUMMARY_DOTENV_FILE" => assert!(got.starts_with("PR_STATUS_OUTCOME='pass'\n"), "{got}"),
            _ => assert!(got.starts_with("found<<"), "{got}"),
        }
        // One document: no "no verdict yet" placeholder went through the FIFO first.
        assert!(!got.contains("no verdict yet"), "{var}: {got}");
    }
}

#[test]
fn a_fifo_whose_reader_comes_late_still_gets_one_whole_summary() {
    // `>` waits for the reader; so does the step, and the reader sees one document.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("late.fifo");
    sh("mkfifo", &[fifo.to_str().unwrap()]);
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = fifo.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        let _ = tx.send(std::fs::read_to_string(reader).unwrap());
    });
    let server = passing();
    let r = step().cloud(&server.url).env("SUMMARY_MARKDOWN_FILE", &fifo).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(),
        "replaced"
    );
    let got = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the reader got nothing");
    assert!(
        got.contains("pr-status: pass") && !got.contains("no verdict yet"),
        "{got}"
    );
}

#[test]
fn a_folder_is_exit_2_naming_the_variable_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    for var in [
        "SUMMARY_FILE",
        "SUMMARY_MARKDOWN_FILE",
        "SUMMARY_DOTENV_FILE",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
    ] {
        let server = bystander();
        let r = step().cloud(&server.url).env(var, dir.path()).run();
        assert_clean_failure(&r, 2);
        assert!(r.stderr.contains(&format!("{var}=")), "{var}: {}", r.stderr);
        assert!(r.stderr.contains("is a folder"), "{var}: {}", r.stderr);
        assert_eq!(server.connections(), 0, "{var}");
        assert!(dir.path().is_dir());
    }
}

#[test]
fn a_block_device_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let block = dir.path().join("disk");
    // A loop device number no machine uses: never opened, only looked at.
    sh("mknod", &[block.to_str().unwrap(), "b", "7", "250"]);
    let server = bystander();
    let r = step().cloud(&server.url).env("SUMMARY_DOTENV_FILE", &block).run();
    assert_clean_failure(&r, 2);
    assert!(
        r.stderr.contains("SUMMARY_DOTENV_FILE=") && r.stderr.contains("block device"),
        "{}",
        r.stderr
    );
    assert_eq!(server.connections(), 0);
    assert!(std::fs::symlink_metadata(&block).unwrap().file_type().is_block_device());
}

#[test]
fn a_symlink_is_replaced_by_a_file_and_its_target_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.json");
    std::fs::write(&target, "precious\n").unwrap();
    let null = dir.path().join("null");
    sh("mknod", &[null.to_str().unwrap(), "c", "1", "3"]);
    let server = passing();
    for pointee in [&target, &null] {
        let link = dir.path().join("link.json");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(pointee, &link).unwrap();
        let r = step().cloud(&server.url).env("SUMMARY_FILE", &link).run();
        assert_eq!(r.code, 0, "{}", r.stderr);
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(meta.file_type().is_file(), "the link itself became a regular file");
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&link).unwrap()).unwrap();
        assert_eq!(json["outcome"], "pass");
    }
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "precious\n",
        "target untouched"
    );
    assert!(is_char_device(&null));
}

// ---- Point 8: shared paths and long names ----

#[test]
fn concurrent_runs_sharing_one_summary_path_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let server = passing();
    let shared: Vec<(&str, String)> = vec![
        ("SUMMARY_FILE", dir.path().join("pr-status.json").display().to_string()),
        (
            "SUMMARY_MARKDOWN_FILE",
            dir.path().join("pr-status.md").display().to_string(),
        ),
        (
            "SUMMARY_DOTENV_FILE",
            dir.path().join("pr-status.env").display().to_string(),
        ),
    ];
    let mut failures = Vec::new();
    let mut runs = 0;
    for _round in 0..10 {
        let children: Vec<_> = (0..16)
            .map(|_| {
                let mut envs = shared.clone();
                envs.extend([
                    ("BITBUCKET_API_URL", format!("{}/2.0", server.url)),
                    ("BITBUCKET_WORKSPACE", "acme".into()),
                    ("BITBUCKET_REPO_SLUG", "widget".into()),
                    ("BITBUCKET_COMMIT", COMMIT.into()),
                    ("BITBUCKET_ACCESS_TOKEN", TOKEN.into()),
                ]);
                child_command(dir.path(), &envs).spawn().unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            runs += 1;
            if out.status.code() != Some(0) {
                failures.push(String::from_utf8_lossy(&out.stderr).into_owned());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed: {failures:#?}",
        failures.len()
    );
    assert_eq!(temp_files(dir.path()), Vec::<std::path::PathBuf>::new());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("pr-status.json")).unwrap()).unwrap();
    assert_eq!(json["outcome"], "pass");
}

#[test]
fn another_runs_temporary_file_is_left_alone_and_a_stale_one_removed() {
    // The deterministic form of the race above: a temporary file another run is writing right
    // now (young) stays; one a killed run left behind (older than an hour) goes.
    let dir = tempfile::tempdir().unwrap();
    let in_flight = dir.path().join(".pr-status.json.tmp-Other1");
    let stale = dir.path().join(".pr-status.json.tmp-Dead01");
    for p in [&in_flight, &stale] {
        std::fs::write(p, "{\"half\":").unwrap();
    }
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    let server = passing();
    let r = step()
        .cloud(&server.url)
        .env("SUMMARY_FILE", dir.path().join("pr-status.json"))
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(in_flight.exists(), "another run's write in flight was deleted");
    assert!(!stale.exists(), "a stale temporary file was kept");
}

#[test]
fn a_250_byte_file_name_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}.json", "s".repeat(245));
    assert_eq!(name.len(), 250);
    let path = dir.path().join(&name);
    let server = passing();
    for var in ["SUMMARY_FILE", "SUMMARY_MARKDOWN_FILE", "SUMMARY_DOTENV_FILE"] {
        let r = step().cloud(&server.url).env(var, &path).run();
        assert_eq!(r.code, 0, "{var}: {}", r.stderr);
        assert!(std::fs::read_to_string(&path).unwrap().contains("pass"), "{var}");
        assert_eq!(temp_files(dir.path()), Vec::<std::path::PathBuf>::new());
    }
}

/// Runs `f` with `chattr +i` on `path`, and removes the flag whatever happens. None when this
/// filesystem has no immutable flag.
fn immutable<T>(path: &Path, f: impl FnOnce() -> T) -> Option<T> {
    let set = Command::new("chattr").arg("+i").arg(path).output().unwrap();
    if !set.status.success() {
        eprintln!("chattr +i unsupported here: {}", String::from_utf8_lossy(&set.stderr));
        return None;
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    sh("chattr", &["-i", path.to_str().unwrap()]);
    Some(r.unwrap_or_else(|e| std::panic::resume_unwind(e)))
}

#[test]
fn messages_name_the_users_path_never_the_temporary_file() {
    // An immutable folder: no file can be created in it, so the temporary file fails.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("locked");
    std::fs::create_dir(&folder).unwrap();
    let path = folder.join("pr-status.env");
    let server = bystander();
    let ran = immutable(&folder, || {
        step().cloud(&server.url).env("SUMMARY_DOTENV_FILE", &path).run()
    });
    let Some(r) = ran else { return };
    assert_clean_failure(&r, 2);
    assert_error_summary(&r, "error", "io");
    assert!(
        r.stderr.contains(&format!("SUMMARY_DOTENV_FILE={}", path.display())),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(".tmp-"), "names a temporary file: {}", r.stderr);
    assert_eq!(server.connections(), 0);
}

// ---- Point 9: a file that cannot be replaced is found before the first request ----

#[test]
fn an_immutable_summary_file_is_exit_2_before_any_request() {
    for var in [
        "SUMMARY_FILE",
        "SUMMARY_MARKDOWN_FILE",
        "SUMMARY_DOTENV_FILE",
        "GITHUB_OUTPUT",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.out");
        std::fs::write(&path, "earlier\n").unwrap();
        let mut server = mockito::Server::new();
        let mock = server.mock("GET", mockito::Matcher::Any).expect(0).create();
        let ran = immutable(&path, || step().cloud(&server.url()).env(var, &path).run());
        let Some(r) = ran else { return };
        assert_clean_failure(&r, 2);
        assert!(
            r.stderr.contains(&format!("{var}={}", path.display())),
            "{var}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains(".tmp-"), "{var}: {}", r.stderr);
        if var != "GITHUB_OUTPUT" {
            assert!(
                r.stderr.contains("immutable or append-only"),
                "{var}: says why: {}",
                r.stderr
            );
        }
        if var != "SUMMARY_FILE" {
            assert_error_summary(&r, "error", "io");
        }
        mock.assert();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "earlier\n");
        assert_eq!(temp_files(dir.path()), Vec::<std::path::PathBuf>::new());
    }
}

// ---- Point 13: stdout closed or full ----

/// The binary with `args`, stdout going to `stdout`; its exit code and stderr.
fn run_to(stdout: Stdio, args: &[&str], envs: &[(&str, String)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = child_command(dir.path(), envs);
    cmd.args(args).stdout(stdout);
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A pipe whose read end is already closed: every write to it fails with EPIPE. Made from a
/// FIFO: a read-write handle lets the write-only open return at once, and closing it leaves
/// the write end without a reader.
fn closed_pipe() -> Stdio {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    sh("mkfifo", &[fifo.to_str().unwrap()]);
    let both = std::fs::OpenOptions::new().read(true).write(true).open(&fifo).unwrap();
    let writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    drop(both);
    Stdio::from(writer)
}

fn dev_full() -> Stdio {
    Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap())
}

#[test]
fn a_closed_or_full_stdout_is_no_panic_and_keeps_the_exit_code() {
    let pass = passing();
    let closed = cloud_index(|_, _| {
        let mut page: serde_json::Value = serde_json::from_str(&one_pr_page("Fix")).unwrap();
        page["values"][0]["state"] = "DECLINED".into();
        Reply::json(200, page.to_string())
    });
    let cloud = |url: &str, gha: bool| {
        let mut v = vec![
            ("BITBUCKET_API_URL", format!("{url}/2.0")),
            ("BITBUCKET_WORKSPACE", "acme".to_string()),
            ("BITBUCKET_REPO_SLUG", "widget".to_string()),
            ("BITBUCKET_COMMIT", COMMIT.to_string()),
            ("BITBUCKET_ACCESS_TOKEN", TOKEN.to_string()),
        ];
        if gha {
            v.push(("GITHUB_ACTIONS", "true".to_string()));
            v.push(("REQUIRE", "open".to_string()));
        }
        v
    };
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, String)>, i32);
    let cases: Vec<Case> = vec![
        ("pass", vec![], cloud(&pass.url, false), 0),
        ("gate closed, GitHub annotation", vec![], cloud(&closed.url, true), 1),
        ("config error", vec![], vec![("PROVIDER", "nonsense".to_string())], 2),
        ("demo", vec!["demo"], vec![], 0),
        (
            "--demo",
            vec!["--demo"],
            vec![("REQUIRE", "approved,not-draft".to_string())],
            0,
        ),
        ("--help", vec!["--help"], vec![], 0),
        ("--version", vec!["--version"], vec![], 0),
        ("usage error", vec!["--nonsense"], vec![], 2),
    ];
    for (what, args, envs, code) in cases {
        for (sink, stdout) in [("closed pipe", closed_pipe()), ("/dev/full", dev_full())] {
            let (exit, stderr) = run_to(stdout, &args, &envs);
            assert!(!stderr.contains("panicked"), "{what}, {sink}: {stderr}");
            assert_eq!(exit, code, "{what}, {sink}: {stderr}");
        }
    }
}

#[test]
fn piped_into_head_the_step_keeps_its_exit_code() {
    // `pr-status demo | head -c 100`: head leaves after 100 bytes.
    for args in [vec!["demo"], vec!["--help"]] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = child_command(dir.path(), &[("GITHUB_ACTIONS", "true".into())]);
        let mut child = child.args(&args).spawn().unwrap();
        let head = Command::new("head")
            .args(["-c", "100"])
            .stdin(Stdio::from(child.stdout.take().unwrap()))
            .output()
            .unwrap();
        assert_eq!(head.stdout.len(), 100, "{args:?}");
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn a_closed_or_full_stderr_with_debug_is_no_panic_and_keeps_the_exit_code() {
    // DEBUG writes a line per request to stderr; a panic there would exit 101 (134 in release).
    let pass = passing();
    let envs = vec![
        ("BITBUCKET_API_URL", format!("{}/2.0", pass.url)),
        ("BITBUCKET_WORKSPACE", "acme".to_string()),
        ("BITBUCKET_REPO_SLUG", "widget".to_string()),
        ("BITBUCKET_COMMIT", COMMIT.to_string()),
        ("BITBUCKET_ACCESS_TOKEN", format!(" {TOKEN} ")),
        ("DEBUG", "true".to_string()),
    ];
    for (what, sink) in [("closed pipe", closed_pipe()), ("/dev/full", dev_full())] {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = child_command(dir.path(), &envs);
        let status = cmd.stderr(sink).stdout(Stdio::null()).status().unwrap();
        assert_eq!(status.code(), Some(0), "{what}");
        let mut bad = envs.clone();
        bad.push(("REQUIRE", "no-such-condition".to_string()));
        let mut cmd = child_command(dir.path(), &bad);
        let sink = if what == "closed pipe" {
            closed_pipe()
        } else {
            dev_full()
        };
        assert_eq!(cmd.stderr(sink).status().unwrap().code(), Some(2), "{what}");
    }
}
