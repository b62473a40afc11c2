//! Configuration read from the environment (with `envy`) and validated before anything is
//! sent. Every error names the variable and the accepted values, and maps to exit 2.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::ci::CurrentRun;
pub use crate::env::{is_true, parse_bool, Vars};
use crate::error::{Error, Result};
use crate::gate::{Condition, Gate};
use crate::model::{AutoSettings, Freshness, Wants};
use crate::proxy::Proxies;
pub use crate::text::without_userinfo;

/// How the provider was chosen: by `PROVIDER`, or detected (docs/configuration.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    /// `PROVIDER` names it, or the demo runs.
    Explicit,
    /// The first row of the table that matched: `because` is the variable that matched
    /// (`"BITBUCKET_WORKSPACE"`, `"GITHUB_ACTIONS=true"`), `outranked` the later rows that
    /// matched too, with their variables.
    Variable {
        because: &'static str,
        outranked: Vec<(&'static str, &'static str)>,
    },
    /// Nothing matched: the table's default (`provider::registry::DEFAULT`).
    Default,
}

impl Detection {
    /// The note added to each problem with the provider's own variables when the provider was
    /// detected: which variable chose it, and that `PROVIDER` overrides the choice. A stray
    /// `BITBUCKET_WORKSPACE` in a GitHub job reads "(provider bitbucket-cloud chosen because
    /// BITBUCKET_WORKSPACE is set, which outranks GITHUB_ACTIONS=true: set PROVIDER=github if
    /// that is meant)".
    pub fn note(&self, provider: &str) -> Option<String> {
        let chosen = format!("provider {provider} chosen because");
        Some(match self {
            Detection::Explicit => return None,
            Detection::Variable { because, outranked } if outranked.is_empty() => {
                format!("({chosen} {because} is set; PROVIDER overrides it)")
            }
            Detection::Variable { because, outranked } => {
                let vars: Vec<&str> = outranked.iter().map(|(_, v)| *v).collect();
                let providers: Vec<String> = outranked.iter().map(|(k, _)| format!("PROVIDER={k}")).collect();
                format!(
                    "({chosen} {because} is set, which outranks {}: set {} if that is meant)",
                    vars.join(" and "),
                    providers.join(" or ")
                )
            }
            Detection::Default => format!("({chosen} no other provider's variable is set; PROVIDER overrides it)"),
        })
    }
}

/// Collects every configuration problem of a run, so that one run names them all (one line
/// each) instead of stopping at the first. A provider's `from_config` checks each of its
/// variables through `check`, then calls `finish`.
#[derive(Debug, Default)]
pub struct Problems {
    lines: Vec<String>,
    /// Added to each line: why the provider was chosen (`Detection::note`).
    note: Option<String>,
}

impl Problems {
    /// For the variables of `cfg`'s provider: each problem carries the detection note.
    pub fn of_provider(cfg: &Config) -> Problems {
        Problems {
            lines: Vec::new(),
            note: cfg.detection.note(cfg.provider),
        }
    }

    /// The value, or `None` with its problem recorded (every line of it).
    pub fn check<T>(&mut self, result: Result<T>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                for line in e.lines() {
                    self.add(line);
                }
                None
            }
        }
    }

    fn add(&mut self, line: String) {
        let line = match &self.note {
            Some(note) if !line.ends_with(note.as_str()) => format!("{line} {note}"),
            _ => line,
        };
        if !self.lines.contains(&line) {
            self.lines.push(line);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// `Ok` when nothing was recorded, else one configuration error holding every problem.
    pub fn finish(self) -> Result<()> {
        if self.lines.is_empty() {
            Ok(())
        } else {
            Err(Error::configs(self.lines))
        }
    }

    /// What `from_config` returns should a value it checked be missing without a recorded
    /// problem (it cannot be: each `None` from `check` records one).
    pub fn incomplete() -> Error {
        Error::config("the configuration is incomplete: run with DEBUG=true and report this")
    }
}

/// `REQUIRED_BUILDS`: comma-separated keys or names, none of them also in `IGNORE_BUILDS`;
/// `auto` among them adds the builds the repository's rules require. Returns the names and
/// whether `auto` was given.
fn required_builds(text: Option<&str>, ignored: &[String]) -> Result<(Vec<String>, bool)> {
    let mut out: Vec<String> = Vec::new();
    let mut auto = false;
    for item in text.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item.eq_ignore_ascii_case("auto") {
            auto = true;
            continue;
        }
        if ignored.iter().any(|i| i == item) {
            return Err(Error::config(format!(
                "REQUIRED_BUILDS and IGNORE_BUILDS both name {item:?}: a build cannot be required and ignored; remove it from one of them"
            )));
        }
        if !out.iter().any(|o| o == item) {
            out.push(item.to_string());
        }
    }
    Ok((out, auto))
}

/// `MIN_APPROVALS`: a number from 0 to 1000, or `auto` (the repository's rules decide).
fn min_approvals(text: Option<&str>) -> Result<Option<u32>> {
    match text.map(str::trim) {
        Some(t) if t.eq_ignore_ascii_case("auto") => Ok(None),
        other => parse_number("MIN_APPROVALS", other, 1, 0, 1000)
            .map(|n| Some(n as u32))
            .map_err(|_| {
                Error::config(format!(
                    "MIN_APPROVALS={:?} is not valid: use a whole number from 0 to 1000, or auto to take it from the repository's rules",
                    other.unwrap_or_default()
                ))
            }),
    }
}

/// `FRESH_APPROVALS`: a boolean (the spellings docs/variables.md gives) or `auto`.
fn freshness(text: Option<&str>) -> Result<Freshness> {
    match text.map(str::trim) {
        Some(t) if t.eq_ignore_ascii_case("auto") => Ok(Freshness::Auto),
        other => parse_bool("FRESH_APPROVALS", other, false)
            .map(|on| if on { Freshness::Fresh } else { Freshness::Any })
            .map_err(|_| {
                Error::config(format!(
                    "FRESH_APPROVALS={:?} is not true, false or auto: use true to count only approvals given at the PR's current head, auto to follow the repository's rules",
                    other.unwrap_or_default()
                ))
            }),
    }
}

/// The variables every provider shares (docs/variables.md), as text; validated below.
#[derive(Debug, Deserialize, Default)]
struct CommonEnv {
    require: Option<String>,
    min_approvals: Option<String>,
    fresh_approvals: Option<String>,
    destination_branch: Option<String>,
    ignore_builds: Option<String>,
    required_builds: Option<String>,
    wait_for_builds: Option<String>,
    poll_interval: Option<String>,
    http_timeout: Option<String>,
    http_retry_delay_ms: Option<String>,
    index_wait: Option<String>,
    debug: Option<String>,
    post_result: Option<String>,
    ssl_cert_file: Option<String>,
}

/// Where the summaries go. `json` is always written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    pub json: PathBuf,
    pub markdown: Option<PathBuf>,
    pub dotenv: Option<PathBuf>,
    pub github_output: Option<PathBuf>,
    pub github_step_summary: Option<PathBuf>,
    /// Bitbucket Pipelines' shared variables file, appended to; not checked before the lookup,
    /// since a failure to write it is a warning (`summary::pipelines`).
    pub pipelines_variables: Option<PathBuf>,
}

impl Outputs {
    /// Read first and on its own, so that even a configuration error lands in `SUMMARY_FILE`.
    pub fn from_vars(vars: &Vars) -> Outputs {
        let path = |name: &str| vars.path(name);
        Outputs {
            json: path("SUMMARY_FILE").unwrap_or_else(|| PathBuf::from("pr-status.json")),
            markdown: path("SUMMARY_MARKDOWN_FILE"),
            dotenv: path("SUMMARY_DOTENV_FILE"),
            github_output: path("GITHUB_OUTPUT"),
            github_step_summary: path("GITHUB_STEP_SUMMARY"),
            pipelines_variables: path("BITBUCKET_PIPELINES_VARIABLES_PATH"),
        }
    }

    /// Each configured output with the variable that names it.
    pub fn named(&self) -> Vec<(&'static str, &PathBuf)> {
        let mut all = vec![("SUMMARY_FILE", &self.json)];
        let optional = [
            ("SUMMARY_MARKDOWN_FILE", &self.markdown),
            ("SUMMARY_DOTENV_FILE", &self.dotenv),
            ("GITHUB_OUTPUT", &self.github_output),
            ("GITHUB_STEP_SUMMARY", &self.github_step_summary),
        ];
        for (name, path) in optional {
            if let Some(p) = path {
                all.push((name, p));
            }
        }
        all
    }
}

/// HTTP behaviour shared by all providers.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// Bounds each whole request: connect, send, full body (`HTTP_TIMEOUT`).
    pub timeout: Duration,
    /// First retry wait; doubles each attempt (`HTTP_RETRY_DELAY_MS`, default 1000).
    pub retry_delay: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// How long a `202 indexing` answer is polled (`INDEX_WAIT`, default 60 s).
    pub index_wait: Duration,
    pub ssl_cert_file: Option<PathBuf>,
    pub debug: bool,
    /// `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` and their lowercase forms (see `proxy`).
    pub proxy: Proxies,
}

/// The validated configuration of one run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `PROVIDER` value of the chosen forge (`provider::registry` maps it to its entry).
    pub provider: &'static str,
    /// How `provider` was chosen, for messages.
    pub detection: Detection,
    /// The gate's settings (`REQUIRE`, `MIN_APPROVALS`, `FRESH_APPROVALS`,
    /// `DESTINATION_BRANCH`, `IGNORE_BUILDS`, `REQUIRED_BUILDS`) and the running build.
    pub gate: Gate,
    pub wait_for_builds: Duration,
    pub poll_interval: Duration,
    pub outputs: Outputs,
    pub http: HttpSettings,
    /// `POST_RESULT`: post the verdict to the forge (docs/post-result.md).
    pub post_result: bool,
    /// The whole environment, for the provider to read its own variables from.
    pub vars: Vars,
}

impl Config {
    /// Reads and validates the shared variables (docs/variables.md) for the provider
    /// `chosen` names (`None`: the choice itself failed, and is in `problems`). Each problem
    /// goes into `problems`; the `Config` is only meant to be used when there is none.
    /// `provider::registry::configure` is the whole configuration step, forge included.
    pub fn read(
        vars: Vars,
        chosen: Option<(&'static str, Detection)>,
        current_run: CurrentRun,
        problems: &mut Problems,
    ) -> Result<Config> {
        let env: CommonEnv = vars.typed()?;
        let (provider, detection) = chosen.unzip();
        let require = problems
            .check(match &env.require {
                Some(text) => Condition::parse_list(text),
                None => Ok(Vec::new()),
            })
            .unwrap_or_default();
        let min_approvals = problems
            .check(min_approvals(env.min_approvals.as_deref()))
            .unwrap_or(Some(1));
        let fresh_approvals = problems
            .check(freshness(env.fresh_approvals.as_deref()))
            .unwrap_or_default();
        let mut number = |name: &str, value: &Option<String>, default: u64, min: u64, max: u64| {
            problems
                .check(parse_number(name, value.as_deref(), default, min, max))
                .unwrap_or(default)
        };
        let wait = number("WAIT_FOR_BUILDS", &env.wait_for_builds, 0, 0, 6 * 3600);
        let poll = number("POLL_INTERVAL", &env.poll_interval, 10, 1, 3600);
        let timeout = number("HTTP_TIMEOUT", &env.http_timeout, 30, 1, 3600);
        let retry_ms = number("HTTP_RETRY_DELAY_MS", &env.http_retry_delay_ms, 1000, 0, 60_000);
        let index_wait = number("INDEX_WAIT", &env.index_wait, 60, 0, 3600);
        let debug = problems
            .check(parse_bool("DEBUG", env.debug.as_deref(), false))
            .unwrap_or(false)
            // RUNNER_DEBUG=1: GitHub's "enable debug logging" re-run switch.
            || vars.get("RUNNER_DEBUG") == Some("1");
        let post_result = problems
            .check(parse_bool("POST_RESULT", env.post_result.as_deref(), false))
            .unwrap_or(false);
        let ignore_builds: Vec<String> = env
            .ignore_builds
            .as_deref()
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let (required_builds, required_builds_auto) = problems
            .check(required_builds(env.required_builds.as_deref(), &ignore_builds))
            .unwrap_or_default();
        let ssl_cert_file = env.ssl_cert_file.as_ref().map(PathBuf::from);
        let ssl_cert_file = problems
            .check(match &ssl_cert_file {
                Some(path) if !path.is_file() => Err(Error::config(format!(
                    "SSL_CERT_FILE={} is not a readable file: point it at a PEM bundle of CA certificates",
                    path.display()
                ))),
                _ => Ok(ssl_cert_file),
            })
            .flatten();
        let proxy = problems.check(Proxies::from_vars(&vars)).unwrap_or_default();
        if debug {
            for note in proxy.notes() {
                crate::say::debug_line(note);
            }
        }
        Ok(Config {
            provider: provider.unwrap_or_default(),
            detection: detection.unwrap_or(Detection::Explicit),
            gate: Gate {
                require,
                min_approvals,
                fresh_approvals,
                destination_branch: env
                    .destination_branch
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
                ignore_builds,
                required_builds,
                required_builds_auto,
                current_run,
            },
            wait_for_builds: Duration::from_secs(wait),
            poll_interval: Duration::from_secs(poll),
            outputs: Outputs::from_vars(&vars),
            http: HttpSettings {
                timeout: Duration::from_secs(timeout),
                retry_delay: Duration::from_millis(retry_ms),
                max_attempts: 4,
                index_wait: Duration::from_secs(index_wait),
                ssl_cert_file,
                debug,
                proxy,
            },
            post_result,
            vars,
        })
    }

    /// Which of the gate's settings the repository's rules decide (`model::AutoSettings`).
    pub fn auto(&self) -> AutoSettings {
        AutoSettings {
            min_approvals: self.gate.min_approvals.is_none(),
            fresh: self.gate.fresh_approvals == Freshness::Auto,
            builds: self.gate.required_builds_auto,
        }
    }

    /// What the forge must read beyond the common lookup (`model::Wants`).
    pub fn wants(&self) -> Wants {
        let gate = &self.gate;
        Wants {
            verdict: gate.require.contains(&Condition::Mergeable),
            rules: gate.min_approvals.is_none() || gate.required_builds_auto || gate.fresh_approvals == Freshness::Auto,
            freshness: gate.fresh_approvals != Freshness::Any,
        }
    }
}

/// A whole number in `min..=max`, or the default when unset.
pub fn parse_number(name: &str, value: Option<&str>, default: u64, min: u64, max: u64) -> Result<u64> {
    let Some(text) = value else {
        return Ok(default);
    };
    match text.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error::config(format!(
            "{name}={text:?} is not valid: use a whole number from {min} to {max}"
        ))),
    }
}

/// A base URL: `https://`, or `http://` only for loopback hosts (tests, local mirrors).
/// Messages show the value without its userinfo (`without_userinfo`): a URL that fails to
/// parse may still hold a password.
pub fn parse_base_url(name: &str, text: &str) -> Result<reqwest::Url> {
    let shown = without_userinfo(text);
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| Error::config(format!("{name}={shown:?} is not a URL ({e}): use https://host/path")))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!(
            "{name} must be a plain base URL without credentials, query or fragment: use https://host/path"
        )));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(Error::config(format!(
            "{name}={shown:?} uses plain http: use https:// (http is allowed only for loopback hosts)"
        ))),
        _ => Err(Error::config(format!(
            "{name}={shown:?} is not an http(s) URL: use https://host/path"
        ))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Validates a value that becomes one URL path segment: no separators, no dot segments, no
/// control characters. It is percent-encoded as well when the URL is built.
pub fn path_segment(name: &str, value: &str, allowed: impl Fn(char) -> bool, hint: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v == "." || v == ".." || v.len() > 200 || !v.chars().all(allowed) {
        return Err(Error::config(format!("{name}={value:?} is not valid: {hint}")));
    }
    Ok(v.to_string())
}

/// A commit id: 7 to 64 hex digits, returned lowercase.
pub fn commit(name: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if (7..=64).contains(&v.len()) && v.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(Error::config(format!(
            "{name}={value:?} is not a commit id: use 7 to 64 hex digits"
        )))
    }
}

/// Validates a commit id the server sent before it goes into a URL.
pub fn server_commit(hash: &str) -> Option<String> {
    commit("server", hash).ok()
}

/// A pull request number: a positive whole number.
pub fn pr_id(name: &str, value: &str) -> Result<u64> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 && n < (1 << 53) => Ok(n),
        _ => Err(Error::config(format!(
            "{name}={value:?} is not a pull request number: use a positive whole number"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    /// The shared configuration alone, as for an explicit `PROVIDER`.
    fn shared(vars: Vars) -> Result<Config> {
        let mut problems = Problems::default();
        let cfg = Config::read(
            vars,
            Some(("bitbucket-cloud", Detection::Explicit)),
            CurrentRun::default(),
            &mut problems,
        )?;
        problems.finish().map(|()| cfg)
    }

    #[test]
    fn defaults_match_spec() {
        let c = shared(vars(&[])).unwrap();
        assert_eq!(c.gate.min_approvals, Some(1));
        assert_eq!(c.wait_for_builds, Duration::ZERO);
        assert_eq!(c.http.timeout, Duration::from_secs(30));
        assert_eq!(c.outputs.json, PathBuf::from("pr-status.json"));
        assert!(c.gate.require.is_empty() && !c.http.debug && !c.post_result);
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (k, v) in [
            ("MIN_APPROVALS", "-1"),
            ("HTTP_TIMEOUT", "0"),
            ("WAIT_FOR_BUILDS", "soon"),
            ("DEBUG", "maybe"),
            ("POST_RESULT", "sometimes"),
            ("REQUIRE", "open,green"),
            ("SSL_CERT_FILE", "/nonexistent/ca.pem"),
        ] {
            let err = shared(vars(&[(k, v)])).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains(k), "{err}");
        }
    }

    #[test]
    fn booleans_accept_spec_forms() {
        for (v, want) in [
            ("TRUE", true),
            ("yes", true),
            ("1", true),
            ("No", false),
            ("0", false),
            ("false", false),
        ] {
            assert_eq!(parse_bool("DEBUG", Some(v), !want).unwrap(), want);
        }
    }

    #[test]
    fn urls_are_https_or_loopback() {
        assert!(parse_base_url("X", "https://api.bitbucket.org/2.0").is_ok());
        assert!(parse_base_url("X", "http://127.0.0.1:8080/2.0").is_ok());
        assert!(parse_base_url("X", "http://[::1]:8080/").is_ok());
        assert!(parse_base_url("X", "http://localhost/").is_ok());
        assert!(parse_base_url("X", "http://example.com/").is_err());
        assert!(parse_base_url("X", "ftp://example.com/").is_err());
        assert!(parse_base_url("X", "https://user:pw@example.com/").is_err());
    }

    #[test]
    fn unparsable_urls_are_shown_without_their_userinfo() {
        for text in [
            "https://user:hunter22@host:99999",
            "https:/user:hunter22@host:99999",
            "https:\\\\user:hunter22@host",
            "https://user:hun#ter22@host/x",
            "https://user:hun/ter22@host",
            "user:hunter22@host",
            " https://user:hunter22@ho st/",
            "ftp://user:hunter22@host/",
            "http://user:hunter22@example.com/",
        ] {
            let err = parse_base_url("BITBUCKET_API_URL", text).unwrap_err().to_string();
            assert!(err.contains("BITBUCKET_API_URL"), "{err}");
            assert!(!err.contains("hunter22") && !err.contains("ter22"), "{text}: {err}");
        }
        assert_eq!(without_userinfo("https://host:99999/2.0"), "https://host:99999/2.0");
        assert_eq!(without_userinfo("https://u:p@host:1/x"), "https://[redacted]@host:1/x");
    }

    #[test]
    fn commits_and_segments() {
        assert_eq!(commit("C", " ABCDEF1 ").unwrap(), "abcdef1");
        assert!(commit("C", "abc").is_err());
        assert!(commit("C", "zzzzzzz").is_err());
        let ok = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
        assert!(path_segment("S", "..", ok, "").is_err());
        assert!(path_segment("S", "a/b", ok, "").is_err());
        assert!(path_segment("S", "%2e%2e", ok, "").is_err());
        assert_eq!(path_segment("S", "my-repo.x", ok, "").unwrap(), "my-repo.x");
    }
}
