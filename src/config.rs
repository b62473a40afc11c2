//! Configuration read from the environment (with `envy`) and validated before anything is
//! sent. Every error names the variable and the accepted values, and maps to exit 2.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::ci::CurrentRun;
use crate::error::{Error, Result};
use crate::gate::Condition;

/// A snapshot of the environment. Empty values count as unset: CI systems (GitHub action
/// inputs above all) pass unset options as empty strings.
#[derive(Clone, Default)]
pub struct Vars(BTreeMap<String, String>);

/// Names only: the values include the credentials, and `Config` (which holds a `Vars`) may be
/// debug-printed.
impl std::fmt::Debug for Vars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Vars").field(&self.0.keys().collect::<Vec<_>>()).finish()
    }
}

impl Vars {
    pub fn from_env() -> Self {
        // `vars_os` + lossy conversion: a variable that is not UTF-8 must not panic the step.
        Self::from_pairs(
            std::env::vars_os().map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned())),
        )
    }

    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Vars(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Deserializes a typed view of the variables (field `foo_bar` reads `FOO_BAR`).
    pub fn typed<T: DeserializeOwned>(&self) -> Result<T> {
        envy::from_iter(self.0.iter().map(|(k, v)| (k.clone(), v.clone())))
            .map_err(|e| Error::config(format!("invalid environment: {e}")))
    }
}

/// The provider that answers the lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    BitbucketCloud,
    BitbucketDatacenter,
    Github,
    Gitlab,
    Demo,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::BitbucketCloud => "bitbucket-cloud",
            ProviderKind::BitbucketDatacenter => "bitbucket-datacenter",
            ProviderKind::Github => "github",
            ProviderKind::Gitlab => "gitlab",
            ProviderKind::Demo => "demo",
        }
    }

    /// SPEC's provider table: an explicit `PROVIDER` wins, else the first row that matches.
    fn detect(env: &CommonEnv) -> Result<ProviderKind> {
        if let Some(p) = &env.provider {
            return match p.trim().to_ascii_lowercase().as_str() {
                "bitbucket-cloud" => Ok(ProviderKind::BitbucketCloud),
                "bitbucket-datacenter" => Ok(ProviderKind::BitbucketDatacenter),
                "github" => Ok(ProviderKind::Github),
                "gitlab" => Ok(ProviderKind::Gitlab),
                _ => Err(Error::config(format!(
                    "PROVIDER={p:?} is not a provider: use bitbucket-cloud, bitbucket-datacenter, github or gitlab"
                ))),
            };
        }
        if env.bitbucket_server_url.is_some() {
            return Ok(ProviderKind::BitbucketDatacenter);
        }
        if env.bitbucket_build_number.is_some() || env.bitbucket_workspace.is_some() {
            return Ok(ProviderKind::BitbucketCloud);
        }
        if is_true(env.github_actions.as_deref()) {
            return Ok(ProviderKind::Github);
        }
        if is_true(env.gitlab_ci.as_deref()) {
            return Ok(ProviderKind::Gitlab);
        }
        Ok(ProviderKind::BitbucketCloud)
    }
}

/// `REQUIRED_BUILDS`: comma-separated keys or names, none of them also in `IGNORE_BUILDS`.
fn required_builds(text: Option<&str>, ignored: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for item in text.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item.eq_ignore_ascii_case("auto") {
            return Err(Error::config(
                "REQUIRED_BUILDS=auto (required builds from the repository's rules) is not supported yet: list the build keys or names, comma-separated",
            ));
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
    Ok(out)
}

fn is_true(v: Option<&str>) -> bool {
    matches!(v.map(str::to_ascii_lowercase).as_deref(), Some("true" | "1" | "yes"))
}

/// The variables every provider shares (SPEC "Configuration"), as text; validated below.
#[derive(Debug, Deserialize, Default)]
struct CommonEnv {
    provider: Option<String>,
    require: Option<String>,
    min_approvals: Option<String>,
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
    // Only read for provider detection.
    bitbucket_server_url: Option<String>,
    bitbucket_build_number: Option<String>,
    bitbucket_workspace: Option<String>,
    github_actions: Option<String>,
    gitlab_ci: Option<String>,
}

/// Where the summaries go. `json` is always written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    pub json: PathBuf,
    pub markdown: Option<PathBuf>,
    pub dotenv: Option<PathBuf>,
    pub github_output: Option<PathBuf>,
    pub github_step_summary: Option<PathBuf>,
}

impl Outputs {
    /// Read first and on its own, so that even a configuration error lands in `SUMMARY_FILE`.
    pub fn from_vars(vars: &Vars) -> Outputs {
        let path = |name: &str| vars.get(name).map(PathBuf::from);
        Outputs {
            json: path("SUMMARY_FILE").unwrap_or_else(|| PathBuf::from("pr-status.json")),
            markdown: path("SUMMARY_MARKDOWN_FILE"),
            dotenv: path("SUMMARY_DOTENV_FILE"),
            github_output: path("GITHUB_OUTPUT"),
            github_step_summary: path("GITHUB_STEP_SUMMARY"),
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
}

/// The validated configuration of one run.
#[derive(Debug, Clone)]
pub struct Config {
    pub provider: ProviderKind,
    pub require: Vec<Condition>,
    pub min_approvals: u32,
    pub destination_branch: Option<String>,
    pub ignore_builds: Vec<String>,
    /// `REQUIRED_BUILDS`: build keys or names that must report SUCCESSFUL for `builds-passed`.
    pub required_builds: Vec<String>,
    pub wait_for_builds: Duration,
    pub poll_interval: Duration,
    pub outputs: Outputs,
    pub http: HttpSettings,
    pub current_run: CurrentRun,
    /// `POST_RESULT`: post the verdict to the forge (docs/post-result.md).
    pub post_result: bool,
    /// The whole environment, for the provider to read its own variables from.
    pub vars: Vars,
}

impl Config {
    /// Validates everything; `demo` skips provider detection.
    pub fn from_vars(vars: Vars, demo: bool) -> Result<Config> {
        let env: CommonEnv = vars.typed()?;
        let provider = if demo {
            ProviderKind::Demo
        } else {
            ProviderKind::detect(&env)?
        };
        let require = match &env.require {
            Some(text) => Condition::parse_list(text)?,
            None => Vec::new(),
        };
        let min_approvals = parse_number("MIN_APPROVALS", env.min_approvals.as_deref(), 1, 0, 1000)? as u32;
        let wait = parse_number("WAIT_FOR_BUILDS", env.wait_for_builds.as_deref(), 0, 0, 6 * 3600)?;
        let poll = parse_number("POLL_INTERVAL", env.poll_interval.as_deref(), 10, 1, 3600)?;
        let timeout = parse_number("HTTP_TIMEOUT", env.http_timeout.as_deref(), 30, 1, 3600)?;
        let retry_ms = parse_number(
            "HTTP_RETRY_DELAY_MS",
            env.http_retry_delay_ms.as_deref(),
            1000,
            0,
            60_000,
        )?;
        let index_wait = parse_number("INDEX_WAIT", env.index_wait.as_deref(), 60, 0, 3600)?;
        let debug = parse_bool("DEBUG", env.debug.as_deref(), false)?;
        let post_result = parse_bool("POST_RESULT", env.post_result.as_deref(), false)?;
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
        let required_builds = required_builds(env.required_builds.as_deref(), &ignore_builds)?;
        let ssl_cert_file = env.ssl_cert_file.as_ref().map(PathBuf::from);
        if let Some(path) = &ssl_cert_file {
            if !path.is_file() {
                return Err(Error::config(format!(
                    "SSL_CERT_FILE={} is not a readable file: point it at a PEM bundle of CA certificates",
                    path.display()
                )));
            }
        }
        Ok(Config {
            provider,
            require,
            min_approvals,
            destination_branch: env
                .destination_branch
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            ignore_builds,
            required_builds,
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
            },
            current_run: CurrentRun::from_vars(&vars),
            post_result,
            vars,
        })
    }
}

/// SPEC: booleans accept `true/false/1/0/yes/no` in any case.
pub fn parse_bool(name: &str, value: Option<&str>, default: bool) -> Result<bool> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) => match v.as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(Error::config(format!(
                "{name}={:?} is not a boolean: use true, false, 1, 0, yes or no",
                value.unwrap_or_default()
            ))),
        },
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
pub fn parse_base_url(name: &str, text: &str) -> Result<reqwest::Url> {
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| Error::config(format!("{name}={text:?} is not a URL ({e}): use https://host/path")))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!(
            "{name} must be a plain base URL without credentials, query or fragment: use https://host/path"
        )));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(Error::config(format!(
            "{name}={text:?} uses plain http: use https:// (http is allowed only for loopback hosts)"
        ))),
        _ => Err(Error::config(format!(
            "{name}={text:?} is not an http(s) URL: use https://host/path"
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

    #[test]
    fn provider_detection_follows_the_table() {
        let detect = |p: &[(&str, &str)]| Config::from_vars(vars(p), false).map(|c| c.provider);
        assert_eq!(detect(&[]).unwrap(), ProviderKind::BitbucketCloud);
        assert_eq!(detect(&[("GITHUB_ACTIONS", "true")]).unwrap(), ProviderKind::Github);
        assert_eq!(detect(&[("GITLAB_CI", "true")]).unwrap(), ProviderKind::Gitlab);
        assert_eq!(
            detect(&[("GITLAB_CI", "true"), ("BITBUCKET_SERVER_URL", "https://x")]).unwrap(),
            ProviderKind::BitbucketDatacenter
        );
        assert_eq!(
            detect(&[("GITHUB_ACTIONS", "true"), ("BITBUCKET_WORKSPACE", "w")]).unwrap(),
            ProviderKind::BitbucketCloud
        );
        assert_eq!(
            detect(&[("PROVIDER", "gitlab"), ("BITBUCKET_SERVER_URL", "https://x")]).unwrap(),
            ProviderKind::Gitlab
        );
        assert!(detect(&[("PROVIDER", "svn")])
            .unwrap_err()
            .to_string()
            .contains("PROVIDER"));
    }

    #[test]
    fn defaults_match_spec() {
        let c = Config::from_vars(vars(&[]), false).unwrap();
        assert_eq!(c.min_approvals, 1);
        assert_eq!(c.wait_for_builds, Duration::ZERO);
        assert_eq!(c.http.timeout, Duration::from_secs(30));
        assert_eq!(c.outputs.json, PathBuf::from("pr-status.json"));
        assert!(c.require.is_empty() && !c.http.debug && !c.post_result);
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
            let err = Config::from_vars(vars(&[(k, v)]), false).unwrap_err();
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
