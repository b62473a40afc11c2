//! Unit tests of the GitHub provider's pure parts.

use reqwest::Url;

use super::api::{check_state, status_state};
use super::event::queue_pr_number;
use super::{web_base, GithubEnv};
use crate::model::BuildState;

#[test]
fn merge_queue_branches_name_their_pr() {
    let n = |r: &str| queue_pr_number(r);
    assert_eq!(
        n("refs/heads/gh-readonly-queue/main/pr-123-0123456789abcdef"),
        Some(123)
    );
    assert_eq!(n("gh-readonly-queue/release/1.x/pr-7-abcdef0"), Some(7));
    assert_eq!(n("refs/heads/gh-readonly-queue/main/pr-x-abc"), None);
    assert_eq!(n("refs/heads/gh-readonly-queue/main/pr-12-"), None);
    assert_eq!(n("refs/heads/feature/pr-12-abc"), None);
    assert_eq!(n("refs/heads/gh-readonly-queue/main/pr-0-abc"), None);
}

#[test]
fn check_runs_map_to_the_four_states() {
    let c = |s: &str, c: Option<&str>| check_state(Some(s), c);
    for s in ["queued", "in_progress", "waiting", "requested", "pending"] {
        assert_eq!(c(s, None), BuildState::Inprogress, "{s}");
    }
    for (conclusion, want) in [
        ("success", BuildState::Successful),
        ("neutral", BuildState::Successful),
        ("skipped", BuildState::Successful),
        ("failure", BuildState::Failed),
        ("timed_out", BuildState::Failed),
        ("action_required", BuildState::Failed),
        ("cancelled", BuildState::Stopped),
        ("stale", BuildState::Stopped),
        ("something_new", BuildState::Stopped),
    ] {
        assert_eq!(c("completed", Some(conclusion)), want, "{conclusion}");
    }
    assert_eq!(status_state(Some("error")), BuildState::Failed);
    assert_eq!(status_state(Some("pending")), BuildState::Inprogress);
}

#[test]
fn web_base_for_github_com_and_enterprise() {
    let env = |server: Option<&str>| GithubEnv {
        github_repository: None,
        github_api_url: None,
        github_server_url: server.map(String::from),
        github_sha: None,
        github_event_name: None,
        github_event_path: None,
    };
    let u = |s: &str| Url::parse(s).unwrap();
    assert_eq!(
        web_base(&env(None), &u("https://api.github.com")).as_deref(),
        Some("https://github.com")
    );
    assert_eq!(
        web_base(&env(None), &u("https://ghe.example/api/v3")).as_deref(),
        Some("https://ghe.example")
    );
    assert_eq!(
        web_base(&env(Some("https://ghe.example/")), &u("https://x/api")).as_deref(),
        Some("https://ghe.example")
    );
    assert_eq!(web_base(&env(None), &u("http://127.0.0.1:9/")), None);
}
