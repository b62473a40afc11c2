//! The short human report on stdout. Every value from a server or a variable goes through
//! `crate::text::one_line`: one line, bidirectional controls shown as `<U+202E>`, so no title
//! or branch can reorder the report's own words or start a line of its own.

use super::Summary;
use crate::text::one_line;

pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let repo = one_line(s.repository.as_ref().map(|r| r.full_name.as_str()).unwrap_or("?"), 200);
    let commit: String = s.commit.as_deref().unwrap_or("-").chars().take(12).collect();
    let commit = one_line(&commit, 12);
    out.push_str(&format!(
        "pr-status {}: {} {repo} @ {commit}\n",
        s.tool.version,
        s.provider.unwrap_or("-")
    ));
    for e in &s.pull_requests {
        let p = &e.pr;
        let b = &e.build_summary;
        let mark = if e.qualifies { "✔" } else { "✘" };
        let unmet: Vec<String> = e.unmet.iter().map(|c| super::unmet_text(e, *c)).collect();
        out.push_str(&format!(
            "  {mark} #{} {} [{}{}] {} → {} · approvals {} · changes requested {} · builds {}✓ {}✗ {}… {}■{}\n",
            p.id,
            one_line(&p.title, 72),
            p.state.as_str(),
            if p.draft == Some(true) { ", draft" } else { "" },
            one_line(p.source_branch.as_deref().unwrap_or("?"), 60),
            one_line(p.destination_branch.as_deref().unwrap_or("?"), 60),
            p.approvals,
            p.changes_requested,
            b.successful,
            b.failed,
            b.in_progress,
            b.stopped,
            if unmet.is_empty() {
                String::new()
            } else {
                format!(" · unmet: {}", one_line(&unmet.join(", "), 600))
            },
        ));
    }
    out.push_str(&format!("{}: {}\n", s.outcome.as_str(), one_line(&s.message, 1000)));
    out
}
