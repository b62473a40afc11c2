//! The one list of forges, and the one place that maps the environment to a configuration and
//! a provider: `PROVIDER` or the detection table, every forge's variables, the running CI
//! build, `--help`'s provider lines.
//!
//! Adding a forge: its file (or folder) under `src/provider/` with its `pub static ENTRY`, and
//! one line in the `forges!` list of `src/provider/mod.rs` (docs/architecture.md).

use crate::ci::{self, CurrentRun};
use crate::config::{Config, Detection, Outputs, Problems, Vars};
use crate::error::{Error, Result};
use crate::summary::Summary;

pub use super::FORGES;
use super::{bitbucket_cloud, DynProvider, Entry};

/// What answers when no forge's variable is set (docs/variables.md: "when nothing else matches").
pub static DEFAULT: &Entry = &bitbucket_cloud::ENTRY;

/// `pr-status demo`: built-in sample data; never detected, and not a `PROVIDER` value.
pub static DEMO: &Entry = &super::demo::ENTRY;

/// The forges in detection order.
fn by_precedence() -> Vec<&'static Entry> {
    let mut all = FORGES.to_vec();
    all.sort_by_key(|e| e.precedence);
    all
}

/// The `PROVIDER` values, alphabetically.
fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = FORGES.iter().map(|e| e.name).collect();
    names.sort_unstable();
    names
}

/// `a, b, c or d`.
fn either(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The forge named by `PROVIDER=name` (any case, blanks around ignored).
pub fn by_name(name: &str) -> Option<&'static Entry> {
    let name = name.trim().to_ascii_lowercase();
    FORGES.iter().copied().find(|e| e.name == name)
}

/// The provider table (docs/variables.md): an explicit `PROVIDER` wins, else the first forge (by precedence)
/// whose variable is set, else `DEFAULT`. Returns how the choice was made too, for messages.
pub fn select(vars: &Vars) -> Result<(&'static Entry, Detection)> {
    if let Some(p) = vars.get("PROVIDER") {
        return match by_name(p) {
            Some(e) => Ok((e, Detection::Explicit)),
            None => Err(Error::config(format!(
                "PROVIDER={p:?} is not a provider: use {}",
                either(&names())
            ))),
        };
    }
    let mut matched = by_precedence()
        .into_iter()
        .filter_map(|e| (e.detect)(vars).map(|because| (e, because)));
    match matched.next() {
        Some((e, because)) => Ok((
            e,
            Detection::Variable {
                because,
                outranked: matched.map(|(e, w)| (e.name, w)).collect(),
            },
        )),
        None => Ok((DEFAULT, Detection::Default)),
    }
}

/// Whether any forge (or the shared configuration) reads the variable `name`.
fn read_by_a_forge(name: &str) -> bool {
    FORGES.iter().any(|e| e.reads(name))
}

/// The running pipeline, as every CI the registry knows sees it (and Jenkins).
pub fn current_run(vars: &Vars) -> CurrentRun {
    let runs = FORGES.iter().filter_map(|e| e.own_run).filter_map(|own| own(vars));
    CurrentRun::new(runs.chain(ci::jenkins(vars)).collect())
}

/// Validates everything; `demo` skips provider detection. Every problem is named in one
/// error, one line each: the shared variables' and, when there are any, the chosen
/// provider's own (so the run that reports a bad `MIN_APPROVALS` also reports a missing
/// `GITHUB_TOKEN`). With no shared problem the provider's `open` reports its own
/// (`problems`).
pub fn configure(vars: Vars, demo: bool) -> Result<Config> {
    choose(vars, demo).map(|(cfg, _)| cfg)
}

/// `configure`, with the entry of the chosen forge.
pub fn choose(vars: Vars, demo: bool) -> Result<(Config, &'static Entry)> {
    vars.refuse_not_utf8(read_by_a_forge)?;
    let mut problems = Problems::default();
    let chosen = if demo {
        Some((DEMO, Detection::Explicit))
    } else {
        problems.check(select(&vars))
    };
    let current_run = current_run(&vars);
    let named = chosen.as_ref().map(|(e, d)| (e.name, d.clone()));
    let cfg = Config::read(vars, named, current_run, &mut problems)?;
    let Some((entry, _)) = chosen else {
        problems.finish()?;
        return Err(Problems::incomplete());
    };
    if problems.is_empty() {
        return Ok((cfg, entry));
    }
    // The configuration is wrong: name the provider's problems in the same run. The
    // provider is only built here to find them; nothing is sent.
    if let Err(e) = (entry.open)(&cfg) {
        problems.check::<()>(Err(e));
    }
    problems.finish()?;
    Err(Problems::incomplete())
}

/// The entry of the provider `cfg` was made for.
pub fn entry(cfg: &Config) -> Result<&'static Entry> {
    if cfg.provider == DEMO.name {
        return Ok(DEMO);
    }
    by_name(cfg.provider).ok_or_else(Problems::incomplete)
}

/// Builds the provider of `cfg` (`Entry::open`): validates its variables, sends nothing.
pub fn open(cfg: &Config) -> Result<Box<dyn DynProvider>> {
    (entry(cfg)?.open)(cfg)
}

/// What the configured provider's own validation refuses, if anything (it sends nothing).
pub fn problems(cfg: &Config) -> Option<Error> {
    open(cfg).err()
}

/// What every forge's CI reads from the step's stdout once the summaries are written.
pub fn ci_output(summary: &Summary, outputs: &Outputs, vars: &Vars) -> String {
    FORGES
        .iter()
        .filter_map(|e| e.ci_output)
        .map(|out| out(summary, outputs, vars))
        .collect()
}

/// `--help`'s lines about the providers, from the entries.
pub fn help() -> String {
    let cis: Vec<&str> = by_precedence().iter().filter_map(|e| e.ci).collect();
    let order: Vec<&str> = by_precedence().iter().map(|e| e.detected_when).collect();
    let text = format!(
        "Configuration comes from environment variables (see README): inside {} only credentials are \
         needed, e.g. BITBUCKET_ACCESS_TOKEN. PROVIDER ({}) overrides the detection: {}; else {}. \
         Every missing or invalid variable is named, one line each.",
        either_and(&cis),
        names().join(", "),
        order.join(", then "),
        DEFAULT.name
    );
    wrap(&text, 100)
}

/// `a, b and c`.
fn either_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Words joined into lines of at most `width` characters (a longer word stands alone).
fn wrap(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = vec![String::new()];
    for word in text.split_whitespace() {
        let Some(line) = lines.last_mut() else { break };
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Build, BuildState};

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn names_and_precedences_are_unique() {
        let mut names: Vec<&str> = FORGES.iter().map(|e| e.name).collect();
        names.push(DEMO.name);
        let mut precedences: Vec<u8> = FORGES.iter().map(|e| e.precedence).collect();
        names.sort_unstable();
        names.dedup();
        precedences.sort_unstable();
        precedences.dedup();
        assert_eq!(names.len(), FORGES.len() + 1);
        assert_eq!(precedences.len(), FORGES.len());
    }

    #[test]
    fn the_schema_lists_every_forge() {
        let schema: serde_json::Value = serde_json::from_str(include_str!("../../spec/pr-status.schema.json")).unwrap();
        let text = schema.to_string();
        for e in FORGES.iter().chain([&DEMO]) {
            assert!(
                text.contains(&format!("\"{}\"", e.name)),
                "{} is not in the schema",
                e.name
            );
        }
    }

    #[test]
    fn every_credential_variable_is_refused_when_not_utf8() {
        for e in FORGES {
            for form in e.credentials {
                assert!(!form.variables.is_empty(), "{}: {}", e.name, form.name);
                for v in form.variables {
                    assert!(read_by_a_forge(v), "{}: {v}", e.name);
                }
            }
        }
    }

    #[test]
    fn provider_detection_follows_the_table() {
        let detect = |p: &[(&str, &str)]| configure(vars(p), false).map(|c| c.provider);
        assert_eq!(detect(&[]).unwrap(), "bitbucket-cloud");
        assert_eq!(detect(&[("GITHUB_ACTIONS", "true")]).unwrap(), "github");
        assert_eq!(detect(&[("GITLAB_CI", "true")]).unwrap(), "gitlab");
        assert_eq!(
            detect(&[("GITLAB_CI", "true"), ("BITBUCKET_SERVER_URL", "https://x")]).unwrap(),
            "bitbucket-datacenter"
        );
        assert_eq!(
            detect(&[("GITHUB_ACTIONS", "true"), ("BITBUCKET_WORKSPACE", "w")]).unwrap(),
            "bitbucket-cloud"
        );
        assert_eq!(
            detect(&[("PROVIDER", "gitlab"), ("BITBUCKET_SERVER_URL", "https://x")]).unwrap(),
            "gitlab"
        );
        let err = detect(&[("PROVIDER", "svn")]).unwrap_err().to_string();
        assert!(
            err.contains("PROVIDER") && err.contains("bitbucket-cloud, bitbucket-datacenter, github or gitlab"),
            "{err}"
        );
        assert!(
            detect(&[("PROVIDER", "demo")]).is_err(),
            "the demo is not a PROVIDER value"
        );
    }

    #[test]
    fn help_names_every_forge_in_detection_order() {
        let text = help();
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        let flat = text.replace('\n', " ");
        // The four first forges' part of the sentence, which a forge added later extends.
        for part in [
            "bitbucket-cloud, bitbucket-datacenter, github, gitlab",
            ") overrides the detection: BITBUCKET_SERVER_URL, then BITBUCKET_BUILD_NUMBER or BITBUCKET_WORKSPACE, \
             then GITHUB_ACTIONS=true, then GITLAB_CI=true",
            "; else bitbucket-cloud.",
            "inside Bitbucket Pipelines, GitHub Actions",
        ] {
            assert!(flat.contains(part), "{part:?} is not in: {flat}");
        }
        // Every forge, in detection order, and its CI.
        let mut at = 0;
        for e in by_precedence() {
            let found = flat[at..].find(e.detected_when).map(|i| at + i);
            assert!(found.is_some(), "{} out of order in: {flat}", e.detected_when);
            at = found.unwrap_or(at);
            assert!(flat.contains(e.name), "{}", e.name);
            if let Some(ci) = e.ci {
                assert!(flat.contains(ci), "{ci}");
            }
        }
        let cis: Vec<&str> = by_precedence().iter().filter_map(|e| e.ci).collect();
        let last = cis.last().copied().unwrap_or("");
        assert!(flat.contains(&format!(" and {last} only credentials")), "{flat}");
    }

    fn build(name: &str, url: &str) -> Build {
        Build::new("k", Some(name.into()), BuildState::Inprogress, Some(url.into()))
    }

    #[test]
    fn recognises_each_ci_and_only_its_own_run() {
        let run = current_run(&vars(&[
            ("BITBUCKET_BUILD_NUMBER", "12"),
            ("GITHUB_RUN_ID", "777"),
            ("CI_PIPELINE_ID", "55"),
            ("BUILD_URL", "https://ci.example/job/x/9"),
        ]));
        assert!(run.is_own(&build("Pipeline #12 for main", "")));
        assert!(run.is_own(&build("x", "https://bitbucket.org/w/r/pipelines/results/12")));
        assert!(run.is_own(&build(
            "x",
            "https://bitbucket.org/w/r/addon/pipelines/home#!/results/12"
        )));
        assert!(!run.is_own(&build(
            "Pipeline #123 for main",
            "https://bitbucket.org/w/r/pipelines/results/123"
        )));
        assert!(run.is_own(&build("ci", "https://github.com/o/r/actions/runs/777/job/1")));
        assert!(!run.is_own(&build("ci", "https://github.com/o/r/actions/runs/7770")));
        assert!(run.is_own(&build("ci", "https://gitlab.com/g/p/-/pipelines/55")));
        assert!(run.is_own(&build("ci", "https://ci.example/job/x/9/")));
        assert!(!run.is_own(&build("ci", "https://ci.example/job/x/90/")));
        assert!(!current_run(&vars(&[])).is_own(&build("Pipeline #12 for main", "")));
        assert!(
            !current_run(&vars(&[("BITBUCKET_BUILD_NUMBER", "12x")])).is_own(&build("Pipeline #12x for main", "")),
            "run numbers are digits"
        );
    }

    #[test]
    fn a_build_the_forge_files_under_this_run_is_own() {
        let run = current_run(&vars(&[("CI_PIPELINE_ID", "55")]));
        // A job of pipeline 55 links to /jobs/N, not to the pipeline: only its run says.
        let job = build("test", "https://gitlab.com/g/p/-/jobs/901");
        assert!(!run.is_own(&job));
        assert!(run.is_own(&job.clone().in_run("55")));
        assert!(!run.is_own(&job.clone().in_run("5")), "whole ids only");
        assert!(!run.is_own(&job.clone().in_run("550")));
        assert!(!current_run(&vars(&[])).is_own(&job.clone().in_run("55")));
        let github = current_run(&vars(&[("GITHUB_RUN_ID", "777")]));
        assert!(github.is_own(&job.in_run("777")), "the same field serves other CIs");
    }
}
