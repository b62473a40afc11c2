//! The Markdown summary (`SUMMARY_MARKDOWN_FILE`, GitHub's step summary): a verdict line and
//! one table row per pull request. Text from the server is escaped so that a title cannot
//! break the table, inject HTML or links.

use super::Summary;
use crate::gate::Outcome;

/// Escapes text for a table cell: Markdown punctuation backslashed, HTML special characters
/// as entities, line breaks folded.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' | '\t' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '|' => out.push_str("\\|"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A link target: only http(s), and characters that could end the link are encoded.
fn link_target(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return None;
    }
    let mut out = String::new();
    for c in url.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '"' => out.push_str("%22"),
            '|' => out.push_str("%7C"),
            c if c.is_control() || c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

pub fn render(s: &Summary) -> String {
    let icon = match s.outcome {
        Outcome::Pass => "✅",
        Outcome::Fail => "❌",
        Outcome::Pending => "⏳",
        Outcome::Error => "⚠️",
    };
    let mut out = format!(
        "### {icon} pr-status: {} (exit {})\n\n{}\n",
        s.outcome.as_str(),
        s.exit_code,
        cell(&s.message)
    );
    if s.pull_requests.is_empty() {
        return out;
    }
    out.push_str(
        "\n| PR | Title | State | Draft | Approvals | Changes requested | Open tasks | Builds | Qualifies | Unmet |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for e in &s.pull_requests {
        let p = &e.pr;
        let id = match p.url.as_deref().and_then(link_target) {
            Some(u) => format!("[#{}]({u})", p.id),
            None => format!("#{}", p.id),
        };
        let b = &e.build_summary;
        let unmet: Vec<_> = e.unmet.iter().map(|c| c.as_str()).collect();
        out.push_str(&format!(
            "| {id} | {} | {} | {} | {} | {} | {} | {} ✓ {} ✗ {} ⏳ {} ⏹ | {} | {} |\n",
            cell(&p.title),
            p.state.as_str(),
            p.draft.map(|d| if d { "yes" } else { "no" }).unwrap_or("?"),
            p.approvals,
            p.changes_requested,
            p.open_tasks.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
            b.successful,
            b.failed,
            b.in_progress,
            b.stopped,
            if e.qualifies { "yes" } else { "no" },
            cell(&unmet.join(", ")),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table() {
        let c = cell("a | b\n<script>[x](javascript:y)");
        assert!(!c.contains('\n') && !c.contains("<script") && !c.contains("](") && c.contains("\\|"));
        assert_eq!(link_target("javascript:alert(1)"), None);
        assert_eq!(link_target("https://x/a b)").unwrap(), "https://x/a%20b%29");
    }
}
