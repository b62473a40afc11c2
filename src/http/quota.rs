//! Rate limits: a 429 (or GitHub's 403 with `retry-after` or `x-ratelimit-remaining: 0`) is
//! waited out like a 5xx when it resets soon, and says when it resets when it does not.

use std::time::{Duration, SystemTime};

use super::retry::{Next, MAX_WAIT};
use super::{Http, Response};
use crate::error::Error;

impl Http {
    /// The retry decision for a rate-limit answer; `None` when `resp` is not one.
    pub(super) fn rate_limited(
        &self,
        what: &str,
        resp: &Response,
        retry_after: Option<Duration>,
        reason_part: &str,
    ) -> Option<Next> {
        let code = resp.status.as_u16();
        let remaining_zero = resp.header("x-ratelimit-remaining").map(str::trim) == Some("0");
        let reset = resp
            .header("x-ratelimit-reset")
            .and_then(|v| v.trim().parse::<u64>().ok());
        // GitHub answers a rate limit with 403 + retry-after or remaining 0: not an auth failure.
        let rate_limited = code == 429 || (code == 403 && (retry_after.is_some() || remaining_zero));
        if !rate_limited {
            return None;
        }
        let reset_wait = reset.map(|r| {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            Duration::from_secs(r.saturating_sub(now) + 1)
        });
        let wait = retry_after.or(reset_wait);
        let when = match reset {
            Some(r) => format!("; the limit resets at {}", rfc3339(r as i64)),
            None => match retry_after {
                Some(w) => format!("; the server asked to wait {} s", w.as_secs()),
                None => String::new(),
            },
        };
        // An exhausted quota (remaining 0) that resets later than the longest wait cannot
        // be waited out within the retry budget: say when it resets now instead of sleeping
        // through every attempt. A `Retry-After` is honoured, capped at 60 s (SPEC).
        if retry_after.is_none() && reset_wait.is_some_and(|w| w > MAX_WAIT) {
            return Some(Next::Stop(Error::api(
                Some(code),
                format!(
                    "{} rate limit hit on {what} ({code}: {reason_part}){when}, more than {} s away: not waiting; run the step again after that",
                    self.forge,
                    MAX_WAIT.as_secs()
                ),
            )));
        }
        let err = Error::api(
            Some(code),
            format!("{} rate limit hit on {what} ({code}: {reason_part}){when}", self.forge),
        );
        Some(Next::Retry(err, wait.map(|w| w.min(MAX_WAIT))))
    }
}

/// Seconds since the epoch as RFC 3339, for messages.
pub(super) fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}
