//! Secrets and the forms in which each forge takes them: the `Secret` type that never prints,
//! the resolved `Auth` header, the OAuth client-credentials exchange, and the `Redactor` that
//! scrubs every secret (and its encoded forms) from anything the step prints or writes.

use std::fmt;

use base64::Engine as _;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};

use crate::error::{Error, Result};

/// A credential value. `Debug` and `Display` print `[redacted]`, so it cannot leak through a
/// log line, a panic message or a derived `Debug` of a struct holding it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for building a header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One way a forge takes a credential. Each forge declares its own (`provider::Entry::
/// credentials`, in the order they are tried); messages about a refused credential depend on
/// the form that was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Form {
    /// What docs and messages call it: "access token".
    pub name: &'static str,
    /// The variables that make it up, all of them needed.
    pub variables: &'static [&'static str],
    /// How it is sent: "Authorization: Bearer".
    pub sent_as: &'static str,
}

impl Form {
    /// The form `name`, made of `variables`, sent as `sent_as`.
    pub const fn new(name: &'static str, variables: &'static [&'static str], sent_as: &'static str) -> Form {
        Form {
            name,
            variables,
            sent_as,
        }
    }
}

/// A ready-to-send authentication header. The header value is marked sensitive so that
/// hyper and reqwest never print it either.
#[derive(Clone)]
pub struct Auth {
    pub form: Form,
    pub name: HeaderName,
    pub value: HeaderValue,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Auth {{ form: {:?}, {}: [redacted] }}", self.form.name, self.name)
    }
}

fn header_value(text: &str, variable: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(text).map_err(|_| {
        Error::config(format!(
            "{variable} contains characters that cannot be sent in an HTTP header (a newline or control character?); copy the credential again"
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl Auth {
    pub fn bearer(form: Form, token: &Secret, variable: &str) -> Result<Auth> {
        Ok(Auth {
            form,
            name: AUTHORIZATION,
            value: header_value(&format!("Bearer {}", token.expose()), variable)?,
        })
    }

    pub fn basic(form: Form, user: &str, password: &Secret, variable: &str) -> Result<Auth> {
        let encoded = basic_encoding(user, password.expose());
        Ok(Auth {
            form,
            name: AUTHORIZATION,
            value: header_value(&format!("Basic {encoded}"), variable)?,
        })
    }

    pub fn header(form: Form, name: &'static str, token: &Secret, variable: &str) -> Result<Auth> {
        Ok(Auth {
            form,
            name: HeaderName::from_static(name),
            value: header_value(token.expose(), variable)?,
        })
    }
}

fn basic_encoding(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// Scrubs known secrets from text before it is printed or written anywhere.
///
/// Servers sometimes echo a request back in an error page; a proxy may log it. Whatever the
/// text's origin, every secret and its base64 forms are replaced.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    needles: Vec<Secret>,
}

impl Redactor {
    /// Registers a secret, its base64 form and, with `user`, its Basic-auth encoding.
    pub fn add(&mut self, secret: &Secret, user: Option<&str>) {
        // Very short values would redact ordinary words; no real credential is that short.
        if secret.expose().len() < 4 {
            return;
        }
        self.needles.push(secret.clone());
        if let Some(user) = user {
            // The plain `user:secret` pair needs no entry: the secret inside it is replaced.
            self.needles.push(Secret(basic_encoding(user, secret.expose())));
        }
        let alone = base64::engine::general_purpose::STANDARD.encode(secret.expose());
        self.needles.push(Secret(alone));
        // Longest first, so that a pair is replaced before the secret inside it.
        self.needles.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.expose()) {
                out = out.replace(needle.expose(), "[redacted]");
            }
        }
        out
    }
}

/// Reads one variable as a secret; empty counts as unset (CI inputs default to "").
///
/// Blanks at either end (spaces, tabs, a newline or `\r` left by a paste or a file read) are
/// never part of a credential: they are removed, with a DEBUG note naming the variable (never
/// the value). A value of blanks only counts as unset. Blanks or control characters inside
/// the value are left for `Auth` to refuse.
pub fn secret_var(vars: &crate::env::Vars, name: &str) -> Option<Secret> {
    let raw = vars.get(name)?;
    let value = raw.trim();
    if value.len() != raw.len() && crate::env::parse_bool("DEBUG", vars.get("DEBUG"), false).unwrap_or(false) {
        let removed = raw.chars().count() - value.chars().count();
        crate::say::debug_line(&format!(
            "{name} had {removed} blank character(s) at its start or end (a paste or file read?): removed, the rest is used"
        ));
    }
    (!value.is_empty()).then(|| Secret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_FORM: Form = Form::new("access token", &["X"], "Authorization: Bearer");

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        let auth = Auth::bearer(TEST_FORM, &s, "X").unwrap();
        assert!(!format!("{auth:?}").contains("hunter2"));
    }

    #[test]
    fn redactor_scrubs_all_forms() {
        let mut r = Redactor::default();
        r.add(&Secret::new("s3cr3t-value"), Some("me@example.com"));
        let b64 = basic_encoding("me@example.com", "s3cr3t-value");
        let text = format!("echo: Basic {b64} and s3cr3t-value and me@example.com:s3cr3t-value");
        let out = r.redact(&text);
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(!out.contains(&b64), "{out}");
        assert!(out.contains("me@example.com"), "user names are not secret: {out}");
    }

    #[test]
    fn secrets_lose_blanks_at_their_ends_only() {
        let vars = crate::env::Vars::from_pairs([
            ("A".to_string(), " tok-1\r\n".to_string()),
            ("B".to_string(), " \t\n".to_string()),
            ("C".to_string(), "in side".to_string()),
        ]);
        assert_eq!(secret_var(&vars, "A").unwrap().expose(), "tok-1");
        assert!(secret_var(&vars, "B").is_none());
        assert_eq!(secret_var(&vars, "C").unwrap().expose(), "in side");
    }

    #[test]
    fn header_rejects_newline_without_echoing_it() {
        let err = Auth::bearer(TEST_FORM, &Secret::new("abc\ndef"), "BITBUCKET_ACCESS_TOKEN")
            .unwrap_err()
            .to_string();
        assert!(err.contains("BITBUCKET_ACCESS_TOKEN"));
        assert!(!err.contains("abc"));
    }
}
