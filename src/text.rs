//! Display text: values from servers and variables made safe to show beside pr-status's own
//! words, on a terminal, in a CI log or in Markdown.
//!
//! Two things are neutralised, and shown rather than dropped, as `<U+XXXX>`:
//! - characters that reorder the text around them (bidirectional embeddings, overrides,
//!   isolates and marks): a title holding U+202E would otherwise show pr-status's own words
//!   after it backwards;
//! - characters that end a line (every control character, U+2028 and U+2029): a value holding
//!   a newline would otherwise start a line of its own, which CI runners read as a command
//!   (GitHub's runner reads `::error::…` on stdout and on stderr).
//!
//! A third is shown the same way: `##vso[`, the prefix of an Azure Pipelines logging command,
//! which the agent acts on anywhere in a line of a step's output (not only at its start). Its
//! `[` is shown as `<U+005B>`, so a title such as `##vso[task.setvariable variable=x]y` is
//! printed, never obeyed, whichever forge the step serves.
//!
//! The data files (JSON, dotenv, step outputs) keep the exact text: programs read those.

/// The characters that change the direction of the text after them: LRE, RLE, PDF, LRO, RLO
/// (U+202A–U+202E), LRI, RLI, FSI, PDI (U+2066–U+2069), and the marks LRM, RLM, ALM.
pub fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A character that ends a line somewhere: controls (CR, LF, NEL, …) and the Unicode line and
/// paragraph separators.
pub fn breaks_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `<U+202E>`: how a neutralised character is shown.
pub fn code_point(c: char) -> String {
    format!("<U+{:04X}>", c as u32)
}

/// The prefix of an Azure Pipelines logging command (`##vso[task.setvariable ...]`).
const VSO: &str = "##vso[";

/// Whether `text[at..]` starts with `##vso[` in any case.
fn vso_at(text: &str, at: usize) -> bool {
    text.as_bytes()
        .get(at..at + VSO.len())
        .is_some_and(|b| b.eq_ignore_ascii_case(VSO.as_bytes()))
}

/// The text with every bidirectional and line-ending character shown as `<U+XXXX>`, and the
/// `[` of every `##vso[` as `<U+005B>`: one line whatever it holds, in the order it is
/// written, that no CI runner reads as a command. For messages (stderr, annotations) and the
/// report on stdout.
pub fn visible(text: &str) -> String {
    let has_vso = text.to_ascii_lowercase().contains(VSO);
    if !has_vso && !text.chars().any(|c| is_bidi(c) || breaks_line(c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, c) in text.char_indices() {
        let vso_bracket = c == '[' && i >= 5 && vso_at(text, i - 5);
        if is_bidi(c) || breaks_line(c) || vso_bracket {
            out.push_str(&code_point(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// The text with only the bidirectional characters shown as `<U+XXXX>` (for text whose line
/// breaks are escaped another way, such as a workflow command's `%0A`).
pub fn without_bidi(text: &str) -> String {
    text.chars()
        .map(|c| if is_bidi(c) { code_point(c) } else { c.to_string() })
        .collect()
}

/// A value for a one-line report: runs of whitespace (line breaks included) folded to one
/// space, cut to `max` characters with `…`, then bidirectional and control characters shown
/// as `<U+XXXX>`.
pub fn one_line(text: &str, max: usize) -> String {
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let count = folded.chars().count();
    let cut: String = folded.chars().take(max).collect();
    let mut out = visible(&cut);
    if count > max {
        out.push('…');
    }
    out
}

/// Folds text to one line of at most `max` characters, control characters dropped (not
/// shown, unlike `one_line`): for a server's words inside a sentence.
pub fn folded(text: &str, max: usize) -> String {
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = folded.chars().filter(|c| !c.is_control()).take(max).collect();
    if folded.chars().count() > max {
        format!("{cut}…")
    } else {
        cut
    }
}

/// A URL's text with its userinfo (`user:password@`) replaced by `[redacted]@`, for messages
/// and summaries. Works on text that does not parse as a URL, so it does not trust the URL's
/// structure: everything between the scheme (with the `/` or `\` after it, which URL parsers
/// accept in any number) and the last `@` is hidden, wherever that `@` is (an unencoded `#`,
/// `?` or `/` in a password must not end the hidden part early).
pub fn without_userinfo(text: &str) -> String {
    let start = match text.find(':') {
        Some(i)
            if i > 0
                && text[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            i + 1 + text[i + 1..].chars().take_while(|c| matches!(c, '/' | '\\')).count()
        }
        _ => 0,
    };
    match text[start..].rfind('@') {
        Some(at) => format!("{}[redacted]{}", &text[..start], &text[start + at..]),
        None => text.to_string(),
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` any one
/// (nothing else is special). Dynamic programming: no backtracking blow-up on a hostile
/// pattern.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = text.chars().collect();
    let mut m = vec![vec![false; s.len() + 1]; p.len() + 1];
    m[p.len()][s.len()] = true;
    for i in (0..p.len()).rev() {
        for j in (0..=s.len()).rev() {
            m[i][j] = match p[i] {
                '*' => m[i + 1][j] || (j < s.len() && m[i][j + 1]),
                '?' => j < s.len() && m[i + 1][j + 1],
                c => j < s.len() && s[j] == c && m[i + 1][j + 1],
            };
        }
    }
    m[0][0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reordering_and_line_breaks_are_shown() {
        assert_eq!(visible("a\u{202E}b\nc"), "a<U+202E>b<U+000A>c");
        assert_eq!(visible("plain é"), "plain é");
        assert_eq!(visible("x\u{2028}y\u{85}z\r"), "x<U+2028>y<U+0085>z<U+000D>");
        assert_eq!(without_bidi("a\u{2067}b\n"), "a<U+2067>b\n");
        for c in [
            '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            assert!(is_bidi(c));
        }
        assert!(!is_bidi('\u{2029}') && !is_bidi('a') && !is_bidi('\u{200B}'));
    }

    #[test]
    fn one_line_folds_cuts_and_shows() {
        assert_eq!(one_line(" a \n\t b ", 10), "a b");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("\u{202E}abc", 2), "<U+202E>a…");
        assert_eq!(one_line("a\u{2028}b", 10), "a b");
        assert_eq!(one_line("a\u{7}b", 10), "a<U+0007>b");
    }

    #[test]
    fn azure_logging_commands_are_shown_not_obeyed() {
        assert_eq!(
            visible("x ##vso[task.setvariable variable=a]b"),
            "x ##vso<U+005B>task.setvariable variable=a]b"
        );
        assert_eq!(visible("##VSO[task.complete]"), "##VSO<U+005B>task.complete]");
        assert_eq!(visible("##vso##vso[a]"), "##vso##vso<U+005B>a]");
        assert_eq!(visible("é##vso[x"), "é##vso<U+005B>x");
        assert_eq!(visible("[##vso] and ##[group]"), "[##vso] and ##[group]");
        assert_eq!(
            one_line("t ##vso[task.uploadfile]/etc/passwd", 80),
            "t ##vso<U+005B>task.uploadfile]/etc/passwd"
        );
    }
}
