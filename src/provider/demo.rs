//! `pr-status demo`: the whole step against built-in sample data, behind the same
//! `Provider` interface as the real forges. No network, no credentials.

use crate::error::Result;
use crate::http::Http;
use crate::model::{
    Build, BuildState, Lookup, LookupKind, MergeVeto, PrState, PullRequest, Repository, ReviewState, Reviewer, Rules,
};
use crate::provider::{Entry, Provider, ProviderKind};

pub const COMMIT: &str = "4f9c2e1d7b3a5c8e0f1a2b3c4d5e6f708192a3b4";

#[derive(Debug, Default)]
pub struct Demo;

/// The demo in the registry (`provider::registry::DEMO`): chosen by `pr-status demo` only,
/// never detected and not a `PROVIDER` value.
pub static ENTRY: Entry = Entry {
    name: "demo",
    ci: None,
    precedence: u8::MAX,
    detected_when: "",
    detect: |_| None,
    reads: &[],
    read_prefixes: &[],
    credentials: &[],
    open: |_| Ok(Box::new(Demo)),
    own_run: None,
    ci_output: None,
};

/// The sample pull requests: id, title, state, source and destination branch, last update.
#[rustfmt::skip]
const SAMPLES: [(u64, &str, PrState, &str, &str, &str); 3] = [
    (42, "Add retry budget to the deploy step", PrState::Open, "feature/retries", "main", "2026-11-28T16:30"),
    (43, "WIP: backport retries to release/1.x", PrState::Open, "feature/retries", "release/1.x", "2026-11-28T17:05"),
    (17, "Retry prototype", PrState::Declined, "spike/retries", "main", "2026-11-02T11:00"),
];

/// A sample pull request (a row of `SAMPLES`), without builds.
fn pr((id, title, state, source, dest, updated): (u64, &str, PrState, &str, &str, &str)) -> PullRequest {
    let mut p = PullRequest::new(id, title, state);
    p.draft = Some(false);
    p.url = Some(format!(
        "https://bitbucket.org/demo-workspace/demo-repo/pull-requests/{id}"
    ));
    p.author = Some("Ada Lovelace".into());
    p.source_branch = Some(source.into());
    p.destination_branch = Some(dest.into());
    p.source_commit = Some(COMMIT[..12].into());
    p.created_on = Some("2026-11-20T09:00:00+00:00".into());
    p.updated_on = Some(format!("{updated}:00+00:00"));
    p.open_tasks = Some(0);
    p.comment_count = Some(3);
    p
}

fn review(name: &str, state: ReviewState) -> Reviewer {
    Reviewer::new(name, state)
}

fn build(key: &str, name: &str, state: BuildState) -> Build {
    Build::new(
        key,
        Some(name.into()),
        state,
        Some(format!("https://ci.example.com/builds/{key}")),
    )
}

/// Three pull requests containing the demo commit, in different states, so that each
/// `REQUIRE` condition can be seen passing and failing.
pub fn sample() -> Vec<PullRequest> {
    let [mut ready, mut draft, mut old] = SAMPLES.map(pr);
    ready.builds = vec![
        build("unit-tests", "Unit tests", BuildState::Successful),
        build("lint", "Lint", BuildState::Successful),
    ];
    ready.set_reviews([
        review("Grace Hopper", ReviewState::Approved)
            .given_on(Some("2026-11-28T16:00:00+00:00"))
            .given_at(Some(&COMMIT[..12]), Some(&COMMIT[..12])),
        review("Alan Turing", ReviewState::Pending),
    ]);
    ready.mergeable = Some(true);

    draft.builds = vec![
        build("unit-tests", "Unit tests", BuildState::Successful),
        build("integration", "Integration tests", BuildState::Inprogress),
    ];
    draft.draft = Some(true);
    draft.set_reviews([review("Grace Hopper", ReviewState::ChangesRequested)]);
    draft.mergeable = Some(false);
    draft.merge_vetoes = vec![MergeVeto::new(
        "require_no_changes_requested",
        "Grace Hopper requested changes",
    )];
    draft.open_tasks = Some(2);

    old.builds = vec![build("unit-tests", "Unit tests", BuildState::Failed)];
    old.set_reviews([review("Alan Turing", ReviewState::Pending)]);

    let mut prs = vec![ready, draft, old];
    // The sample repository's rules: one approval, approvals reset on push, and the unit tests
    // required (`MIN_APPROVALS=auto`, `FRESH_APPROVALS=auto`, `REQUIRED_BUILDS=auto`).
    for p in &mut prs {
        p.rules = Some(Rules {
            min_approvals: Some(1),
            required_builds: vec!["unit-tests".into()],
            fresh_approvals: Some(true),
            ..Rules::default()
        });
    }
    prs
}

impl Provider for Demo {
    fn kind(&self) -> ProviderKind {
        &ENTRY
    }

    fn repository(&self) -> Repository {
        Repository {
            full_name: "demo-workspace/demo-repo".into(),
            url: Some("https://bitbucket.org/demo-workspace/demo-repo".into()),
        }
    }

    fn commit(&self) -> Option<String> {
        Some(COMMIT.into())
    }

    fn http(&self) -> Option<&Http> {
        None
    }

    async fn lookup(&mut self) -> Result<Lookup> {
        Ok(Lookup {
            kind: LookupKind::Commit,
            pull_requests: sample(),
        })
    }
}
