//! Versions agree: every place that names a release of pr-status names Cargo.toml's version, so
//! that releasing is "bump one version (and the lines this test points at), tag".
//!
//! A reference is any of these followed by a version: an image tag (`prstatus/pr-status:0.1.0`,
//! `ghcr.io/prstatus/pr-status:0.1.0-action`, `-shell`), an action ref (`prstatus/pr-status@v0.1.0`;
//! a major-only `@v1` counts as version `1`, and disagrees), a release asset
//! (`pr-status-0.1.0-x86_64-unknown-linux-gnu.tar.gz`, `.../releases/download/v0.1.0/`) and a
//! git tag (`--tag v0.1.0`). Checked: Cargo.lock, action.yml and the local-build action,
//! pipe.yml, bitbucket-pipelines.yml, the Dockerfiles, the workflows, docs/*.md, and README.md.

use std::path::{Path, PathBuf};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Text right before a version. `v` after the marker is part of the marker where tags have one.
const MARKERS: [&str; 5] = [
    "pr-status:",
    "pr-status@v",
    "pr-status-",
    "/releases/download/v",
    "--tag v",
];

/// Files that must each name the version at least once (so that removing the tag from one is
/// caught too), relative to the repository.
const MUST_NAME_IT: [&str; 6] = [
    "action.yml",
    "pipe.yml",
    "bitbucket-pipelines.yml",
    "Dockerfile",
    "docs/install.md",
    "docs/ci.md",
];

/// Every version reference in `text`: (line number, the marker and version as written).
fn references(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for marker in MARKERS {
            let mut from = 0;
            while let Some(at) = line[from..].find(marker) {
                let start = from + at + marker.len();
                let digits: String = line[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                let version = digits.trim_end_matches('.');
                if version.starts_with(|c: char| c.is_ascii_digit()) {
                    out.push((n + 1, format!("{marker}{version}"), version.to_string()));
                }
                from = start;
            }
        }
    }
    out
}

/// The files checked under `root`: the fixed ones, the workflows and docs/*.md.
fn files(root: &Path, with_readme: bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = [
        "action.yml",
        ".github/actions/local-build/action.yml",
        "pipe.yml",
        "bitbucket-pipelines.yml",
        "Dockerfile",
        "action.Dockerfile",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    for dir in [".github/workflows", "docs"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        found.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml" | "md")));
        found.sort();
        out.extend(found);
    }
    if with_readme {
        out.push(root.join("README.md"));
    }
    out
}

/// Every disagreement under `root` with `version`, one line each.
fn mismatches(root: &Path, version: &str, with_readme: bool) -> Vec<String> {
    let mut bad = Vec::new();
    for path in files(root, with_readme) {
        let rel = path.strip_prefix(root).unwrap().display().to_string();
        let Ok(text) = std::fs::read_to_string(&path) else {
            bad.push(format!("{rel}: missing"));
            continue;
        };
        let refs = references(&text);
        if refs.is_empty() && MUST_NAME_IT.contains(&rel.as_str()) {
            bad.push(format!("{rel}: names no version (it must name {version})"));
        }
        for (line, written, v) in refs {
            if v != version {
                bad.push(format!("{rel}:{line}: {written} (Cargo.toml's version is {version})"));
            }
        }
    }
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let locked = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"pr-status\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string());
    if locked.as_deref() != Some(version) {
        bad.push(format!(
            "Cargo.lock: pr-status {locked:?} (run cargo update -p pr-status)"
        ));
    }
    bad
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn packaging_docs_and_workflows_name_cargo_tomls_version() {
    let bad = mismatches(&repo(), VERSION, false);
    assert!(bad.is_empty(), "versions disagree:\n{}", bad.join("\n"));
}

#[test]
fn readme_names_cargo_tomls_version() {
    let bad: Vec<String> = mismatches(&repo(), VERSION, true)
        .into_iter()
        .filter(|m| m.starts_with("README.md"))
        .collect();
    assert!(bad.is_empty(), "README.md disagrees:\n{}", bad.join("\n"));
}

#[test]
fn references_are_found_in_every_form() {
    let text = "image: prstatus/pr-status:0.1.0\n\
                image: docker://ghcr.io/prstatus/pr-status:0.1.0-action and pr-status:1.2.3-shell\n\
                - uses: prstatus/pr-status@v1\n\
                curl -LO https://x/releases/download/v0.2.0/pr-status-0.2.0-x86_64-unknown-linux-gnu.tar.gz\n\
                cargo install --locked --git https://x/pr-status --tag v0.3.0\n\
                pr-status: error: no version here; pr-status:$VERSION; pr-status-shell; pr-status 0.9.9\n";
    let found: Vec<(usize, String)> = references(text).into_iter().map(|(l, _, v)| (l, v)).collect();
    let want: Vec<(usize, String)> = [
        (1, "0.1.0"),
        (2, "0.1.0"),
        (2, "1.2.3"),
        (3, "1"),
        (4, "0.2.0"),
        (4, "0.2.0"),
        (5, "0.3.0"),
    ]
    .iter()
    .map(|(l, v)| (*l, v.to_string()))
    .collect();
    // Order within a line follows the markers, so compare as sets of (line, version).
    let (mut f, mut w) = (found.clone(), want);
    f.sort();
    w.sort();
    assert_eq!(f, w, "{found:?}");
}

/// The check fails on a mismatch: a copy of the repository's files with one version changed in
/// each of several places, and one file with its version removed.
#[test]
fn a_copy_with_one_version_changed_fails() {
    let copy = tempfile::tempdir().unwrap();
    let root = copy.path();
    let mut all = files(&repo(), true);
    all.push(repo().join("Cargo.lock"));
    for path in &all {
        let rel = path.strip_prefix(repo()).unwrap();
        std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(path, root.join(rel)).unwrap();
    }
    assert!(
        mismatches(root, VERSION, false).is_empty(),
        "the copy agrees before the edits"
    );

    let edit = |rel: &str, from: &str, to: &str| {
        let p = root.join(rel);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{rel} holds {from}");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    };
    let tag = format!("pr-status:{VERSION}");
    edit("pipe.yml", &tag, "pr-status:9.9.9");
    edit("action.yml", &format!("{tag}-action"), "pr-status:9.9.8-action");
    edit("docs/install.md", &format!("pr-status-{VERSION}-"), "pr-status-9.9.7-");
    // Cargo.toml bumped but the snippets not: every file disagrees with the new version.
    let bad = mismatches(root, VERSION, false);
    assert!(
        bad.iter()
            .any(|m| m.starts_with("pipe.yml:") && m.contains("pr-status:9.9.9")),
        "{bad:#?}"
    );
    assert!(
        bad.iter().any(|m| m.starts_with("action.yml:") && m.contains("9.9.8")),
        "{bad:#?}"
    );
    assert!(
        bad.iter()
            .any(|m| m.starts_with("docs/install.md:") && m.contains("9.9.7")),
        "{bad:#?}"
    );
    assert_eq!(bad.len(), 3, "only the three edits: {bad:#?}");
    let bumped = mismatches(root, "0.0.1", false);
    assert!(
        bumped.iter().any(|m| m.starts_with("bitbucket-pipelines.yml:")),
        "{bumped:#?}"
    );
    assert!(bumped.iter().any(|m| m.starts_with("Cargo.lock")), "{bumped:#?}");

    // A file that must name the version and no longer does.
    let p = root.join("docs/ci.md");
    let text = std::fs::read_to_string(&p).unwrap();
    let text = text
        .replace(&format!("pr-status:{VERSION}"), "pr-status:latest")
        .replace(&format!("pr-status@v{VERSION}"), "pr-status@main")
        .replace(&format!("/download/v{VERSION}/"), "/latest/download/")
        .replace(&format!("pr-status-{VERSION}-"), "pr-status-");
    std::fs::write(&p, text).unwrap();
    let bad = mismatches(root, VERSION, false);
    assert!(
        bad.iter().any(|m| m.starts_with("docs/ci.md: names no version")),
        "{bad:#?}"
    );

    // README's major-only action ref disagrees.
    let bad = mismatches(root, VERSION, true);
    let readme: Vec<_> = bad.iter().filter(|m| m.starts_with("README.md")).collect();
    if std::fs::read_to_string(root.join("README.md"))
        .unwrap()
        .contains("pr-status@v1")
    {
        assert!(readme.iter().any(|m| m.contains("pr-status@v1")), "{bad:#?}");
    }
}
