//! GitHub Actions: step outputs (`GITHUB_OUTPUT`) in the delimiter form and workflow
//! command annotations.
//!
//! GitHub allows a job 1 MB of outputs in all, counted as UTF-16 (two bytes for each ASCII
//! character), and 50 MB per workflow run. pr-status keeps its own well inside that: the
//! `json` output takes at most `JSON_MAX`, the title and the URL at most `VALUE_MAX`
//! characters each, which leaves about half of a job's budget to the other steps.

use serde_json::Value;

use super::{Flat, Summary};
use crate::gate::{Condition, Evaluated, Outcome};

/// The most the `json` output takes, in bytes as GitHub counts them (UTF-16).
pub const JSON_MAX: usize = 480 * 1024;

/// The most characters of the `title` and `url` outputs; a longer value is cut with `…`.
pub const VALUE_MAX: usize = 1024;

/// Bytes as GitHub counts an output: its UTF-16 length, two bytes a unit.
pub fn utf16_bytes(text: &str) -> usize {
    text.encode_utf16().count() * 2
}

fn cut(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The `json` output: the JSON summary itself when it fits in `max`, else the same summary
/// compact, with the pull requests that fit (the selected one always among them, the others
/// in order) and `pull_requests_omitted` counting those left out. `SUMMARY_FILE` has them all.
pub fn json_output(s: &Summary, json: &str, max: usize) -> String {
    let json = json.trim_end();
    if utf16_bytes(json) <= max {
        return json.to_string();
    }
    let mut head = s.clone();
    let all = std::mem::take(&mut head.pull_requests);
    let Ok(mut doc) = serde_json::to_value(&head) else {
        return "{}".to_string();
    };
    doc["pull_requests_omitted"] = Value::from(all.len());
    // Room for the list's brackets and a longer `pull_requests_omitted` count.
    let mut used = utf16_bytes(&doc.to_string()) + 32;
    let entries: Vec<(bool, Value)> = all
        .iter()
        .map(|e| {
            (
                Some(e.pr.id) == s.selected_pr,
                serde_json::to_value(e).unwrap_or(Value::Null),
            )
        })
        .collect();
    let size = |v: &Value| utf16_bytes(&v.to_string()) + 2;
    if let Some((_, v)) = entries.iter().find(|(selected, _)| *selected) {
        used += size(v);
    }
    let mut kept = Vec::new();
    let mut full = false;
    for (selected, v) in entries {
        if selected {
            kept.push(v);
            continue;
        }
        let n = size(&v);
        if full || used + n > max {
            full = true;
            continue;
        }
        used += n;
        kept.push(v);
    }
    doc["pull_requests_omitted"] = Value::from(all.len() - kept.len());
    doc["pull_requests"] = Value::Array(kept);
    doc.to_string()
}

/// Renders outputs as `name<<DELIM` blocks. The delimiter is random and checked against every
/// value, so no value (a PR title, say) can end its block early and inject another output.
/// `json` is the JSON summary as written to `SUMMARY_FILE`; the outputs stay within the sizes
/// above whatever it holds.
pub fn render_outputs(s: &Summary, json: &str) -> String {
    let f = Flat::of(s);
    let pairs = [
        ("found", f.found.to_string()),
        ("count", f.count.to_string()),
        ("number", f.id),
        ("title", cut(f.title, VALUE_MAX)),
        ("state", f.state),
        ("url", cut(f.url, VALUE_MAX)),
        ("draft", f.draft),
        ("approvals", f.approvals),
        ("outcome", s.outcome.as_str().to_string()),
        ("exit_code", s.exit_code.to_string()),
        ("json", json_output(s, json, JSON_MAX)),
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
/// Bidirectional controls are shown as `<U+202E>` (the annotation is displayed beside
/// GitHub's own text).
pub fn annotation(level: &str, title: &str, message: &str) -> String {
    let message = crate::text::without_bidi(message);
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
                crate::text::folded(&e.pr.title, 100),
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
        Condition::Mergeable => crate::gate::merge_why(p),
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

    #[test]
    fn a_json_output_that_does_not_fit_keeps_what_fits() {
        use crate::gate::Gate;
        use crate::model::{PrState, PullRequest};
        let prs: Vec<PullRequest> = (1..=50)
            .map(|id| PullRequest::new(id, "t".repeat(1000), PrState::Open))
            .collect();
        let mut s = Summary::new();
        s.set_decision(Gate::default().decide(prs, None));
        let full = crate::summary::json::render(&s);
        assert_eq!(json_output(&s, &full, usize::MAX), full.trim_end());
        let cut: Value = serde_json::from_str(&json_output(&s, &full, 20_000)).unwrap();
        let kept = cut["pull_requests"].as_array().unwrap();
        assert!(!kept.is_empty() && kept.len() < 50, "{}", kept.len());
        assert_eq!(cut["pull_requests_omitted"], 50 - kept.len());
        assert!(utf16_bytes(&cut.to_string()) <= 20_000);
        let selected = s.selected_pr.unwrap();
        assert!(kept.iter().any(|e| e["id"] == selected));
    }

    #[test]
    fn annotations_show_bidirectional_controls() {
        assert_eq!(
            annotation("warning", "t", "a\u{202E}b"),
            "::warning title=t::a<U+202E>b"
        );
    }
}
