//! Writing the summary files: checked before any request, written atomically (temporary file
//! beside the target, then rename), GitHub's files appended as GitHub expects.
//!
//! What sits at the path decides how it is written (docs/outputs.md):
//! - nothing, or a regular file: replaced atomically, so a reader sees the old file or the new
//!   one, never half of one;
//! - a symlink: the link itself is replaced by a regular file; its target is never written;
//! - a character device (`/dev/null`) or a FIFO: written through like the shell's `>`, never
//!   replaced, so a run as root cannot turn the machine's `/dev/null` into a file;
//! - a folder (or a link to one), a block device, a socket: refused, exit 2, naming the variable.
//!
//! Messages name the user's path, never a temporary one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// How an output path is written, decided from what is there now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Nothing yet, a regular file or a symlink: replaced by a new regular file.
    Replaced,
    /// A character device: opened and written, never replaced.
    Device,
    /// A FIFO: opened and written, never replaced. Opened only to write the real content: its
    /// reader takes the first writer's close as the end of the document.
    Fifo,
}

/// Looks at the path without following a final symlink (a link is replaced, not followed),
/// except that a link to a folder is refused like the folder.
pub fn target(variable: &str, path: &Path) -> Result<Target> {
    if path.as_os_str().is_empty() || path.is_dir() {
        return Err(io_error(
            variable,
            path,
            "is a folder, not a file",
            "choose a file name",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        // Any failure here (a missing folder, a file where a folder should be) is reported
        // with a better sentence by the write that follows.
        let Ok(meta) = fs::symlink_metadata(path) else {
            return Ok(Target::Replaced);
        };
        let t = meta.file_type();
        let refused = |what: &str| {
            Err(io_error(
                variable,
                path,
                &format!("is {what}, not a file"),
                "choose a file name",
            ))
        };
        if t.is_char_device() {
            return Ok(Target::Device);
        }
        if t.is_fifo() {
            return Ok(Target::Fifo);
        }
        if t.is_block_device() {
            return refused("a block device");
        }
        if t.is_socket() {
            return refused("a socket");
        }
    }
    Ok(Target::Replaced)
}

/// Longest file name most filesystems allow (ext4, XFS, btrfs, tmpfs: 255 bytes).
const NAME_MAX: usize = 255;
/// Random characters in a temporary name.
const RANDOM: usize = 6;
const TEMP_MARK: &str = ".tmp-";

/// Temporary files are named after their target (`.<name>.tmp-<random>`), so that a run killed
/// between write and rename leaves something a later run recognises and removes. The name is
/// shortened so that a legal target name (up to 255 bytes) never makes an illegal temporary one.
fn temp_prefix(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let mut end = name.len().min(NAME_MAX - 1 - TEMP_MARK.len() - RANDOM);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!(".{}{TEMP_MARK}", &name[..end])
}

/// A temporary file older than this belongs to a run that died between write and rename: an
/// atomic write holds its temporary file for the time of one write, fsync and rename, so a
/// run in flight (another job sharing the path) never has one this old.
const STALE: Duration = Duration::from_secs(3600);

/// Removes the temporary files of `path` that runs killed mid-write left behind, and only
/// those: another run writing the same path at this moment keeps its own.
fn remove_stale_temps(path: &Path) {
    let prefix = temp_prefix(path);
    let Ok(entries) = fs::read_dir(dir_of(path)) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let old = entry
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Checks a path before anything is sent: refuses what cannot hold a summary, creates missing
/// parent folders, and proves that an appended file opens. Files written atomically are proven
/// by [`placeholder`], which writes them for real.
pub fn preflight(variable: &str, path: &Path, append: bool) -> Result<()> {
    match target(variable, path)? {
        Target::Device => {
            fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| io_error(variable, path, "cannot be written", e))?;
            return Ok(());
        }
        // Opening it here would hand its reader an empty document.
        Target::Fifo => return Ok(()),
        Target::Replaced => {}
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
    remove_stale_temps(path);
    if fs::metadata(path).map(|m| m.permissions().readonly()).unwrap_or(false) {
        return Err(io_error(variable, path, "cannot be written", "the file is read-only"));
    }
    Ok(())
}

/// Puts the "no verdict yet" summary in place before the first request, by the same atomic
/// replacement the verdict will use: a file that cannot be replaced (immutable, on a read-only
/// mount) is found while nothing has been sent, and no earlier run's verdict survives a run
/// killed mid-lookup. Devices and FIFOs are left alone: they get only the real summary.
pub fn placeholder(variable: &str, path: &Path, contents: &str) -> Result<()> {
    match target(variable, path)? {
        Target::Replaced => replace(variable, path, contents),
        Target::Device | Target::Fifo => Ok(()),
    }
}

/// Writes `contents` to `path`: atomically for a file, through for a device or a FIFO.
pub fn atomic(variable: &str, path: &Path, contents: &str) -> Result<()> {
    match target(variable, path)? {
        Target::Replaced => replace(variable, path, contents),
        Target::Device | Target::Fifo => through(variable, path, contents),
    }
}

/// How often [`wait_for_reader`] looks for a FIFO's reader.
const READER_POLL: Duration = Duration::from_millis(50);

/// Opens a FIFO for writing only if a reader has it open: `None` when none has. Never blocks.
#[cfg(unix)]
fn open_if_read(path: &Path) -> std::io::Result<Option<fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    match fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn open_if_read(_path: &Path) -> std::io::Result<Option<fs::File>> {
    Ok(None)
}

/// Waits, as `>` would, until a FIFO at `path` has a reader, and returns a write handle that
/// keeps it: while one is held, the reader sees no end of file before the summary is
/// written. The wait is asynchronous so that SIGTERM still ends the run (a blocking `open`
/// would hold the thread the signal is handled on). `None` at once for any other path; an
/// error is left for the write to report.
pub async fn wait_for_reader(variable: &str, path: &Path) -> Option<fs::File> {
    if target(variable, path).ok()? != Target::Fifo {
        return None;
    }
    loop {
        match open_if_read(path) {
            Ok(Some(held)) => return Some(held),
            Ok(None) => tokio::time::sleep(READER_POLL).await,
            Err(_) => return None,
        }
    }
}

/// `>` semantics for a device or a FIFO: opened and written, never replaced. A FIFO is
/// written only when a reader has it open ([`wait_for_reader`] waited for one); without a
/// reader it is an error, never a wait that a signal could not end.
fn through(variable: &str, path: &Path, contents: &str) -> Result<()> {
    let fail = |e: std::io::Error| io_error(variable, path, "cannot be written", e);
    let probe = if target(variable, path)? == Target::Fifo {
        match open_if_read(path).map_err(fail)? {
            Some(f) => Some(f),
            None => {
                return Err(io_error(
                    variable,
                    path,
                    "cannot be written",
                    "it is a FIFO and nothing reads it; start its reader before the step",
                ))
            }
        }
    } else {
        None
    };
    // A reader is there, so this open returns at once; the non-blocking probe is closed only
    // after it, so the reader never sees the end of the file early. Opened blocking, the
    // write waits for a slow reader instead of failing with EAGAIN.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(fail)?;
    drop(probe);
    f.write_all(contents.as_bytes()).map_err(fail)
}

/// Writes `contents` so that a reader sees the old file or the new one, never half of one: a
/// temporary file beside the target, fsync, rename. The temporary file is removed on failure.
fn replace(variable: &str, path: &Path, contents: &str) -> Result<()> {
    let dir = dir_of(path);
    fs::create_dir_all(&dir).map_err(|e| folder_error(variable, path, &dir, e))?;
    let prefix = temp_prefix(path);
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let name: String = std::iter::repeat_with(fastrand::alphanumeric).take(RANDOM).collect();
        let tmp = dir.join(format!("{prefix}{name}"));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        // The summaries are read by later steps, often as another user (a Docker action runs
        // as root): a new file gets the mode any new file gets (0666 less the umask), a
        // replaced one keeps its own (below).
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o666);
        }
        match options.open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 10 => attempt += 1,
            Err(e) => return Err(io_error(variable, path, "cannot be written", e)),
        }
    };
    let written = (|| {
        if let Ok(existing) = fs::metadata(path) {
            file.set_permissions(existing.permissions())?;
        }
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        // Root gets EPERM only from a file flag; say which, since `ls -l` does not show it.
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::EPERM) && fs::symlink_metadata(path).is_ok() {
            return io_error(
                variable,
                path,
                "cannot be replaced",
                format!("{e}: the file may be immutable or append-only (see lsattr)"),
            );
        }
        io_error(variable, path, "cannot be written", e)
    })
}

/// Appends in one write (GitHub's `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`); a device or a
/// FIFO is written through.
pub fn append(variable: &str, path: &Path, contents: &str) -> Result<()> {
    if target(variable, path)? != Target::Replaced {
        return through(variable, path, contents);
    }
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
    fn only_stale_temp_files_are_cleaned_and_folders_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let stale = dir.path().join(".out.json.tmp-abc123");
        let in_flight = dir.path().join(".out.json.tmp-def456");
        fs::write(&stale, "half").unwrap();
        fs::write(&in_flight, "half").unwrap();
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        preflight("SUMMARY_FILE", &path, false).unwrap();
        assert!(!stale.exists());
        assert!(in_flight.exists(), "another run's temporary file is left alone");
        let err = preflight("SUMMARY_FILE", dir.path(), false).unwrap_err();
        assert!(err.to_string().contains("SUMMARY_FILE"));
    }

    #[test]
    fn temporary_names_fit_in_255_bytes() {
        for len in [1, 200, 243, 244, 250, 255] {
            let name = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let prefix = temp_prefix(Path::new(&name));
            assert!(prefix.len() + RANDOM <= NAME_MAX, "{len}: {}", prefix.len());
            assert!(prefix.starts_with('.') && prefix.ends_with(TEMP_MARK));
        }
        assert_eq!(temp_prefix(Path::new("/x/out.json")), ".out.json.tmp-");
    }
}
