//! The wording of every failure: the server's own reason, malformed answers, transport
//! failures, refusals with the forge's auth hint, and the helpers that fold errors to a line.

use std::time::Duration;

use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Url;
use serde::de::DeserializeOwned;

use super::retry::{parse_retry_after, Next, MAX_WAIT};
use super::{Http, Response};
use crate::error::{Error, Result};
use crate::text::folded;

/// Parses an answer body as `T`. Anything else (HTML, an empty body, wrong types, nesting
/// deeper than serde_json's limit) is a malformed-answer `Error::Api` naming `what`; never a
/// panic. Providers' public page parsers use this too, so property tests exercise the same path.
pub fn parse_json<T: DeserializeOwned>(what: &str, status: Option<u16>, headers: &HeaderMap, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::api(
            status,
            format!(
                "{what} gave a malformed answer: {}",
                describe_bad_body(headers, body, &e)
            ),
        )
    })
}

fn describe_bad_body(headers: &HeaderMap, body: &[u8], e: &serde_json::Error) -> String {
    let ctype = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let head = String::from_utf8_lossy(&body[..body.len().min(400)]).to_ascii_lowercase();
    if ctype.contains("html")
        || head.trim_start().starts_with("<!doctype html")
        || head.trim_start().starts_with("<html")
    {
        "an HTML page instead of JSON (a login page, proxy or wrong API URL?)".to_string()
    } else if body.is_empty() {
        "an empty body instead of JSON".to_string()
    } else {
        format!("not the expected JSON ({e})")
    }
}

/// Where a refusal's hint begins. Every refusal reads "<forge> refused <request> (<code>
/// <reason>: <server's words>). <hint>": `classify` writes it with the provider's `AuthHint`,
/// and `rehint` / `add_hint` are the only ways to change the hint afterwards.
const HINT: &str = ". ";

/// The refusal `e` with its hint replaced by `hint` (a post names the write permission it
/// needs, not the lookup's read permissions). A 404, which forges send instead of a 403 to
/// hide a resource, becomes the same refusal. Other errors are returned unchanged.
pub fn rehint(e: Error, hint: &str) -> Error {
    match e.http_status() {
        Some(status @ (401 | 403 | 404)) => {
            let text = e.to_string();
            let said = match text.find(&format!("){HINT}")) {
                Some(i) => &text[..=i],
                None => text.trim_end_matches('.'),
            };
            Error::Auth {
                status,
                message: format!("{said}{HINT}{hint}"),
            }
        }
        _ => e,
    }
}

/// The refusal `e` (401, 403) with `more` added to its hint: what this request needs besides
/// the lookup's permissions. Other errors are returned unchanged.
pub fn add_hint(e: Error, more: &str) -> Error {
    match e {
        Error::Auth { status, message } => Error::Auth {
            status,
            message: format!("{}; {more}", message.trim_end_matches('.')),
        },
        other => other,
    }
}

impl Http {
    /// A transport failure as one line naming the request, the host and the root cause.
    /// reqwest's own text carries the whole URL (with a query of several hundred characters)
    /// and, for failures while reading the body, no host at all.
    pub(super) fn transport_error(&self, e: &reqwest::Error, what: &str, sent: &Url) -> Next {
        let host = sent.host_str().unwrap_or("the server").to_string();
        // A failure of the proxy (refused credentials, unreachable, no tunnel) says "proxy"
        // and names its variable; the API server's own failures through the tunnel fall
        // through to the cases below.
        if let Some(proxy) = self.settings.proxy.for_url(sent) {
            if let Some((err, retry)) =
                crate::proxy::failure(proxy, sent, e, self.settings.timeout.min(Duration::from_secs(10)))
            {
                let err = match err {
                    Error::Network(m) => Error::Network(format!("{what}: {m}")),
                    Error::Auth { status, message } => Error::Auth {
                        status,
                        message: format!("{what}: {message}"),
                    },
                    other => other,
                };
                return if retry { Next::Retry(err, None) } else { Next::Stop(err) };
            }
        }
        if e.is_redirect() {
            return Next::Stop(Error::api(
                None,
                format!(
                    "{} answered {what} with a redirect that was refused: {}",
                    self.forge,
                    root_cause(e)
                ),
            ));
        }
        if let Some(tls) = find_cause::<rustls::Error>(e) {
            if matches!(tls, rustls::Error::InvalidCertificate(_)) {
                return Next::Stop(Error::Network(format!(
                    "the TLS certificate of {host} is not trusted ({tls}): if the server uses an internal CA, set SSL_CERT_FILE to a PEM bundle holding it"
                )));
            }
        }
        if e.is_timeout() {
            return Next::retry(Error::Network(format!(
                "{what}: {host} did not answer within HTTP_TIMEOUT={}s",
                self.settings.timeout.as_secs()
            )));
        }
        if e.is_connect() {
            return Next::retry(Error::Network(format!(
                "{what}: cannot connect to {host}: {}",
                root_cause(e)
            )));
        }
        let stage = if e.is_body() || e.is_decode() {
            "while its answer was being read"
        } else {
            "before it answered"
        };
        Next::retry(Error::Network(format!(
            "{what}: the connection to {host} broke {stage}: {}",
            root_cause(e)
        )))
    }

    /// Maps a non-2xx answer to an error, and says whether (and how long) to wait and retry.
    pub(super) fn classify(&self, what: &str, resp: Response) -> Next {
        let status = resp.status;
        let code = status.as_u16();
        let reason = self.redactor.redact(&server_reason(&resp.body));
        let reason_part = if reason.is_empty() {
            status.canonical_reason().unwrap_or("").to_string()
        } else {
            reason.clone()
        };
        let retry_after = resp.header(RETRY_AFTER.as_str()).and_then(parse_retry_after);
        if let Some(next) = self.rate_limited(what, &resp, retry_after, &reason_part) {
            return next;
        }
        match code {
            401 | 403 => Next::Stop(Error::Auth {
                status: code,
                message: format!(
                    "{} refused {what} ({code} {}: {reason_part}){HINT}{}",
                    self.forge,
                    status.canonical_reason().unwrap_or(""),
                    (self.auth_hint)(status, &reason)
                ),
            }),
            500..=599 => Next::Retry(
                Error::api(
                    Some(code),
                    format!("{} failed on {what} ({code}: {reason_part})", self.forge),
                ),
                retry_after.map(|w| w.min(MAX_WAIT)),
            ),
            _ => Next::Stop(Error::api(
                Some(code),
                format!("{} answered {code} to {what}: {reason_part}", self.forge),
            )),
        }
    }
}

/// The server's own explanation from the error shapes the forges use:
/// Cloud `{"error":{"message"}}`, Data Center `{"errors":[{"message"}]}`, GitHub/GitLab
/// `{"message"}`, OAuth `{"error_description"}`; else a short plain-text body.
pub fn server_reason(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => {
            let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(String::from);
            let detail = s("/error/detail");
            let main = s("/error/message")
                .or_else(|| s("/errors/0/message"))
                .or_else(|| s("/message"))
                .or_else(|| s("/error_description"))
                .or_else(|| s("/error"))
                // RFC 7807 problem details (proxies, gateways).
                .or_else(|| s("/title"))
                .or_else(|| v.pointer("/message").map(|m| m.to_string()));
            match (main, detail) {
                (Some(m), Some(d)) => format!("{m} {d}"),
                (Some(m), None) => m,
                (None, Some(d)) => d,
                (None, None) => String::new(),
            }
        }
        Err(_) => {
            let t = String::from_utf8_lossy(body);
            if t.to_ascii_lowercase().contains("<html") {
                "an HTML error page".to_string()
            } else {
                t.into_owned()
            }
        }
    };
    folded(&text, 300)
}

/// An error and its causes on one line (reqwest's Display hides the root cause).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
}

/// The innermost cause, which says what actually happened ("Connection reset by peer"), with
/// no URL in it; the redirect policy's own message for refused redirects.
fn root_cause(e: &reqwest::Error) -> String {
    let mut last = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        last = c.to_string();
        cur = c.source();
    }
    folded(&last, 200)
}

fn find_cause<'a, T: std::error::Error + 'static>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(t) = c.downcast_ref::<T>() {
            return Some(t);
        }
        // hyper-util and tokio-rustls wrap the TLS error in one io::Error inside another, and
        // io::Error::source() skips the error it wraps: look inside each with get_ref().
        let mut wrapped = c;
        while let Some(inner) = wrapped.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if let Some(t) = inner.downcast_ref::<T>() {
                return Some(t);
            }
            wrapped = inner;
        }
        cur = c.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_reasons_from_each_forge() {
        assert_eq!(server_reason(br#"{"type":"error","error":{"message":"Bad"}}"#), "Bad");
        assert_eq!(server_reason(br#"{"errors":[{"message":"No"}]}"#), "No");
        assert_eq!(server_reason(br#"{"message":"Not Found"}"#), "Not Found");
        assert_eq!(server_reason(b"<html><body>login</body></html>"), "an HTML error page");
        assert_eq!(server_reason(b"plain\ntext"), "plain text");
        assert!(server_reason(&vec![b'x'; 5000]).chars().count() <= 301);
    }

    #[test]
    fn tls_errors_are_found_inside_nested_io_errors() {
        use std::io::{Error as IoError, ErrorKind};
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let nested = IoError::other(IoError::new(ErrorKind::InvalidData, tls));
        assert!(find_cause::<rustls::Error>(&nested).is_some());
        assert!(find_cause::<rustls::Error>(&IoError::other("refused")).is_none());
    }
}
