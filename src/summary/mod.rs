//! The summary of one run and its formats. Each format is a function returning a `String`;
//! `crate::write` puts them on disk.

pub mod dotenv;
pub mod github;
pub mod json;
pub mod markdown;
pub mod pipelines;
pub mod text;

use serde::Serialize;

use crate::credentials::Redactor;
use crate::error::{Error, ErrorKind};
use crate::exit::ExitCode;
use crate::gate::{Condition, Decision, Evaluated, Outcome, Source};
use crate::model::{LookupKind, Repository};

/// The `exit_code` of the "no verdict yet" placeholder. The schema's codes have none for "the
/// run never finished" (a SIGKILL'd process exits 137); 4, "no usable answer", is what a
/// pipeline should do with it: stop, and run the step again.
pub const PLACEHOLDER_EXIT_CODE: ExitCode = ExitCode::Api;

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorInfo {
    pub kind: ErrorKind,
    pub message: String,
    pub http_status: Option<u16>,
}

/// The JSON summary document (`spec/pr-status.schema.json`, version 1).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub schema_version: u8,
    pub tool: Tool,
    pub provider: Option<&'static str>,
    pub repository: Option<Repository>,
    pub commit: Option<String>,
    pub generated_at: String,
    pub require: Vec<Condition>,
    pub min_approvals: u32,
    /// Where `min_approvals` came from: `MIN_APPROVALS`, or the rules (`MIN_APPROVALS=auto`).
    pub min_approvals_source: Source,
    pub destination_branch: Option<String>,
    /// `REQUIRED_BUILDS` as used.
    pub required_builds: Vec<String>,
    pub lookup: Option<LookupKind>,
    pub outcome: Outcome,
    pub exit_code: ExitCode,
    pub message: String,
    pub selected_pr: Option<u64>,
    pub pull_requests: Vec<Evaluated>,
    pub error: Option<ErrorInfo>,
    /// The requests this run sent and the quota the forge reported; absent when nothing was
    /// sent (a configuration error, the demo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<Api>,
}

/// The `api` block of the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Api {
    /// Requests sent (retries included; kept answers reused by a poll are not requests).
    pub requests: u32,
    /// What the forge said is left of its quota (GitHub, GitLab); `null` when it did not say
    /// (Bitbucket sends only whether it is near its limit).
    pub remaining: Option<u64>,
    /// When the quota resets (RFC 3339), when the forge said.
    pub reset_at: Option<String>,
}

impl Api {
    /// The figures of the client `h` so far.
    pub fn of(h: &crate::http::Http) -> Api {
        let q = h.quota();
        Api {
            requests: h.request_count(),
            remaining: q.remaining,
            reset_at: q.reset_at(),
        }
    }
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or_unknown = |v: Option<String>| v.unwrap_or_else(|| "unknown".into());
        write!(
            f,
            "{} requests, remaining {}, resets at {}",
            self.requests,
            or_unknown(self.remaining.map(|r| r.to_string())),
            or_unknown(self.reset_at.clone())
        )
    }
}

impl Summary {
    /// An empty summary: what is written when the run fails before the lookup.
    pub fn new() -> Summary {
        Summary {
            schema_version: 1,
            tool: Tool {
                name: "pr-status",
                version: env!("CARGO_PKG_VERSION"),
            },
            provider: None,
            repository: None,
            commit: None,
            generated_at: now_rfc3339(),
            require: Vec::new(),
            min_approvals: 1,
            min_approvals_source: Source::Setting,
            destination_branch: None,
            required_builds: Vec::new(),
            lookup: None,
            outcome: Outcome::Error,
            exit_code: ExitCode::Config,
            message: String::new(),
            selected_pr: None,
            pull_requests: Vec::new(),
            error: None,
            api: None,
        }
    }

    /// What every atomically written summary holds from before the first request until the
    /// run's own summary replaces it: `outcome: error`, `error.kind: interrupted`, "no verdict
    /// yet". A later step finds it only when the run was ended in a way no handler sees
    /// (SIGKILL, the OOM killer, a lost machine), so no earlier run's `pass` survives that.
    pub fn placeholder() -> Summary {
        let mut s = Summary::new();
        let message = format!(
            "no verdict yet: pr-status started at {} and has not finished; if the step has ended, \
             it was killed before it could decide, so treat the gate as closed",
            s.generated_at
        );
        s.exit_code = PLACEHOLDER_EXIT_CODE;
        s.error = Some(ErrorInfo {
            kind: ErrorKind::Interrupted,
            message: message.clone(),
            http_status: None,
        });
        s.message = message;
        s
    }

    pub fn set_decision(&mut self, d: Decision) {
        self.outcome = d.outcome;
        self.exit_code = d.outcome.exit_code();
        self.message = d.message;
        self.selected_pr = d.selected;
        self.min_approvals = d.min_approvals;
        self.min_approvals_source = d.min_approvals_source;
        self.required_builds = d.required_builds;
        self.pull_requests = d.pull_requests;
        self.error = None;
    }

    /// Records a failure. A commit still being indexed is `pending` (exit 8), not `error`.
    pub fn set_error(&mut self, e: &Error, message: String) {
        self.outcome = match e {
            Error::Indexing(_) => Outcome::Pending,
            _ => Outcome::Error,
        };
        self.exit_code = e.exit_code();
        self.error = Some(ErrorInfo {
            kind: e.kind(),
            message: message.clone(),
            http_status: e.http_status(),
        });
        self.message = message;
    }

    /// Replaces every secret in every text of the summary. Done before any format renders it:
    /// once escaped (Markdown's `a\_b`), cut short (the report's 72-character titles),
    /// percent-encoded (links) or quoted, a secret echoed by a server no longer matches the
    /// text-level redaction that follows.
    pub fn redact(&mut self, r: &Redactor) {
        let text = |s: &mut String| *s = r.redact(s);
        let opt = |o: &mut Option<String>| {
            if let Some(s) = o {
                *s = r.redact(s);
            }
        };
        if let Some(repo) = &mut self.repository {
            text(&mut repo.full_name);
            opt(&mut repo.url);
        }
        opt(&mut self.commit);
        opt(&mut self.destination_branch);
        text(&mut self.message);
        if let Some(e) = &mut self.error {
            text(&mut e.message);
        }
        for e in &mut self.pull_requests {
            let p = &mut e.pr;
            text(&mut p.title);
            for o in [
                &mut p.url,
                &mut p.author,
                &mut p.source_branch,
                &mut p.destination_branch,
                &mut p.source_commit,
                &mut p.created_on,
                &mut p.updated_on,
            ] {
                opt(o);
            }
            for rv in &mut p.reviewers {
                text(&mut rv.name);
            }
            for b in &mut p.builds {
                text(&mut b.key);
                opt(&mut b.name);
                opt(&mut b.url);
            }
        }
    }

    /// The PR the dotenv and step outputs describe.
    pub fn selected(&self) -> Option<&Evaluated> {
        let id = self.selected_pr?;
        self.pull_requests.iter().find(|e| e.pr.id == id)
    }
}

impl Default for Summary {
    fn default() -> Self {
        Summary::new()
    }
}

/// An unmet condition as the Markdown and stdout reports name it: the condition, and for
/// `mergeable` the forge's vetoes (or why its verdict is unknown).
pub fn unmet_text(e: &Evaluated, c: Condition) -> String {
    match c {
        Condition::Mergeable => format!("mergeable ({})", crate::gate::merge_why(&e.pr)),
        c => c.as_str().to_string(),
    }
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The flat key/value view shared by dotenv and GitHub step outputs.
pub struct Flat {
    pub found: bool,
    pub count: usize,
    pub id: String,
    pub title: String,
    pub state: String,
    pub url: String,
    pub draft: String,
    pub author: String,
    pub source_branch: String,
    pub destination_branch: String,
    pub approvals: String,
    pub changes_requested: String,
}

impl Flat {
    pub fn of(s: &Summary) -> Flat {
        let sel = s.selected().map(|e| &e.pr);
        let opt = |v: Option<&String>| v.cloned().unwrap_or_default();
        Flat {
            found: !s.pull_requests.is_empty(),
            count: s.pull_requests.len(),
            id: sel.map(|p| p.id.to_string()).unwrap_or_default(),
            title: sel.map(|p| p.title.clone()).unwrap_or_default(),
            state: sel.map(|p| p.state.as_str().to_string()).unwrap_or_default(),
            url: opt(sel.and_then(|p| p.url.as_ref())),
            draft: sel.map(|p| (p.draft == Some(true)).to_string()).unwrap_or_default(),
            author: opt(sel.and_then(|p| p.author.as_ref())),
            source_branch: opt(sel.and_then(|p| p.source_branch.as_ref())),
            destination_branch: opt(sel.and_then(|p| p.destination_branch.as_ref())),
            approvals: sel.map(|p| p.approvals.to_string()).unwrap_or_default(),
            changes_requested: sel.map(|p| p.changes_requested.to_string()).unwrap_or_default(),
        }
    }
}
