//! What the lookup asks for, decided from `GITHUB_SHA`, `GITHUB_EVENT_NAME` and the event
//! payload at `GITHUB_EVENT_PATH`.

use std::io::Read;

use serde::Deserialize;

use super::GithubEnv;
use crate::config;
use crate::error::{Error, Result};

/// The most of `GITHUB_EVENT_PATH` read: GitHub caps webhook payloads at 25 MB, and a path
/// such as /dev/zero must not be read until memory runs out.
const MAX_EVENT: u64 = 32 * 1024 * 1024;
/// Events whose payload names the pull request (and whose `GITHUB_SHA` is a merge commit).
const PR_EVENTS: [&str; 4] = [
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
];

/// What the lookup asks for, decided from `GITHUB_SHA` and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every PR containing the commit.
    Commit(String),
    /// One PR named by the event; `commit` is the commit the summary reports, `base` the
    /// branch it merges into when the event says (its rules can be read at once).
    Pr {
        number: u64,
        commit: Option<String>,
        base: Option<String>,
    },
}


/// The PR number in a merge queue branch: `refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>`.
pub(super) fn queue_pr_number(head_ref: &str) -> Option<u64> {
    if !head_ref.contains("gh-readonly-queue/") {
        return None;
    }
    let last = head_ref.rsplit('/').next()?;
    let (number, sha) = last.strip_prefix("pr-")?.split_once('-')?;
    if sha.is_empty() || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    config::pr_id("merge_group.head_ref", number).ok()
}

/// The event payload fields used (`GITHUB_EVENT_PATH`).
#[derive(Debug, Deserialize)]
struct Event {
    pull_request: Option<EventPr>,
    merge_group: Option<MergeGroup>,
}

#[derive(Debug, Deserialize)]
struct EventPr {
    number: u64,
    head: Option<EventHead>,
    base: Option<EventBase>,
}

#[derive(Debug, Deserialize)]
struct EventHead {
    sha: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EventBase {
    #[serde(rename = "ref")]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MergeGroup {
    head_sha: Option<String>,
    head_ref: Option<String>,
    base_ref: Option<String>,
}

/// Reads the event payload; any failure is a configuration error naming `GITHUB_EVENT_PATH`.
fn read_event(path: Option<&str>, event_name: &str) -> Result<Vec<u8>> {
    let Some(path) = path else {
        return Err(Error::config(format!(
            "GITHUB_EVENT_PATH is not set but GITHUB_EVENT_NAME is {event_name}: GitHub Actions sets it to the event payload; \
             elsewhere point it at the event JSON or unset GITHUB_EVENT_NAME"
        )));
    };
    let mut payload = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_EVENT + 1).read_to_end(&mut payload))
        .map_err(|e| {
            Error::config(format!(
                "GITHUB_EVENT_PATH={path} cannot be read ({e}): it must name the {event_name} event payload GitHub Actions wrote"
            ))
        })?;
    if payload.len() as u64 > MAX_EVENT {
        return Err(Error::config(format!(
            "GITHUB_EVENT_PATH={path} holds more than {} MiB, so it is not the {event_name} event payload GitHub Actions wrote \
             (GitHub caps payloads at 25 MB): point it at the event JSON",
            MAX_EVENT >> 20
        )));
    }
    Ok(payload)
}

/// Parses the event payload read from `path`; not the payload is a configuration error.
fn parse_event_payload(path: &str, event_name: &str, payload: &[u8]) -> Result<Event> {
    serde_json::from_slice(payload).map_err(|e| {
        Error::config(format!(
            "GITHUB_EVENT_PATH={path} is not a {event_name} event payload ({e}): point it at the event JSON GitHub Actions wrote"
        ))
    })
}

/// Decides what to look up from the commit and the event.
pub(super) fn target(env: &GithubEnv) -> Result<Target> {
    let event_name = env.github_event_name.as_deref().map(str::trim).unwrap_or("");
    let path = env.github_event_path.as_deref();
    target_of(event_name, path, env.github_sha.as_deref(), || {
        read_event(path, event_name)
    })
}

/// Decides what to look up from `GITHUB_SHA`, `GITHUB_EVENT_NAME` and, for the events that
/// name a pull request, the payload `read` gives (read only for those events).
fn target_of(
    event_name: &str,
    path: Option<&str>,
    github_sha: Option<&str>,
    read: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<Target> {
    let sha = github_sha.map(|s| config::commit("GITHUB_SHA", s)).transpose()?;
    let need_sha = |sha: Option<String>| {
        sha.ok_or_else(|| {
            Error::config(
                "GITHUB_SHA is not set: GitHub Actions sets it; elsewhere set it to the 40-hex commit id being built",
            )
        })
    };
    if PR_EVENTS.contains(&event_name) {
        let event = parse_event_payload(path.unwrap_or_default(), event_name, &read()?)?;
        let Some(pr) = event.pull_request else {
            return Err(Error::config(format!(
                "GITHUB_EVENT_PATH={} has no pull_request object although GITHUB_EVENT_NAME is {event_name}: point it at the event JSON GitHub Actions wrote",
                path.unwrap_or_default()
            )));
        };
        let number = config::pr_id("GITHUB_EVENT_PATH pull_request.number", &pr.number.to_string())?;
        let head = pr.head.and_then(|h| h.sha);
        let commit = match head {
            Some(h) => Some(config::commit("GITHUB_EVENT_PATH pull_request.head.sha", &h)?),
            None => sha,
        };
        let base = pr.base.and_then(|b| b.name).filter(|b| !b.is_empty());
        return Ok(Target::Pr { number, commit, base });
    }
    if event_name == "merge_group" {
        let event = parse_event_payload(path.unwrap_or_default(), event_name, &read()?)?;
        let Some(group) = event.merge_group else {
            return Err(Error::config(format!(
                "GITHUB_EVENT_PATH={} has no merge_group object although GITHUB_EVENT_NAME is merge_group: point it at the event JSON GitHub Actions wrote",
                path.unwrap_or_default()
            )));
        };
        let commit = match group.head_sha {
            Some(h) => config::commit("GITHUB_EVENT_PATH merge_group.head_sha", &h)?,
            None => need_sha(sha)?,
        };
        return Ok(match group.head_ref.as_deref().and_then(queue_pr_number) {
            Some(number) => Target::Pr {
                number,
                commit: Some(commit),
                base: group
                    .base_ref
                    .as_deref()
                    .map(|r| r.strip_prefix("refs/heads/").unwrap_or(r).to_string())
                    .filter(|b| !b.is_empty()),
            },
            // A queue branch name in an unknown format: the commit index still answers.
            None => Target::Commit(commit),
        });
    }
    Ok(Target::Commit(need_sha(sha)?))
}

/// What the step looks up given `GITHUB_EVENT_NAME`, the event payload (the file at
/// `GITHUB_EVENT_PATH`) and `GITHUB_SHA`. A payload that is not the event's is a configuration
/// error naming `GITHUB_EVENT_PATH` (exit 2); it never panics, whatever the bytes.
pub fn parse_event(event_name: &str, payload: &[u8], github_sha: Option<&str>) -> Result<Target> {
    target_of(
        event_name.trim(),
        Some("<payload>"),
        github_sha,
        || Ok(payload.to_vec()),
    )
}

