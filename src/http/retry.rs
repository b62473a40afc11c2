//! Retries: backoff with jitter, the one decision every failed attempt ends in (`Next`), and
//! the server's own `Retry-After`.

use std::time::{Duration, SystemTime};

use super::Http;
use crate::error::Error;

/// Longest single wait the step accepts from a server (`Retry-After`, rate-limit reset).
pub(super) const MAX_WAIT: Duration = Duration::from_secs(60);

impl Http {
    /// Exponential backoff (1, 2, 4 s by default) with ±25 % jitter.
    pub(super) fn backoff(&self, attempt: u32) -> Duration {
        let base = self.settings.retry_delay.saturating_mul(1 << (attempt - 1).min(10));
        base.mul_f64(0.75 + fastrand::f64() * 0.5).min(MAX_WAIT)
    }

    pub(super) fn finalize(&self, err: Error, attempts: u32) -> Error {
        match err {
            Error::Api { status, message } => Error::Api {
                status,
                message: format!("{message} (gave up after {attempts} attempts)"),
            },
            Error::Network(m) => Error::Network(format!("{m} (gave up after {attempts} attempts)")),
            other => other,
        }
    }
}

/// What follows a failed attempt, whether the server answered (`classify`) or not
/// (`transport_error`): another attempt, after the server's wait when it named one (else the
/// backoff), or the end with this error.
pub(super) enum Next {
    Retry(Error, Option<Duration>),
    Stop(Error),
}

impl Next {
    /// Another attempt after the usual backoff.
    pub(super) fn retry(e: Error) -> Next {
        Next::Retry(e, None)
    }

    /// `Ok((error, wait))` to retry, `Err(error)` to stop.
    pub(super) fn into_parts(self) -> std::result::Result<(Error, Option<Duration>), Error> {
        match self {
            Next::Retry(e, wait) => Ok((e, wait)),
            Next::Stop(e) => Err(e),
        }
    }
}

/// `Retry-After` in seconds or as an HTTP date; `None` for anything else (public for the
/// property tests of the parsers of server answers).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v.trim()).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
