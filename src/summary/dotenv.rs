//! The dotenv summary (`SUMMARY_DOTENV_FILE`): `set -a; . file` in any POSIX shell sets each
//! variable to the exact text and runs nothing.

use super::{Flat, Summary};

/// POSIX single quotes keep every byte literally, newlines included; the only character that
/// needs care is the quote itself, written as `'\''`. NUL cannot live in a shell variable.
pub fn quote(value: &str) -> String {
    let clean: String = value.chars().filter(|c| *c != '\0').collect();
    format!("'{}'", clean.replace('\'', r"'\''"))
}

/// The dotenv keys and their values, in file order: the one list the dotenv file and the
/// Bitbucket Pipelines variables file (`pipelines.rs`) both write.
pub fn pairs(s: &Summary) -> [(&'static str, String); 14] {
    let f = Flat::of(s);
    [
        ("PR_STATUS_OUTCOME", s.outcome.as_str().to_string()),
        ("PR_STATUS_EXIT_CODE", s.exit_code.to_string()),
        ("PR_FOUND", f.found.to_string()),
        ("PR_COUNT", f.count.to_string()),
        ("PR_ID", f.id),
        ("PR_TITLE", f.title),
        ("PR_STATE", f.state),
        ("PR_URL", f.url),
        ("PR_DRAFT", f.draft),
        ("PR_AUTHOR", f.author),
        ("PR_SOURCE_BRANCH", f.source_branch),
        ("PR_DESTINATION_BRANCH", f.destination_branch),
        ("PR_APPROVALS", f.approvals),
        ("PR_CHANGES_REQUESTED", f.changes_requested),
    ]
}

pub fn render(s: &Summary) -> String {
    pairs(s).iter().map(|(k, v)| format!("{k}={}\n", quote(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_literal() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(x)\n`y`"), "'$(x)\n`y`'");
        assert_eq!(quote("a\0b"), "'ab'");
    }
}
