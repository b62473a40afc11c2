//! The exit codes pr-status returns: the contract a pipeline acts on (docs/contract.md, "Exit codes",
//! README). Every code the step returns, writes into a summary (`exit_code`,
//! `PR_STATUS_EXIT_CODE`) or prints comes from here; nothing else spells a number.

use std::fmt;

/// One documented exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: the lookup is done and the gate passes (or `REQUIRE` is empty).
    Pass,
    /// 1: the lookup is done and the gate is closed.
    Fail,
    /// 2: a configuration or usage error (a variable, an output path, the command line);
    /// nothing was sent.
    Config,
    /// 3: the forge refused the credentials or their permissions (401, 403).
    Auth,
    /// 4: an API or network failure after retries: 5xx, timeouts, malformed answers, not
    /// found. Also the "no verdict yet" placeholder's code: stop, and run the step again.
    Api,
    /// 8: pending: builds still running, or the commit still being indexed, when the wait ran
    /// out.
    Pending,
    /// 128 + the signal's number (129 SIGHUP, 130 SIGINT, 143 SIGTERM): the run was
    /// interrupted before its verdict, as a shell reports a process killed by that signal.
    Interrupted { signal: u8 },
}

impl ExitCode {
    /// The process exit status.
    pub const fn code(self) -> u8 {
        match self {
            ExitCode::Pass => 0,
            ExitCode::Fail => 1,
            ExitCode::Config => 2,
            ExitCode::Auth => 3,
            ExitCode::Api => 4,
            ExitCode::Pending => 8,
            ExitCode::Interrupted { signal } => 128u8.saturating_add(signal),
        }
    }
}

/// The number, as the summaries write it.
impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// A number in the JSON summary (`exit_code`).
impl serde::Serialize for ExitCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// Compares with the bare number (tests, callers that hold a status).
impl PartialEq<u8> for ExitCode {
    fn eq(&self, other: &u8) -> bool {
        self.code() == *other
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_spec_s() {
        let all = [
            (ExitCode::Pass, 0),
            (ExitCode::Fail, 1),
            (ExitCode::Config, 2),
            (ExitCode::Auth, 3),
            (ExitCode::Api, 4),
            (ExitCode::Pending, 8),
            (ExitCode::Interrupted { signal: 1 }, 129),
            (ExitCode::Interrupted { signal: 2 }, 130),
            (ExitCode::Interrupted { signal: 15 }, 143),
        ];
        for (code, number) in all {
            assert_eq!(code.code(), number);
            assert_eq!(code.to_string(), number.to_string());
            assert_eq!(serde_json::to_string(&code).unwrap(), number.to_string());
        }
    }
}
