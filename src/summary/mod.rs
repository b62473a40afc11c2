//! The summary of one run and its formats. Each format is a function returning a `String`;
//! `crate::write` puts them on disk.

pub mod dotenv;
pub mod github;
pub mod json;
pub mod markdown;
pub mod text;

use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::gate::{Condition, Decision, Evaluated, Outcome};
use crate::model::LookupKind;

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repository {
    pub full_name: String,
    pub url: Option<String>,
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
    pub destination_branch: Option<String>,
    pub lookup: Option<LookupKind>,
    pub outcome: Outcome,
    pub exit_code: u8,
    pub message: String,
    pub selected_pr: Option<u64>,
    pub pull_requests: Vec<Evaluated>,
    pub error: Option<ErrorInfo>,
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
            destination_branch: None,
            lookup: None,
            outcome: Outcome::Error,
            exit_code: 2,
            message: String::new(),
            selected_pr: None,
            pull_requests: Vec::new(),
            error: None,
        }
    }

    pub fn set_decision(&mut self, d: Decision) {
        self.outcome = d.outcome;
        self.exit_code = d.outcome.exit_code();
        self.message = d.message;
        self.selected_pr = d.selected;
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
