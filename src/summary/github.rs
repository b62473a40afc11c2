//! GitHub Actions: step outputs (`GITHUB_OUTPUT`) in the delimiter form and workflow
//! command annotations.

use super::{Flat, Summary};

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
