//! Data Center's branch patterns, as its branch permissions and merge checks match them.

/// Data Center's branch patterns (Ant style): `?` one character and `*` any run of them within
/// a path segment, `**` any run of segments, a trailing `/` means `/**`, and the pattern needs
/// to match only a suffix (whole segments) of the full ref name `refs/heads/...`.
pub(super) fn ref_pattern(pattern: &str, full_ref: &str) -> bool {
    let mut p: Vec<&str> = pattern.trim().split('/').collect();
    if p.last() == Some(&"") {
        p.pop();
        p.push("**");
    }
    let s: Vec<&str> = full_ref.split('/').collect();
    (0..s.len()).any(|start| segments_match(&p, &s[start..]))
}

/// `**`-aware matching of segment lists, by dynamic programming (no backtracking blow-up on a
/// hostile pattern).
fn segments_match(p: &[&str], s: &[&str]) -> bool {
    // m[i][j]: p[i..] matches s[j..]
    let mut m = vec![vec![false; s.len() + 1]; p.len() + 1];
    m[p.len()][s.len()] = true;
    for i in (0..p.len()).rev() {
        for j in (0..=s.len()).rev() {
            m[i][j] = if p[i] == "**" {
                m[i + 1][j] || (j < s.len() && m[i][j + 1])
            } else {
                j < s.len() && m[i + 1][j + 1] && crate::text::wildcard(p[i], s[j])
            };
        }
    }
    m[0][0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_patterns_follow_data_center() {
        let full = |b: &str| format!("refs/heads/{b}");
        for (pattern, branch, want) in [
            ("*", "main", true),
            ("*", "feature/x", true),
            ("PROJECT-*", "stable/PROJECT-new", true),
            ("PROJECT-*", "PROJECT-1234", true),
            ("?.?", "stable/2.X", true),
            ("?.?", "1.10", false),
            ("heads/**/master", "master", true),
            ("heads/**/master", "stable/master", true),
            ("release/", "release/1.0/hotfix", true),
            ("release/*", "release/1.0", true),
            ("release/*", "release/1.0/hotfix", false),
            ("refs/heads/main", "main", true),
            ("main", "not-main", false),
            ("ster", "master", false),
        ] {
            assert_eq!(ref_pattern(pattern, &full(branch)), want, "{pattern} on {branch}");
        }
        // A hostile pattern is decided without blowing up.
        let hostile = "**/".repeat(40) + "x";
        assert!(!ref_pattern(&hostile, &format!("refs/heads/{}", "a/".repeat(60))));
    }
}
