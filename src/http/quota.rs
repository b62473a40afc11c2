//! Rate limits: a 429 (or GitHub's 403 with `retry-after` or `x-ratelimit-remaining: 0`) is
//! waited out like a 5xx when it resets soon, and says when it resets when it does not. The
//! quota each answer reports (`Quota`) tells a wait when to stop spending it.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

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
        // through every attempt. A `Retry-After` is honoured, capped at 60 s (docs/faults.md).
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

/// What the step keeps of the quota while waiting, at least: a wait stops before it spends
/// these (or a full lookup's cost, when more), so that the pipelines sharing the quota (and
/// this one's rerun) still get a lookup.
pub const RESERVE: u64 = 10;

/// The quota the forge reported in its latest answer (each forge names it differently):
/// GitHub `x-ratelimit-remaining` / `x-ratelimit-reset`, GitLab `RateLimit-Remaining` /
/// `RateLimit-Reset` (both reset as seconds since the epoch), Bitbucket Cloud (to access
/// tokens) `X-RateLimit-Limit`, `X-RateLimit-Resource` and `X-RateLimit-NearLimit` (less than
/// 20 % of the hour's requests left), with no count of what remains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quota {
    pub remaining: Option<u64>,
    /// When the quota resets, in seconds since the epoch.
    pub reset: Option<i64>,
    pub limit: Option<u64>,
    /// Bitbucket's `X-RateLimit-NearLimit: true`.
    pub near_limit: bool,
}

impl Quota {
    /// The quota as `headers` say it; `None` when they say nothing about it.
    pub fn from_headers(headers: &HeaderMap) -> Option<Quota> {
        let text = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()).map(str::trim))
        };
        let number = |names: &[&str]| text(names).and_then(|v| v.parse::<u64>().ok());
        let q = Quota {
            remaining: number(&["x-ratelimit-remaining", "ratelimit-remaining"]),
            reset: number(&["x-ratelimit-reset", "ratelimit-reset"]).and_then(|r| i64::try_from(r).ok()),
            limit: number(&["x-ratelimit-limit", "ratelimit-limit"]),
            near_limit: text(&["x-ratelimit-nearlimit"]).is_some_and(|v| v.eq_ignore_ascii_case("true")),
        };
        (q != Quota::default()).then_some(q)
    }

    /// Takes in the quota a newer answer reported. Answers to requests in flight together
    /// arrive in any order: within one window (the same reset time) the lowest count wins.
    pub(super) fn update(&mut self, newer: Quota) {
        let same_window = self.reset.is_some() && self.reset == newer.reset;
        let remaining = match (self.remaining, newer.remaining) {
            (Some(a), Some(b)) if same_window => Some(a.min(b)),
            (_, r) => r,
        };
        *self = Quota { remaining, ..newer };
    }

    /// When the quota resets (RFC 3339), when the forge said.
    pub fn reset_at(&self) -> Option<String> {
        self.reset.map(rfc3339)
    }

    /// Why a wait must stop now to spare the quota, or `None` while enough is left: fewer
    /// requests than `RESERVE` (or than a full lookup costs, `full_cost`) remain, or the
    /// forge says it is near its limit.
    pub fn exhausted(&self, full_cost: u32, forge: &str) -> Option<String> {
        let reserve = RESERVE.max(u64::from(full_cost));
        let resets = match self.reset_at() {
            Some(at) => format!(", and the limit resets at {at}"),
            None => String::new(),
        };
        match self.remaining {
            Some(left) if left < reserve => Some(format!(
                "{forge} has {left} requests left before its rate limit{resets} (the step keeps {reserve} in reserve)"
            )),
            _ if self.near_limit => Some(format!(
                "{forge} says it is near its rate limit (X-RateLimit-NearLimit: less than 20 % of its {} requests an hour left){resets}",
                self.limit.map_or_else(|| "allowed".to_string(), |l| l.to_string())
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn each_forge_names_its_quota_its_own_way() {
        let github = headers(&[
            ("x-ratelimit-remaining", "4990"),
            ("x-ratelimit-reset", "1800000000"),
            ("x-ratelimit-limit", "5000"),
        ]);
        let q = Quota::from_headers(&github).unwrap();
        assert_eq!(
            (q.remaining, q.reset, q.limit, q.near_limit),
            (Some(4990), Some(1_800_000_000), Some(5000), false)
        );
        assert_eq!(q.reset_at().as_deref(), Some("2027-01-15T08:00:00Z"));
        let gitlab = headers(&[
            ("RateLimit-Remaining", "7"),
            ("RateLimit-Reset", "1800000000"),
            ("RateLimit-Limit", "2000"),
        ]);
        let q = Quota::from_headers(&gitlab).unwrap();
        assert_eq!((q.remaining, q.limit), (Some(7), Some(2000)));
        let bitbucket = headers(&[
            ("X-RateLimit-Limit", "1000"),
            ("X-RateLimit-Resource", "api"),
            ("X-RateLimit-NearLimit", "true"),
        ]);
        let q = Quota::from_headers(&bitbucket).unwrap();
        assert_eq!((q.remaining, q.reset, q.near_limit), (None, None, true));
        assert_eq!(
            Quota::from_headers(&headers(&[("content-type", "application/json")])),
            None
        );
    }

    #[test]
    fn a_wait_stops_below_the_reserve_or_near_the_limit() {
        let left = |n| Quota {
            remaining: Some(n),
            ..Quota::default()
        };
        assert_eq!(left(RESERVE).exhausted(4, "GitHub"), None);
        assert!(left(RESERVE - 1)
            .exhausted(4, "GitHub")
            .unwrap()
            .contains("9 requests left"));
        assert!(
            left(30).exhausted(31, "GitHub").is_some(),
            "a full lookup costing more raises the reserve"
        );
        let near = Quota {
            near_limit: true,
            limit: Some(1000),
            ..Quota::default()
        };
        assert!(near
            .exhausted(2, "Bitbucket Cloud")
            .unwrap()
            .contains("1000 requests an hour"));
        assert_eq!(Quota::default().exhausted(2, "Bitbucket Cloud"), None);
    }
}
