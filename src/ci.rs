//! The CI run this step is part of. Its own build status is still running while the step
//! runs, so it must never make the gate wait for itself (docs/contract.md, "The gate").
//!
//! Each CI contributes how it names its running build (`OwnRun`): a forge's CI through its
//! registry entry (`provider::Entry::own_run`), Jenkins here, since it serves every forge.

use crate::env::Vars;
use crate::model::Build;

/// One CI's running build: its id, and how that CI's statuses name it.
#[derive(Clone)]
pub struct OwnRun {
    /// The CI, for messages: "GitHub Actions".
    pub ci: &'static str,
    /// The id as the CI gives it: a run number, or Jenkins' build URL.
    pub id: String,
    /// Whether `build` is the status of the run `id` (passed as the first argument).
    pub names: fn(&str, &Build) -> bool,
}

impl std::fmt::Debug for OwnRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.ci, self.id)
    }
}

impl PartialEq for OwnRun {
    fn eq(&self, other: &Self) -> bool {
        self.ci == other.ci && self.id == other.id
    }
}

impl Eq for OwnRun {}

/// Identifiers of the running pipeline, from the variables each CI sets by itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrentRun {
    runs: Vec<OwnRun>,
}

impl CurrentRun {
    pub fn new(runs: Vec<OwnRun>) -> Self {
        CurrentRun { runs }
    }

    /// The running build's id in the CI named `ci`, if it is running one.
    pub fn id(&self, ci: &str) -> Option<&str> {
        self.runs.iter().find(|r| r.ci == ci).map(|r| r.id.as_str())
    }

    /// Whether `build` is the status of this very run, as any CI recognises it: one machine is
    /// in one CI, and a provider only sets the run id of its own CI's runs.
    pub fn is_own(&self, build: &Build) -> bool {
        self.runs.iter().any(|r| (r.names)(&r.id, build))
    }
}

/// A variable holding a run number: digits only, blanks around ignored.
pub fn digits(vars: &Vars, name: &str) -> Option<String> {
    vars.get(name)
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
        .map(String::from)
}

/// Whether the forge said which run the status belongs to (GitLab's `pipeline_id`) and it is
/// `id`. Run ids are compared whole.
pub fn filed_under(id: &str, build: &Build) -> bool {
    build.run.as_deref() == Some(id)
}

/// True when the URL holds `.../{name}/{value}` as whole segments, so that run 12 is not
/// mistaken for run 123. Fragments count too: Pipelines links look like
/// `.../addon/pipelines/home#!/results/12`.
pub fn has_segment_pair(url: &str, name: &str, value: &str) -> bool {
    let segments: Vec<&str> = url.split(['/', '#', '!', '?', '&']).filter(|s| !s.is_empty()).collect();
    segments.windows(2).any(|w| w[0] == name && w[1] == value)
}

/// Jenkins: `BUILD_URL`; a status linking to it (or below it) is this build's.
pub fn jenkins(vars: &Vars) -> Option<OwnRun> {
    let own = vars.get("BUILD_URL")?.trim_end_matches('/').to_string();
    Some(OwnRun {
        ci: "Jenkins",
        id: own,
        names: |own, build| {
            let u = build.url.as_deref().unwrap_or("").trim_end_matches('/');
            !own.is_empty() && (u == own || u.starts_with(&format!("{own}/")))
        },
    })
}
