//! Running the binary as a child process (to kill it), and running cases side by side.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

/// The binary under test with an empty environment plus `envs`, in `dir`.
pub fn child_command(dir: &Path, envs: &[(&str, String)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pr-status"));
    cmd.env_clear().current_dir(dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// Files under `dir` whose name marks them as temporary summary files.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(temp_files(&p));
        } else if e.file_name().to_string_lossy().contains(".tmp") {
            out.push(p);
        }
    }
    out
}

/// Runs independent cases at the same time, at most 8 at once: most of their time is spent
/// waiting on timeouts and retries. Every case runs even when one fails.
pub fn parallel<T: Send>(cases: Vec<T>, each: impl Fn(T) + Sync) {
    let queue = Mutex::new(cases.into_iter().collect::<std::collections::VecDeque<T>>());
    let failed = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| loop {
                let Some(case) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| each(case))).is_err() {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    let failed = failed.load(Ordering::SeqCst);
    assert_eq!(failed, 0, "{failed} case(s) failed, see the panics above");
}
