//! The Markdown summary (`SUMMARY_MARKDOWN_FILE`, GitHub's step summary): a verdict line and
//! one table row per pull request. Text from the server is escaped so that a title cannot
//! break the table, inject HTML or links, or reorder the text around it (bidirectional
//! controls are shown as `<U+202E>`).
//!
//! GitHub refuses a step summary above 1024 KiB whole ("upload aborted"), so the document stays
//! within `MAX_BYTES`: titles are cut to `TITLE_MAX` characters, and rows that do not fit are
//! left out with an "…and N more pull requests" line. The JSON summary always lists them all.

use super::Summary;
use crate::gate::Outcome;
use crate::text::is_bidi;

/// The most bytes the Markdown takes: half of GitHub's 1024 KiB step-summary limit, leaving
/// the other half to whatever else the same step appends.
pub const MAX_BYTES: usize = 512 * 1024;

/// The most characters of a title shown in the table (GitHub caps titles at 256, Bitbucket at
/// 255); a longer one is cut with `…`.
pub const TITLE_MAX: usize = 300;

/// Room kept for the "…and N more" line.
const TRAILER: usize = 200;

/// Escapes text for a table cell: Markdown punctuation backslashed, HTML special characters
/// as entities, line breaks folded.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' | '\t' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if is_bidi(c) => out.push_str(&format!("&lt;U+{:04X}&gt;", c as u32)),
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
            c if is_bidi(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            c if c.is_control() || c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// `text` cut to `max` characters, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// The Markdown summary within `MAX_BYTES`.
pub fn render(s: &Summary) -> String {
    render_within(s, MAX_BYTES)
}

/// The Markdown summary in at most `max` bytes (as long as the verdict itself fits): as many
/// rows as fit, in the summary's order, then a line counting the others.
pub fn render_within(s: &Summary, max: usize) -> String {
    let icon = match s.outcome {
        Outcome::Pass => "✅",
        Outcome::Fail => "❌",
        Outcome::Pending => "⏳",
        Outcome::Error => "⚠️",
    };
    // Several configuration problems are one line each: a list.
    let lines: Vec<&str> = s.message.split('\n').collect();
    let message = if lines.len() > 1 && s.error.is_some() {
        lines.iter().map(|l| format!("- {}\n", cell(l))).collect::<String>()
    } else {
        format!("{}\n", cell(&s.message))
    };
    let mut out = format!(
        "### {icon} pr-status: {} (exit {})\n\n{message}",
        s.outcome.as_str(),
        s.exit_code,
    );
    if s.pull_requests.is_empty() {
        return out;
    }
    out.push_str(
        "\n| PR | Title | State | Draft | Approvals | Changes requested | Open tasks | Builds | Qualifies | Unmet |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    let total = s.pull_requests.len();
    for (shown, e) in s.pull_requests.iter().enumerate() {
        let row = row(e);
        if out.len() + row.len() + TRAILER > max {
            let more = total - shown;
            let noun = if more == 1 { "pull request" } else { "pull requests" };
            out.push_str(&format!(
                "\n…and {more} more {noun}, left out to keep this summary within GitHub's size limit: \
                 the JSON summary lists all {total}.\n"
            ));
            break;
        }
        out.push_str(&row);
    }
    out
}

/// One table row.
fn row(e: &crate::gate::Evaluated) -> String {
    let p = &e.pr;
    let id = match p.url.as_deref().and_then(link_target) {
        Some(u) => format!("[#{}]({u})", p.id),
        None => format!("#{}", p.id),
    };
    let b = &e.build_summary;
    let unmet: Vec<String> = e.unmet.iter().map(|c| super::unmet_text(e, *c)).collect();
    format!(
        "| {id} | {} | {} | {} | {} | {} | {} | {} ✓ {} ✗ {} ⏳ {} ⏹ | {} | {} |\n",
        cell(&cut(&p.title, TITLE_MAX)),
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
    )
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

    #[test]
    fn bidirectional_controls_are_shown_not_applied() {
        assert_eq!(cell("a\u{202E}b\u{2066}"), "a&lt;U+202E&gt;b&lt;U+2066&gt;");
        assert_eq!(link_target("https://x/\u{202E}").unwrap(), "https://x/%E2%80%AE");
        assert_eq!(cell("a\u{2028}b"), "a b");
    }
}
