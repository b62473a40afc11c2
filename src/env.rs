//! The environment as pr-status reads it: a snapshot of the variables (`Vars`), and the
//! forms every boolean variable takes. Nothing here knows a forge or a setting.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A snapshot of the environment. Empty values count as unset: CI systems (GitHub action
/// inputs above all) pass unset options as empty strings.
///
/// A value that is not UTF-8 is never converted (a lossy conversion sent an altered token and
/// wrote the summary under another name): it is kept apart, `get` does not see it, and
/// `provider::registry::configure` refuses it when pr-status reads that variable (`refuse_not_utf8`).
#[derive(Clone, Default)]
pub struct Vars(BTreeMap<String, String>, BTreeMap<String, OsString>);

/// Names only: the values include the credentials, and `Config` (which holds a `Vars`) may be
/// debug-printed.
impl std::fmt::Debug for Vars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Vars").field(&self.0.keys().collect::<Vec<_>>()).finish()
    }
}

/// Exact names pr-status reads outside the prefixes of `READ_PREFIXES`, whatever the forge
/// (each forge adds its own: `provider::Entry::reads`).
const READ_NAMES: [&str; 20] = [
    "PROVIDER",
    "REQUIRE",
    "REQUIRED_BUILDS",
    "MIN_APPROVALS",
    "FRESH_APPROVALS",
    "POST_RESULT",
    "DESTINATION_BRANCH",
    "IGNORE_BUILDS",
    "WAIT_FOR_BUILDS",
    "POLL_INTERVAL",
    "INDEX_WAIT",
    "DEBUG",
    "RUNNER_DEBUG",
    "SSL_CERT_FILE",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];
/// Name prefixes of the variables pr-status reads whatever the forge: its own, and Jenkins'
/// `BUILD_URL` (each forge adds its own: `provider::Entry::read_prefixes`).
const READ_PREFIXES: [&str; 4] = ["SUMMARY_", "HTTP_", "HTTPS_", "BUILD_"];

impl Vars {
    /// The process environment. Values are taken as they are, not trimmed (secrets are
    /// trimmed where they are read, `credentials::secret_var`).
    pub fn from_env() -> Self {
        let mut text = Vec::new();
        let mut raw = BTreeMap::new();
        for (k, v) in std::env::vars_os() {
            // A name that is not UTF-8 cannot be one pr-status reads.
            let Ok(k) = k.into_string() else { continue };
            match v.into_string() {
                Ok(v) => text.push((k, v)),
                Err(v) if !v.is_empty() => {
                    raw.insert(k, v);
                }
                Err(_) => {}
            }
        }
        let mut vars = Self::from_pairs(text);
        vars.1 = raw;
        vars
    }

    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Vars(
            pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            BTreeMap::new(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A path variable, its bytes exactly as given, UTF-8 or not: an error summary still
    /// lands at the path the user named, never at a look-alike.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.0
            .get(name)
            .map(PathBuf::from)
            .or_else(|| self.1.get(name).map(PathBuf::from))
    }

    /// Exit 2 naming every variable pr-status reads whose value is not UTF-8: the shared
    /// ones, and those `also` says a forge reads.
    pub fn refuse_not_utf8(&self, also: impl Fn(&str) -> bool) -> Result<()> {
        let bad: Vec<&str> = self
            .1
            .keys()
            .map(String::as_str)
            .filter(|k| READ_NAMES.contains(k) || READ_PREFIXES.iter().any(|p| k.starts_with(p)) || also(k))
            .collect();
        if bad.is_empty() {
            return Ok(());
        }
        let (them, verb) = if bad.len() == 1 {
            ("it", "holds")
        } else {
            ("them", "hold")
        };
        Err(Error::config(format!(
            "{} {verb} bytes that are not UTF-8 (a value copied from a file in another encoding?): set {them} again as UTF-8 text",
            bad.join(", ")
        )))
    }

    /// Deserializes a typed view of the variables (field `foo_bar` reads `FOO_BAR`).
    pub fn typed<T: DeserializeOwned>(&self) -> Result<T> {
        envy::from_iter(self.0.iter().map(|(k, v)| (k.clone(), v.clone())))
            .map_err(|e| Error::config(format!("invalid environment: {e}")))
    }
}

/// docs/variables.md: booleans accept `true/false/1/0/yes/no` in any case.
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

/// Whether a CI's marker variable is on (`GITHUB_ACTIONS=true`): `true`, `1` or `yes`, any case.
pub fn is_true(v: Option<&str>) -> bool {
    matches!(v.map(str::to_ascii_lowercase).as_deref(), Some("true" | "1" | "yes"))
}
