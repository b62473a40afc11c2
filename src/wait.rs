//! `WAIT_FOR_BUILDS`: the lookup, then polls while the gate is pending on running builds,
//! spending the API's quota like money.
//!
//! - The first lookup reads everything. A poll re-reads only the build lists of the distinct
//!   heads (`http::builds_only`); every `LIST_EVERY`-th poll re-reads everything (new
//!   approvals, a new head), and so does a poll while a forge's merge verdict is still being
//!   computed. A pass seen by a poll is never reported as it is: everything is read once more
//!   and decided again, so that approvals and the list are current.
//! - The pause starts at `POLL_INTERVAL` and doubles while nothing changes, up to three times
//!   `POLL_INTERVAL` and at most 30 s (`Pauses`); a `POLL_INTERVAL` over 30 s stays as given.
//!   Any change starts it over.
//! - A build that fails ends the wait at once: the gate is no longer pending.
//! - When the forge says its quota is nearly used up (`http::Quota::exhausted`), the wait
//!   stops with `pending` (exit 8) and says so, rather than spend the last requests and fail
//!   with 429. It never ends in a pass.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::credentials::Redactor;
use crate::error::Result;
use crate::gate::{Decision, Gate, Outcome};
use crate::provider::DynProvider;
use crate::summary::{Api, Summary};

/// Every this many polls, the poll re-reads everything, not only the build lists.
pub const LIST_EVERY: u32 = 5;
/// The longest pause the growth reaches (a longer `POLL_INTERVAL` stays as given).
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// The pauses between polls: `POLL_INTERVAL`, doubling while nothing changes.
#[derive(Debug)]
pub struct Pauses {
    first: Duration,
    cap: Duration,
    last: Option<Duration>,
}

impl Pauses {
    pub fn new(poll_interval: Duration) -> Pauses {
        let cap = poll_interval.max((poll_interval * 3).min(MAX_PAUSE));
        Pauses {
            first: poll_interval,
            cap,
            last: None,
        }
    }

    /// The pause before the next poll, given whether the last poll saw a change.
    pub fn after(&mut self, changed: bool) -> Duration {
        let pause = match self.last {
            Some(last) if !changed => (last * 2).min(self.cap),
            _ => self.first,
        };
        self.last = Some(pause);
        pause
    }
}

/// Looks up and decides, polling while the gate is pending on running builds and
/// `WAIT_FOR_BUILDS` allows. Sets the summary's decision and `api` block.
pub async fn look_up_and_wait(
    p: &mut Box<dyn DynProvider>,
    cfg: &Config,
    gate: &Gate,
    summary: &mut Summary,
    redactor: &mut Redactor,
    debug: &dyn Fn(String),
) -> Result<()> {
    let deadline = Instant::now() + cfg.wait_for_builds;
    let mut pauses = Pauses::new(cfg.poll_interval);
    let mut polls = 0u32;
    let mut full = true;
    // The most requests a full lookup cost: what the step keeps in reserve of the quota.
    let mut full_cost = 0u32;
    let mut last_seen: Option<String> = None;
    loop {
        let before = p.http().map_or(0, |h| h.request_count());
        let found = if full {
            p.lookup().await
        } else {
            crate::http::builds_only(p.lookup()).await
        };
        if let Some(h) = p.http() {
            // The OAuth exchange adds a secret during the lookup.
            *redactor = (*h.redactor).clone();
            if full {
                full_cost = full_cost.max(h.request_count() - before);
            }
            let api = Api::of(h);
            debug(format!("{} HTTP request(s) so far", h.request_count()));
            debug(format!("api: {api}"));
            summary.api = Some(api);
        }
        let found = found?;
        summary.lookup = Some(found.kind);
        let seen = format!("{:?}", found.pull_requests);
        let merge_pending = found.pull_requests.iter().any(|pr| pr.merge_pending);
        let changed = last_seen.as_ref().is_some_and(|s| *s != seen);
        last_seen = Some(seen);
        let mut decision = gate.decide(found.pull_requests, summary.commit.as_deref());
        debug(format!("gate: {} ({})", decision.outcome.as_str(), decision.message));
        let now = Instant::now();
        let confirm = !full && decision.outcome == Outcome::Pass;
        let waiting = decision.outcome == Outcome::Pending && now < deadline;
        if confirm || waiting {
            let spent = p.http().and_then(|h| h.quota().exhausted(full_cost, h.forge()));
            if let Some(why) = spent {
                stop_early(&mut decision, &why);
                summary.set_decision(decision);
                return Ok(());
            }
        }
        if confirm {
            debug("a poll saw the gate pass: reading everything once more before deciding".into());
            full = true;
            continue;
        }
        if !waiting {
            summary.set_decision(decision);
            return Ok(());
        }
        let pause = pauses.after(changed).min(deadline - now);
        debug(format!(
            "waiting {} s for running builds (WAIT_FOR_BUILDS)",
            pause.as_secs_f32()
        ));
        tokio::time::sleep(pause).await;
        polls += 1;
        full = polls % LIST_EVERY == 0 || merge_pending;
    }
}

/// The decision of a wait stopped to spare the quota: pending, whatever the last poll saw.
fn stop_early(decision: &mut Decision, why: &str) {
    decision.message = format!(
        "stopped waiting for builds to spare the API quota: {why}; still pending (last seen: {}); run the step again once the limit resets",
        decision.message
    );
    decision.outcome = Outcome::Pending;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(p: &mut Pauses, changes: &[bool]) -> Vec<u64> {
        changes.iter().map(|c| p.after(*c).as_secs()).collect()
    }

    #[test]
    fn pauses_double_up_to_three_intervals_and_start_over_on_a_change() {
        let mut p = Pauses::new(Duration::from_secs(10));
        assert_eq!(secs(&mut p, &[false, false, false, false]), [10, 20, 30, 30]);
        assert_eq!(secs(&mut p, &[true, false, false]), [10, 20, 30]);
        let mut p = Pauses::new(Duration::from_secs(1));
        assert_eq!(secs(&mut p, &[false, false, false, false]), [1, 2, 3, 3]);
        let mut p = Pauses::new(Duration::from_secs(45));
        assert_eq!(secs(&mut p, &[false, false]), [45, 45]);
        let mut p = Pauses::new(Duration::from_secs(20));
        assert_eq!(secs(&mut p, &[false, false, false]), [20, 30, 30]);
    }
}
