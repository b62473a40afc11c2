//! Writing the summary files: checked before any request, written atomically (temporary
//! file beside the target, then rename), GitHub's files appended as GitHub expects.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

fn io_error(variable: &str, path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io(format!(
        "{variable}={} {what}: {e}; set {variable} to a writable path",
        path.display()
    ))
}

/// A folder that cannot be created, usually because a file sits where a folder should be
/// (the OS only says "File exists" or "Not a directory").
fn folder_error(variable: &str, path: &Path, dir: &Path, e: std::io::Error) -> Error {
    match dir.ancestors().find(|a| a.is_file()) {
        Some(file) => io_error(
            variable,
            path,
            "cannot be created",
            format!("{} is a file, not a folder", file.display()),
        ),
        None => io_error(variable, path, "cannot be created", e),
    }
}

fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Temporary files are named after their target, so a run killed between write and rename
/// leaves something the next run recognises and removes.
fn temp_prefix(path: &Path) -> String {
    format!(
        ".{}.tmp-",
        path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    )
}

/// Creates missing parent folders and proves the path is writable, before anything is sent.
pub fn preflight(variable: &str, path: &Path, append: bool) -> Result<()> {
    if path.as_os_str().is_empty() || path.is_dir() {
        return Err(io_error(
            variable,
            path,
            "is a folder, not a file",
            "choose a file name",
        ));
    }
    let dir = dir_of(path);
    fs::create_dir_all(&dir).map_err(|e| folder_error(variable, path, &dir, e))?;
    if append {
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io_error(variable, path, "cannot be written", e))?;
        return Ok(());
    }
    if let Ok(entries) = fs::read_dir(&dir) {
        let prefix = temp_prefix(path);
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .tempfile_in(&dir)
        .map_err(|e| io_error(variable, path, "cannot be written", e))?;
    if path.exists() && fs::metadata(path).map(|m| m.permissions().readonly()).unwrap_or(false) {
        return Err(io_error(variable, path, "cannot be written", "the file is read-only"));
    }
    Ok(())
}

/// Writes `contents` so that a reader sees the old file or the new one, never half of one.
pub fn atomic(variable: &str, path: &Path, contents: &str) -> Result<()> {
    let dir = dir_of(path);
    fs::create_dir_all(&dir).map_err(|e| folder_error(variable, path, &dir, e))?;
    let prefix = temp_prefix(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    // tempfile makes 0600 files; the summaries are read by later steps, often as another user
    // (a Docker action runs as root): a new file gets the mode any new file gets (0666 less the
    // umask), a replaced one keeps its own.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(&dir)
        .map_err(|e| io_error(variable, path, "cannot be written", e))?;
    if let Ok(existing) = fs::metadata(path) {
        tmp.as_file()
            .set_permissions(existing.permissions())
            .map_err(|e| io_error(variable, path, "cannot be written", e))?;
    }
    tmp.write_all(contents.as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| io_error(variable, path, "cannot be written", e))?;
    // The temporary file is removed on drop if the rename fails.
    tmp.persist(path)
        .map_err(|e| io_error(variable, path, "cannot be written", e.error))?;
    Ok(())
}

/// Appends in one write (GitHub's `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`).
pub fn append(variable: &str, path: &Path, contents: &str) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_error(variable, path, "cannot be written", e))?;
    f.write_all(contents.as_bytes())
        .map_err(|e| io_error(variable, path, "cannot be written", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/out.json");
        preflight("SUMMARY_FILE", &path, false).unwrap();
        atomic("SUMMARY_FILE", &path, "one").unwrap();
        atomic("SUMMARY_FILE", &path, "two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn stale_temp_files_are_cleaned_and_folders_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        fs::write(dir.path().join(".out.json.tmp-abc"), "half").unwrap();
        preflight("SUMMARY_FILE", &path, false).unwrap();
        assert!(!dir.path().join(".out.json.tmp-abc").exists());
        let err = preflight("SUMMARY_FILE", dir.path(), false).unwrap_err();
        assert!(err.to_string().contains("SUMMARY_FILE"));
    }
}
