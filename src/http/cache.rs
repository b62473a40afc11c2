//! Answers kept for the wait for builds: conditional requests and polls that re-read only
//! what can change the verdict.
//!
//! Every `200` answer to a GET is kept with its `ETag`. A later GET of the same URL sends
//! `If-None-Match`, and a `304 Not Modified` is answered with the kept body: on GitHub a 304
//! does not count against the primary rate limit. GitLab sends (weak) ETags; Bitbucket Cloud
//! and Data Center document none, so they get no conditional request, only the reuse below.
//!
//! While waiting, most polls re-read only the build lists (`builds_only`): every other GET
//! (the pull-request list, reviews, rules) is answered from the kept answers without a
//! request, and the shared flow marks the build reads (`build_read`) that must be sent. A
//! URL asked for a second time in the same poll is sent: the provider is waiting for it to
//! change (a commit still being indexed, a merge verdict still being computed).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};

use super::Response;

tokio::task_local! {
    static READING: Reading;
}

/// Numbers the polls, so that a kept answer is reused once per poll at most.
static POLLS: AtomicU64 = AtomicU64::new(0);

/// What the requests made inside a scope read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// A poll (its number) that re-reads only build lists: other GETs reuse the kept answer.
    BuildsOnly(u64),
    /// A build list (or an answer that carries build states): always sent.
    Builds,
}

/// Runs `lookup` as a poll that re-reads only the build lists (see the module's text).
pub async fn builds_only<F: Future>(lookup: F) -> F::Output {
    let poll = POLLS.fetch_add(1, Ordering::Relaxed) + 1;
    READING.scope(Reading::BuildsOnly(poll), lookup).await
}

/// Runs `read` as a read of build states: sent even in a `builds_only` poll.
pub async fn build_read<F: Future>(read: F) -> F::Output {
    READING.scope(Reading::Builds, read).await
}

/// Whether the current poll re-reads only build lists (the flow then re-reads every head's
/// builds itself instead of taking the ones its list request fetched alongside).
pub fn reading_builds_only() -> bool {
    poll().is_some()
}

/// The number of the current `builds_only` poll.
fn poll() -> Option<u64> {
    match READING.try_with(|r| *r) {
        Ok(Reading::BuildsOnly(n)) => Some(n),
        _ => None,
    }
}

/// One kept answer.
#[derive(Debug, Clone)]
struct Kept {
    etag: Option<String>,
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    url: Url,
    /// The poll that last reused it.
    reused_in: Option<u64>,
}

impl Kept {
    fn response(&self) -> Response {
        Response {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone(),
            url: self.url.clone(),
        }
    }
}

/// The answers of one client, by URL.
#[derive(Debug, Default)]
pub(super) struct Cache {
    kept: Mutex<HashMap<String, Kept>>,
}

impl Cache {
    /// The kept answer to reuse without a request, in a `builds_only` poll.
    pub(super) fn reuse(&self, url: &Url) -> Option<Response> {
        let poll = poll()?;
        let mut kept = self.lock();
        let entry = kept.get_mut(url.as_str()).filter(|k| k.reused_in != Some(poll))?;
        entry.reused_in = Some(poll);
        Some(entry.response())
    }

    /// The `ETag` to send as `If-None-Match`, when an answer with one is kept.
    pub(super) fn etag(&self, url: &Url) -> Option<String> {
        self.lock().get(url.as_str()).and_then(|k| k.etag.clone())
    }

    /// The kept answer for a `304 Not Modified`.
    pub(super) fn not_modified(&self, url: &Url) -> Option<Response> {
        self.lock().get(url.as_str()).map(Kept::response)
    }

    /// Keeps a `200` answer (other successes, such as a `202` "still indexing", are not kept).
    pub(super) fn keep(&self, sent: &Url, resp: &Response) {
        if resp.status != StatusCode::OK {
            return;
        }
        let etag = resp.header("etag").map(str::to_string);
        let kept = Kept {
            etag,
            status: resp.status,
            headers: resp.headers.clone(),
            body: resp.body.clone(),
            url: resp.url.clone(),
            reused_in: None,
        };
        self.lock().insert(sent.as_str().to_string(), kept);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Kept>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}
