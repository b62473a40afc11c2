//! The `pr-status` command: parse the command line, run the step, turn its result into the
//! process exit code. Everything else lives in the library.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `--help`'s text after the options: the providers' lines come from the registry.
fn after_help() -> String {
    format!(
        "{}
Main variables: REQUIRE (open,approved,builds-passed,...), MIN_APPROVALS, DESTINATION_BRANCH,
IGNORE_BUILDS, WAIT_FOR_BUILDS, SUMMARY_FILE, SUMMARY_MARKDOWN_FILE, SUMMARY_DOTENV_FILE, DEBUG.

Exit codes: 0 gate passes, 1 gate closed, 2 configuration error, 3 authentication refused,
4 API or network failure, 8 pending (builds running or commit still being indexed),
128+signal when interrupted (129 SIGHUP, 130 SIGINT, 143 SIGTERM).",
        pr_status::provider::registry::help()
    )
}

/// Reports the pull-request status of the commit being built and gates the pipeline on it.
#[derive(Parser)]
#[command(name = "pr-status", version, about, after_help = after_help())]
struct Cli {
    /// Run against built-in sample data: no network, no credentials.
    #[arg(long)]
    demo: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole step against built-in sample data (same as --demo).
    Demo,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not errors; anything else is a usage error (exit 2).
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let demo = cli.demo || matches!(cli.command, Some(Command::Demo));
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "pr-status: error: cannot start the async runtime: {e}"
            );
            return ExitCode::from(4);
        }
    };
    let code = runtime.block_on(pr_status::run(pr_status::config::Vars::from_env(), demo));
    ExitCode::from(code)
}
