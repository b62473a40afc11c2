//! Writing to stdout and stderr without panicking: a closed pipe (`| head -c 100`) or a full
//! disk must not turn the documented exit code into a panic (`print!` panics on EPIPE), and
//! the summary files hold the same report.

/// Prints, and ignores a failure.
pub fn say(mut to: impl std::io::Write, text: &str) {
    let _ = to.write_all(text.as_bytes()).and_then(|()| to.flush());
}

/// One `DEBUG` line on stderr.
pub fn debug_line(text: &str) {
    say(std::io::stderr(), &format!("pr-status: debug: {text}\n"));
}
