//! GitHub Actions: step outputs (`GITHUB_OUTPUT`) in the delimiter form and workflow
//! command annotations.

use super::{Flat, Summary};
use crate::gate::{Condition, Evaluated, Outcome};
use crate::http::one_line;

/// Renders outputs as `name<<DELIM` blocks. The delimiter is random and checked against every
/// value, so no value (a PR title, say) can end its block early and inject another output.
pub fn render_outputs(s: &Summary, json: &str) -> String {
    let f = Flat::of(s);
    let pairs = [
        ("found", f.found.to_string()),
        ("count", f.count.to_string()),
        ("number", f.id),
        ("title", f.title),
        ("state", f.state),
        ("url", f.url),
        ("draft", f.draft),
        ("approvals", f.approvals),
        ("outcome", s.outcome.as_str().to_string()),
        ("exit_code", s.exit_code.to_string()),
        ("json", json.trim_end().to_string()),
    ];
    let delimiter = loop {
        let d = format!("ghadelimiter_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        if !pairs.iter().any(|(_, v)| v.contains(&d)) {
            break d;
        }
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{k}<<{delimiter}\n{v}\n{delimiter}\n"))
        .collect()
}

/// A workflow command (`::error::msg`), with `%`, CR and LF escaped as GitHub requires so a
/// message cannot start a second command.
pub fn annotation(level: &str, title: &str, message: &str) -> String {
    let data = message.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let prop = title
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C");
    format!("::{level} title={prop}::{data}")
}

/// The verdict and each unmet condition of the selected pull request as workflow commands,
/// one per line (docs/ci.md). The verdict's level follows the outcome: `notice` for pass,
/// `error` for fail and error, `warning` for pending; each unmet condition of a failing gate is
/// an `error` (a `warning` while pending), titled `pr-status: <condition>`. At most nine lines,
/// under GitHub's ten annotations of one level per step.
pub fn annotations(s: &Summary) -> String {
    let (verdict, unmet) = match s.outcome {
        Outcome::Pass => ("notice", "notice"),
        Outcome::Pending => ("warning", "warning"),
        Outcome::Fail | Outcome::Error => ("error", "error"),
    };
    let mut out = annotation(verdict, "pr-status", &s.message);
    out.push('\n');
    if let Some(e) = s.selected().filter(|_| s.outcome != Outcome::Pass) {
        for c in &e.unmet {
            let title = format!("pr-status: {c}");
            let message = format!(
                "PR #{} \"{}\": {}",
                e.pr.id,
                one_line(&e.pr.title, 100),
                why(e, *c, s.min_approvals)
            );
            out.push_str(&annotation(unmet, &title, &message));
            out.push('\n');
        }
    }
    out
}

/// Why `e` does not meet `c`, in a few words.
fn why(e: &Evaluated, c: Condition, min_approvals: u32) -> String {
    let p = &e.pr;
    let b = &e.build_summary;
    match c {
        Condition::Pr => "no pull request contains the commit".to_string(),
        Condition::Open => format!("is {}, not open", p.state.as_str()),
        Condition::Merged => format!("is {}, not merged", p.state.as_str()),
        Condition::NotDraft => "is a draft".to_string(),
        Condition::Approved => format!("has {} approval(s), {min_approvals} needed", p.approvals),
        Condition::NoChangesRequested => format!("{} reviewer(s) request changes", p.changes_requested),
        Condition::NoOpenTasks => match p.open_tasks {
            Some(n) => format!("has {n} open task(s)"),
            None => "the server did not report its open tasks".to_string(),
        },
        Condition::BuildsPassed => format!(
            "builds: {} successful, {} failed, {} running, {} stopped",
            b.successful, b.failed, b.in_progress, b.stopped
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_escapes() {
        assert_eq!(
            annotation("error", "a:b,c", "50%\r\n::x"),
            "::error title=a%3Ab%2Cc::50%25%0D%0A::x"
        );
    }

    #[test]
    fn outputs_use_one_unique_delimiter() {
        let s = Summary::new();
        let out = render_outputs(&s, "{}\n");
        let first = out.lines().next().unwrap();
        let delim = first.split("<<").nth(1).unwrap();
        assert_eq!(out.matches(delim).count(), 22);
        assert!(out.contains("outcome<<"));
    }
}
