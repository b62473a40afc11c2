//! Azure Pipelines' logging commands, printed on stdout once the summary files are written:
//! every dotenv key as an output variable (`##vso[task.setvariable ...;isOutput=true]`), and the
//! Markdown summary attached to the run (`##vso[task.uploadsummary]`).
//!
//! The agent acts on `##vso[` anywhere in a line and ends a command at a line break, so every
//! value is escaped as Microsoft's task library escapes a command's properties: `%` as
//! `%AZP25`, CR as `%0D`, LF as `%0A`, `;` as `%3B`, `]` as `%5D`. A value can then neither end
//! its command early nor start another one.

use std::path::Path;

use crate::config::{self, Outputs, Vars};
use crate::summary::{dotenv, Summary};

/// A value as a logging command carries it (`%` first, so no escape is escaped twice).
pub fn escape(value: &str) -> String {
    value
        .replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(';', "%3B")
        .replace(']', "%5D")
}

/// The logging commands, inside Azure Pipelines only (`TF_BUILD=True`).
pub(super) fn logging_commands(summary: &Summary, outputs: &Outputs, vars: &Vars) -> String {
    if !config::is_true(vars.get("TF_BUILD")) {
        return String::new();
    }
    let mut out: String = dotenv::pairs(summary)
        .iter()
        .map(|(k, v)| format!("##vso[task.setvariable variable={};isOutput=true]{}\n", escape(k), escape(v)))
        .collect();
    if let Some(path) = outputs.markdown.as_deref().and_then(absolute) {
        out.push_str(&format!("##vso[task.uploadsummary]{}\n", escape(&path)));
    }
    out
}

/// The Markdown summary's absolute path, when it was written as a file (the agent reads it
/// after the step; a relative path would be read from its own directory).
fn absolute(path: &Path) -> Option<String> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let full = match path.is_absolute() {
        true => path.to_path_buf(),
        false => std::env::current_dir().ok()?.join(path),
    };
    full.to_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_end_or_start_a_command() {
        assert_eq!(
            escape("a;b]c\r\nd%0A%AZP25"),
            "a%3Bb%5Dc%0D%0Ad%AZP250A%AZP25AZP25"
        );
        let e = escape("x\n##vso[task.complete result=Failed]");
        assert!(!e.contains('\n') && !e.contains(']'), "{e}");
    }
}
