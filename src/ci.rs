//! The CI run this step is part of. Its own build status is still running while the step
//! runs, so it must never make the gate wait for itself (SPEC "The gate").

use crate::config::Vars;
use crate::model::Build;

/// Identifiers of the running pipeline, from the variables each CI sets by itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrentRun {
    /// Bitbucket Pipelines: `BITBUCKET_BUILD_NUMBER`.
    pub bitbucket_build_number: Option<String>,
    /// GitHub Actions: `GITHUB_RUN_ID`.
    pub github_run_id: Option<String>,
    /// GitLab CI: `CI_PIPELINE_ID`.
    pub gitlab_pipeline_id: Option<String>,
    /// Jenkins: `BUILD_URL`.
    pub jenkins_build_url: Option<String>,
}

impl CurrentRun {
    pub fn from_vars(vars: &Vars) -> Self {
        let digits = |name: &str| {
            vars.get(name)
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
                .map(String::from)
        };
        CurrentRun {
            bitbucket_build_number: digits("BITBUCKET_BUILD_NUMBER"),
            github_run_id: digits("GITHUB_RUN_ID"),
            gitlab_pipeline_id: digits("CI_PIPELINE_ID"),
            jenkins_build_url: vars.get("BUILD_URL").map(|u| u.trim_end_matches('/').to_string()),
        }
    }

    /// Whether `build` is the status of this very run.
    pub fn is_own(&self, build: &Build) -> bool {
        // The forge said which run the status belongs to (GitLab's `pipeline_id`). Run ids are
        // compared whole, against each CI's own: a provider only sets the id of its own CI's
        // runs, and one machine is in one CI.
        if let Some(run) = build.run.as_deref() {
            let ids = [
                &self.gitlab_pipeline_id,
                &self.github_run_id,
                &self.bitbucket_build_number,
            ];
            if ids.into_iter().flatten().any(|id| id == run) {
                return true;
            }
        }
        let url = build.url.as_deref().unwrap_or("");
        let name = build.name.as_deref().unwrap_or("");
        if let Some(n) = &self.bitbucket_build_number {
            // Pipelines names its status "Pipeline #N for <branch>" and links to .../results/N.
            let title = format!("Pipeline #{n}");
            if name == title || name.starts_with(&format!("{title} ")) || has_segment_pair(url, "results", n) {
                return true;
            }
        }
        if let Some(id) = &self.github_run_id {
            if has_segment_pair(url, "runs", id) {
                return true;
            }
        }
        if let Some(id) = &self.gitlab_pipeline_id {
            if has_segment_pair(url, "pipelines", id) {
                return true;
            }
        }
        if let Some(own) = &self.jenkins_build_url {
            let u = url.trim_end_matches('/');
            if !own.is_empty() && (u == own || u.starts_with(&format!("{own}/"))) {
                return true;
            }
        }
        false
    }
}

/// True when the URL holds `.../{name}/{value}` as whole segments, so that run 12 is not
/// mistaken for run 123. Fragments count too: Pipelines links look like
/// `.../addon/pipelines/home#!/results/12`.
fn has_segment_pair(url: &str, name: &str, value: &str) -> bool {
    let segments: Vec<&str> = url.split(['/', '#', '!', '?', '&']).filter(|s| !s.is_empty()).collect();
    segments.windows(2).any(|w| w[0] == name && w[1] == value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BuildState;

    fn build(name: &str, url: &str) -> Build {
        Build::new("k", Some(name.into()), BuildState::Inprogress, Some(url.into()))
    }

    #[test]
    fn recognises_each_ci_and_only_its_own_run() {
        let run = CurrentRun {
            bitbucket_build_number: Some("12".into()),
            github_run_id: Some("777".into()),
            gitlab_pipeline_id: Some("55".into()),
            jenkins_build_url: Some("https://ci.example/job/x/9".into()),
        };
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
        assert!(!CurrentRun::default().is_own(&build("Pipeline #12 for main", "")));
    }

    #[test]
    fn a_build_the_forge_files_under_this_run_is_own() {
        let run = CurrentRun {
            gitlab_pipeline_id: Some("55".into()),
            ..CurrentRun::default()
        };
        // A job of pipeline 55 links to /jobs/N, not to the pipeline: only its run says.
        let job = build("test", "https://gitlab.com/g/p/-/jobs/901");
        assert!(!run.is_own(&job));
        assert!(run.is_own(&job.clone().in_run("55")));
        assert!(!run.is_own(&job.clone().in_run("5")), "whole ids only");
        assert!(!run.is_own(&job.clone().in_run("550")));
        assert!(!CurrentRun::default().is_own(&job.clone().in_run("55")));
        let github = CurrentRun {
            github_run_id: Some("777".into()),
            ..CurrentRun::default()
        };
        assert!(github.is_own(&job.in_run("777")), "the same field serves other CIs");
    }
}
