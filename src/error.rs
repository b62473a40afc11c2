//! The errors that decide the exit code. Everything inside may use `anyhow`; whatever reaches
//! `run()` is one of these, and each maps to one exit code and one `error.kind` in the summary.

use std::fmt;

use crate::exit::ExitCode;

/// A failure of the step, with the one sentence a user reads.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A variable is missing or invalid. `ExitCode::Config`; nothing was sent.
    #[error("{0}")]
    Config(String),
    /// An output path cannot be written. `ExitCode::Config`; names the variable.
    #[error("{0}")]
    Io(String),
    /// The server refused the credentials (401) or their permissions (403). `ExitCode::Auth`.
    #[error("{message}")]
    Auth { status: u16, message: String },
    /// The API answered with an error, nonsense, or not found, after retries. `ExitCode::Api`.
    #[error("{message}")]
    Api { status: Option<u16>, message: String },
    /// The API could not be reached, or timed out, after retries. `ExitCode::Api`.
    #[error("{0}")]
    Network(String),
    /// The commit index was still being built when the wait ran out. `ExitCode::Pending`.
    #[error("{0}")]
    Indexing(String),
    /// SIGTERM, SIGINT or SIGHUP ended the run before its verdict. `ExitCode::Interrupted`, 128 + `number`
    /// (143, 130, 129), as a shell reports a process killed by that signal.
    #[error("{message}")]
    Interrupted { number: u8, message: String },
}

/// The `error.kind` field of the JSON summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    Config,
    Auth,
    Api,
    Network,
    Io,
    Interrupted,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ErrorKind::Config => "config",
            ErrorKind::Auth => "auth",
            ErrorKind::Api => "api",
            ErrorKind::Network => "network",
            ErrorKind::Io => "io",
            ErrorKind::Interrupted => "interrupted",
        };
        f.write_str(s)
    }
}

impl Error {
    /// A configuration problem. The message is made one line (`crate::text::visible`): a value
    /// quoted in it cannot start a line on stderr, so `\n` stays free to separate problems.
    pub fn config(msg: impl Into<String>) -> Self {
        Error::Config(crate::text::visible(&msg.into()))
    }

    /// Several configuration problems found in one run, one line each, in the order given.
    pub fn configs(problems: impl IntoIterator<Item = String>) -> Self {
        let lines: Vec<String> = problems.into_iter().map(|p| crate::text::visible(&p)).collect();
        Error::Config(lines.join("\n"))
    }

    /// The message as the lines the user reads: one per configuration problem, one for any
    /// other error. No line holds a line break or a bidirectional control: a value quoted in a
    /// message (a path, a server's reason) cannot start a line, which CI runners would read
    /// as a command (`::error::…`), nor reorder the text around it.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Error::Config(m) => m.split('\n').map(crate::text::visible).collect(),
            other => vec![crate::text::visible(&other.to_string())],
        }
    }

    pub fn api(status: Option<u16>, msg: impl Into<String>) -> Self {
        Error::Api {
            status,
            message: msg.into(),
        }
    }

    /// A 404 (not found) with `why` after the server's words: what could not be read and what
    /// that means for the run (a bare 404 would read as "no such pull request"). Any other
    /// error is returned as it is.
    pub fn explain_404(self, why: impl FnOnce() -> String) -> Self {
        match self {
            Error::Api {
                status: Some(404),
                message,
            } => Error::api(Some(404), format!("{}: {}", message.trim_end_matches('.'), why())),
            other => other,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_) => ErrorKind::Config,
            Error::Io(_) => ErrorKind::Io,
            Error::Auth { .. } => ErrorKind::Auth,
            Error::Api { .. } | Error::Indexing(_) => ErrorKind::Api,
            Error::Network(_) => ErrorKind::Network,
            Error::Interrupted { .. } => ErrorKind::Interrupted,
        }
    }

    /// The documented exit code (`ExitCode`).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config(_) | Error::Io(_) => ExitCode::Config,
            Error::Auth { .. } => ExitCode::Auth,
            Error::Api { .. } | Error::Network(_) => ExitCode::Api,
            Error::Indexing(_) => ExitCode::Pending,
            Error::Interrupted { number, .. } => ExitCode::Interrupted { signal: *number },
        }
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Auth { status, .. } => Some(*status),
            Error::Api { status, .. } => *status,
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
