//! The JSON summary (`SUMMARY_FILE`), always written.

use super::Summary;

pub fn render(s: &Summary) -> String {
    // Serializing plain data with string keys cannot fail; the fallback keeps that visible.
    let mut out = serde_json::to_string_pretty(s).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    out.push('\n');
    out
}
