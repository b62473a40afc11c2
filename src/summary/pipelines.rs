//! Bitbucket Pipelines variable sharing: with `BITBUCKET_PIPELINES_VARIABLES_PATH` set, the
//! dotenv keys are appended to that file as `KEY=value` lines, and a later step gets the ones
//! its step lists under `output-variables:` as environment variables (docs/ci.md).
//!
//! Atlassian documents the file only as `KEY=VALUE` lines appended with `echo`, read when the
//! step ends, last write winning; it says nothing about quoting, escapes, multi-line values or
//! lengths. So every value is written in a form that any line-based `KEY=VALUE` reader takes
//! literally: one line, no quotes, nothing a shell or a dotenv parser would expand. The exact
//! text stays in the JSON and dotenv summaries.

use std::io::Read;
use std::path::Path;

use super::Summary;
use crate::error::Result;

/// The variable naming the file.
pub const VARIABLE: &str = "BITBUCKET_PIPELINES_VARIABLES_PATH";

/// Longest value kept, in characters; a longer one is cut and ends with `…`. Each value is
/// printed in the "Build setup" log of every later step.
pub const MAX_VALUE: usize = 500;

/// Characters replaced by `_`: quotes, backslash, `$`, backquote and `#`, which a shell or a
/// dotenv reader would treat as quoting, expansion or a comment.
const REPLACED: [char; 6] = ['"', '\'', '\\', '$', '`', '#'];

/// One value as it goes into the file: control characters (CR, LF, tab, NUL, …) and the
/// Unicode line and paragraph separators become spaces, runs of white space one space, no
/// leading or trailing space; [`REPLACED`] characters become `_`; at most [`MAX_VALUE`]
/// characters. `=` is kept: a reader splits a line at its first `=`, which is the key's.
pub fn plain(value: &str) -> String {
    let mapped: String = value
        .chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else if REPLACED.contains(&c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let folded = mapped.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() > MAX_VALUE {
        let cut: String = folded.chars().take(MAX_VALUE - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        folded
    }
}

/// The lines appended: the dotenv summary's keys, in its order, each `KEY=value`.
pub fn render(s: &Summary) -> String {
    super::dotenv::pairs(s)
        .iter()
        .map(|(k, v)| format!("{k}={}\n", plain(v)))
        .collect()
}

/// Appends `lines` to the file at `path` in one write, starting a new line first when the file
/// does not end with one (an earlier `printf` without `\n`), so no key is glued to a value.
pub fn append(path: &Path, lines: &str) -> Result<()> {
    let mut text = String::new();
    if ends_without_newline(path) {
        text.push('\n');
    }
    text.push_str(lines);
    crate::write::append(VARIABLE, path, &text)
}

/// Only a regular file is read back: opening a FIFO for reading would wait for a writer.
fn ends_without_newline(path: &Path) -> bool {
    use std::io::{Seek, SeekFrom};
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    if f.seek(SeekFrom::End(-1)).is_err() {
        return false; // empty, or not seekable
    }
    let mut last = [0u8; 1];
    f.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_one_inert_line() {
        assert_eq!(plain("a\r\nPR_ID=9\tb"), "a PR_ID=9 b");
        assert_eq!(plain("it's \"x\" $(y) `z` \\ #1"), "it_s _x_ _(y) _z_ _ _1");
        assert_eq!(plain("  \u{2028}x\u{85}y\0 "), "x y");
        assert_eq!(plain("k=v=w"), "k=v=w");
        let long = plain(&"é".repeat(2 * MAX_VALUE));
        assert_eq!(long.chars().count(), MAX_VALUE);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn keys_are_the_dotenv_keys() {
        let s = Summary::new();
        let keys =
            |text: &str| -> Vec<String> { text.lines().map(|l| l.split_once('=').unwrap().0.to_string()).collect() };
        assert_eq!(keys(&render(&s)), keys(&super::super::dotenv::render(&s)));
    }
}
