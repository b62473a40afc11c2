//! The signals that end a run early: SIGTERM (`docker stop`, a cancelled CI job), SIGINT
//! (Ctrl-C) and SIGHUP (the terminal or the SSH session went away).
//!
//! The handlers are installed before anything else happens, so they also work when the binary
//! is PID 1 of a container: the kernel drops any signal PID 1 has no handler for, and `docker
//! stop` would otherwise wait 10 s and kill the step. `run()` races the whole step against
//! [`Signals::recv`]; the first signal wins, and `run()` writes `outcome: error` summaries
//! naming it and returns 128 + its number.

use crate::error::Error;

/// One of the signals that interrupt a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Hangup,
    Interrupt,
    Terminate,
}

impl Signal {
    /// The signal's conventional name (`SIGTERM`).
    pub fn name(self) -> &'static str {
        match self {
            Signal::Hangup => "SIGHUP",
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The signal's number on Linux and every other Unix.
    pub fn number(self) -> u8 {
        match self {
            Signal::Hangup => 1,
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
        }
    }

    /// The error the run ends with: exit 128 + the signal's number, `error.kind: interrupted`.
    pub fn error(self) -> Error {
        Error::Interrupted {
            number: self.number(),
            message: format!(
                "interrupted by {} before a verdict was reached: the gate is not decided; run the step again",
                self.name()
            ),
        }
    }
}

/// The installed handlers. Must be created inside the Tokio runtime.
pub struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers. One that cannot be installed (the OS refused) is left out; the
    /// run then ends by that signal's default action, as it did without handlers.
    pub fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Signals {
                term: signal(SignalKind::terminate()).ok(),
                int: signal(SignalKind::interrupt()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Waits for the first of the signals; never returns if none comes.
    pub async fn recv(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = next(&mut self.term) => Signal::Terminate,
                _ = next(&mut self.int) => Signal::Interrupt,
                _ = next(&mut self.hup) => Signal::Hangup,
            }
        }
        #[cfg(not(unix))]
        std::future::pending().await
    }
}

/// The next delivery of one signal; never, when its handler is missing or the runtime is
/// shutting down.
#[cfg(unix)]
async fn next(stream: &mut Option<tokio::signal::unix::Signal>) {
    if let Some(s) = stream {
        if s.recv().await.is_some() {
            return;
        }
    }
    std::future::pending().await
}
