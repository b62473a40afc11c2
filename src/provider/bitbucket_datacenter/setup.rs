//! Data Center's variables and credentials (docs/variables.md).

use reqwest::{StatusCode, Url};

use super::{DatacenterEnv, PASSWORD, ACCESS_TOKEN, PERMISSION, TOKEN};
use crate::config::{self, Vars};
use crate::credentials::{secret_var, Auth, Form, Redactor};
use crate::error::{Error, Result};
use crate::http::AuthHint;

/// A project key (`PROJ`: a letter, then letters, digits, `_`) or a personal repository's
/// `~user` (user slugs also allow `.`, `-` and `@`).
pub(super) fn project_key(value: &str) -> Result<String> {
    let v = value.trim();
    let ok = match v.strip_prefix('~') {
        Some(user) => {
            !user.is_empty()
                && user != "."
                && user != ".."
                && user.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
        }
        None => {
            v.starts_with(|c: char| c.is_ascii_alphabetic()) && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
    };
    if !ok || v.len() > 200 {
        return Err(Error::config(format!(
            "BITBUCKET_PROJECT_KEY={value:?} is not valid: use the project key (the KEY in /projects/KEY/repos/<slug>), \
             or ~username for a personal repository (/users/username/repos/<slug>)"
        )));
    }
    Ok(v.to_string())
}

/// The server's base URL. A pasted REST URL (`.../rest/api/1.0`) is taken back to the base.
pub(super) fn server_url(text: &str) -> Result<Url> {
    let trimmed = text.trim().trim_end_matches('/');
    let base = ["/rest/api/1.0", "/rest/api/latest"]
        .iter()
        .find_map(|suffix| trimmed.strip_suffix(suffix))
        .unwrap_or(trimmed);
    config::parse_base_url("BITBUCKET_SERVER_URL", base)
}

/// Picks the credential form (in the order docs/variables.md gives) and registers its secrets.
pub(super) fn credentials(env: &DatacenterEnv, vars: &Vars, redactor: &mut Redactor) -> Result<Auth> {
    if let Some(token) = secret_var(vars, "BITBUCKET_ACCESS_TOKEN") {
        redactor.add(&token, None);
        return Auth::bearer(ACCESS_TOKEN, &token, "BITBUCKET_ACCESS_TOKEN");
    }
    match (&env.bitbucket_username, secret_var(vars, "BITBUCKET_PASSWORD")) {
        (Some(user), Some(pw)) => {
            redactor.add(&pw, Some(user));
            Auth::basic(PASSWORD, user, &pw, "BITBUCKET_PASSWORD")
        }
        (Some(_), None) => Err(Error::config(
            "BITBUCKET_USERNAME is set but BITBUCKET_PASSWORD is not: set both, or set BITBUCKET_ACCESS_TOKEN instead",
        )),
        (None, Some(_)) => Err(Error::config(
            "BITBUCKET_PASSWORD is set but BITBUCKET_USERNAME is not: set both, or set BITBUCKET_ACCESS_TOKEN instead",
        )),
        (None, None) => Err(Error::config(format!(
            "no Bitbucket Data Center credentials: set BITBUCKET_ACCESS_TOKEN to {TOKEN} with {PERMISSION}, \
             or set BITBUCKET_USERNAME + BITBUCKET_PASSWORD where Basic authentication is enabled"
        ))),
    }
}

/// What a 401/403 means for the credential form in use. `reason` is the server's own message.
pub(super) fn auth_hint(form: Form, repo: String) -> AuthHint {
    Box::new(move |status: StatusCode, reason: &str| {
        let reason = reason.to_ascii_lowercase();
        if form == PASSWORD && reason.contains("basic auth") {
            return format!(
                "Basic authentication is disabled on this Bitbucket Data Center, so BITBUCKET_USERNAME + \
                 BITBUCKET_PASSWORD cannot work: create {TOKEN} with {PERMISSION} and set it as BITBUCKET_ACCESS_TOKEN"
            );
        }
        if reason.contains("captcha") {
            return "the account must solve a CAPTCHA after failed logins: sign in once in the browser, \
                    then prefer BITBUCKET_ACCESS_TOKEN, which is never locked out this way"
                .to_string();
        }
        match (form, status.as_u16()) {
            (f, 401) if f == PASSWORD => format!(
                "check BITBUCKET_USERNAME (the login name) and BITBUCKET_PASSWORD, or set BITBUCKET_ACCESS_TOKEN to {TOKEN} with {PERMISSION}"
            ),
            (_, 401) => format!(
                "check that BITBUCKET_ACCESS_TOKEN is an HTTP access token of this server, neither expired nor revoked, with {PERMISSION}"
            ),
            _ => format!("the credentials lack permission on {repo}: the step needs {PERMISSION}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_keys_and_personal_keys() {
        assert_eq!(project_key(" PROJ_1 ").unwrap(), "PROJ_1");
        assert_eq!(project_key("~jane.doe").unwrap(), "~jane.doe");
        for bad in ["1PROJ", "PR/OJ", "~", "~..", "PR~OJ", "P R", "..", "~a/b", ""] {
            let err = project_key(bad).unwrap_err().to_string();
            assert!(err.contains("BITBUCKET_PROJECT_KEY"), "{bad}: {err}");
        }
    }

    #[test]
    fn server_url_keeps_context_path_and_drops_a_pasted_api_suffix() {
        let u = |t: &str| server_url(t).unwrap().to_string();
        assert_eq!(u("https://host/bitbucket"), "https://host/bitbucket");
        assert_eq!(u("https://host/bitbucket/rest/api/1.0/"), "https://host/bitbucket");
        assert_eq!(u("https://host/rest/api/latest"), "https://host/");
        assert!(server_url("http://bitbucket.example.com").is_err());
    }
}
