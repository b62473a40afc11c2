//! pr-status: find every pull request that contains the commit being built, decide the gate,
//! write the summaries, and return the exit code the pipeline acts on.
//!
//! The step in layers, outermost first (docs/architecture.md):
//! - `run_step`: the whole step, ended early by SIGTERM, SIGINT or SIGHUP;
//! - `complete_step`: turns any failure into the summary's error, writes and reports it
//!   (`write_and_report`), and returns its `ExitCode`;
//! - `configure_and_look_up`: checks the output paths, reads the configuration, builds the
//!   provider (`provider::registry`);
//! - `look_up_and_decide`: looks up, decides the gate, polls while builds run, posts the verdict.

pub mod ci;
pub mod config;
pub mod credentials;
pub mod env;
pub mod error;
pub mod exit;
pub mod gate;
pub mod http;
pub mod interrupt;
pub mod model;
pub mod post;
pub mod provider;
pub mod proxy;
pub mod say;
pub mod summary;
pub mod text;
pub mod wait;
pub mod write;

pub use provider::demo;
/// `say::debug_line`, where the HTTP client calls it.
pub(crate) use say::debug_line;

use config::{Config, Outputs, Vars};
use credentials::Redactor;
use error::{Error, Result};
use exit::ExitCode;
use provider::{registry, DynProvider};
use say::say;
use summary::Summary;

/// Runs the step with the given environment and returns the exit code. Never panics on bad
/// input: every failure becomes one line on stderr, a summary with `outcome: error`, and the
/// documented code. SIGTERM, SIGINT and SIGHUP end it with `outcome: error`, `error.kind:
/// interrupted`, and 128 + the signal's number (`interrupt`).
pub async fn run_step(vars: Vars, demo: bool) -> ExitCode {
    // Before anything else, so that no moment of the run ends by a signal's default action
    // (or, as PID 1 of a container, ignores it).
    let mut signals = interrupt::Signals::install();
    let outputs = Outputs::from_vars(&vars);
    // For the CIs' own output conventions (`provider::Entry::ci_output`), on every path.
    let ci_vars = vars.clone();
    // The step first: a verdict already reached is kept. Summaries are written by plain
    // (blocking) code with no await inside, so a signal never cuts a write in half.
    tokio::select! {
        biased;
        code = complete_step(vars, demo, &outputs, &ci_vars) => code,
        signal = signals.recv() => {
            let e = signal.error();
            let mut summary = Summary::new();
            summary.set_error(&e, e.to_string());
            write_and_report(summary, &outputs, &Redactor::default(), &[], &ci_vars)
        }
    }
}

/// The whole step to its summary: configuration, lookup, gate; a failure of any of them
/// becomes the summary's error. Then the summaries are written and the code returned.
async fn complete_step(vars: Vars, demo: bool, outputs: &Outputs, ci_vars: &Vars) -> ExitCode {
    let mut summary = Summary::new();
    let mut redactor = Redactor::default();
    let mut unwritable: Vec<&'static str> = Vec::new();
    if let Err(e) = configure_and_look_up(vars, demo, outputs, &mut summary, &mut redactor, &mut unwritable).await {
        let message = error_message(&e, &redactor);
        summary.set_error(&e, message);
    }
    // A FIFO gets its summary once it has a reader, as with `>`; waiting here, not in the
    // blocking write, keeps the run responsive to signals.
    let mut readers = Vec::new();
    for (variable, path) in outputs.named() {
        if !unwritable.contains(&variable) {
            readers.extend(write::wait_for_reader(variable, path).await);
        }
    }
    let code = write_and_report(summary, outputs, &redactor, &unwritable, ci_vars);
    drop(readers);
    code
}

/// Writes the summaries, reports on stdout (the verdict) or stderr (the error), and returns
/// the exit code.
fn write_and_report(
    mut summary: Summary,
    outputs: &Outputs,
    redactor: &Redactor,
    unwritable: &[&str],
    ci_vars: &Vars,
) -> ExitCode {
    summary.redact(redactor);
    if let Err(e) = write_outputs(&summary, outputs, redactor, unwritable) {
        // Only reachable when a file that passed the pre-flight check fails at the end (or a
        // FIFO lost its reader). An interrupted run keeps its own code and says both.
        let message = error_message(&e, redactor);
        match &summary.error {
            Some(err) if err.kind == error::ErrorKind::Interrupted => {
                say(std::io::stderr(), &format!("pr-status: error: {message}\n"));
            }
            _ => summary.set_error(&e, message),
        }
    }
    match &summary.error {
        None => say(std::io::stdout(), &redactor.redact(&summary::text::render(&summary))),
        // One line per problem (several configuration problems are named in one run).
        Some(err) => {
            let lines: String = err
                .message
                .lines()
                .map(|l| format!("pr-status: error: {l}\n"))
                .collect();
            say(std::io::stderr(), &lines)
        }
    }
    // What the running CI reads from stdout (GitHub Actions' annotations, for example).
    let ci_output = registry::ci_output(&summary, outputs, ci_vars);
    if !ci_output.is_empty() {
        say(std::io::stdout(), &redactor.redact(&ci_output));
    }
    summary.exit_code
}

/// Longest error message kept, in characters: room for any sentence the step writes with the
/// server's reason, while a value echoed back (a 100 kB variable, an 8 MB string where a
/// number belongs) cannot flood the log, the summary or an annotation.
const MAX_MESSAGE: usize = 1000;

/// The message of a failure: its lines (`Error::lines`: no line break or bidirectional control
/// inside any of them) redacted and clipped one by one, joined by `\n`.
fn error_message(e: &Error, redactor: &Redactor) -> String {
    let lines: Vec<String> = e.lines().iter().map(|l| clip(&redactor.redact(l))).collect();
    lines.join("\n")
}

/// Shortens an over-long message in the middle: its start names what failed (the variable,
/// the request) and its end says what to do, while the middle is the echoed value.
fn clip(message: &str) -> String {
    let count = message.chars().count();
    if count <= MAX_MESSAGE {
        return message.to_string();
    }
    let head: String = message.chars().take(MAX_MESSAGE * 6 / 10).collect();
    let tail: String = message.chars().skip(count - MAX_MESSAGE * 4 / 10 + 1).collect();
    format!("{head}…{tail}")
}

/// Checks the output paths (placeholders written), reads the configuration, builds the
/// provider, and looks up (`look_up_and_decide`). Nothing is sent before all of it is valid.
async fn configure_and_look_up(
    vars: Vars,
    demo: bool,
    outputs: &Outputs,
    summary: &mut Summary,
    redactor: &mut Redactor,
    unwritable: &mut Vec<&'static str>,
) -> Result<()> {
    // Output paths first: a bad one is reported even when the rest of the configuration is
    // also wrong, and the JSON summary still lands whenever its own path is fine.
    // Each file written atomically gets the "no verdict yet" placeholder now, for real: a file
    // that cannot be replaced is found while nothing has been sent, and an earlier run's
    // verdict cannot outlive a run killed mid-lookup.
    let held = Summary::placeholder();
    let mut bad_paths: Vec<Error> = Vec::new();
    for (variable, path) in outputs.named() {
        let append = variable.starts_with("GITHUB_");
        let placeholder = match variable {
            "SUMMARY_FILE" => Some(summary::json::render(&held)),
            "SUMMARY_MARKDOWN_FILE" => Some(summary::markdown::render(&held)),
            "SUMMARY_DOTENV_FILE" => Some(summary::dotenv::render(&held)),
            _ => None,
        };
        let checked = write::preflight(variable, path, append).and_then(|()| match &placeholder {
            Some(text) => write::placeholder(variable, path, text),
            None => Ok(()),
        });
        if let Err(e) = checked {
            unwritable.push(variable);
            bad_paths.push(e);
        }
    }
    if !bad_paths.is_empty() {
        return Err(with_other_problems(bad_paths, vars, demo));
    }
    let (cfg, forge) = registry::choose(vars, demo)?;
    summary.require = cfg.gate.require.clone();
    summary.min_approvals = cfg.gate.min_approvals.unwrap_or(0);
    if cfg.gate.min_approvals.is_none() {
        summary.min_approvals_source = gate::Source::Rules;
    }
    summary.destination_branch = cfg.gate.destination_branch.clone();
    summary.required_builds = cfg.gate.required_builds.clone();
    look_up_and_decide((forge.open)(&cfg)?, &cfg, summary, redactor).await
}

/// The output-path errors, and every other configuration problem of the same run, in one
/// error (one line each): nothing is sent either way, and one run names everything to fix.
/// A single bad path with nothing else wrong stays the `io` error it is.
fn with_other_problems(mut paths: Vec<Error>, vars: Vars, demo: bool) -> Error {
    let others = match registry::configure(vars, demo) {
        Err(e) => Some(e),
        Ok(cfg) => registry::problems(&cfg),
    };
    if paths.len() == 1 && others.is_none() {
        return paths.remove(0);
    }
    let lines = paths.iter().chain(others.iter()).flat_map(Error::lines);
    Error::configs(lines)
}

/// Looks up, decides, and keeps polling while the gate is pending on running builds and
/// `WAIT_FOR_BUILDS` allows (`wait`), then posts the verdict when asked.
async fn look_up_and_decide(
    mut p: Box<dyn DynProvider>,
    cfg: &Config,
    summary: &mut Summary,
    redactor: &mut Redactor,
) -> Result<()> {
    summary.provider = Some(p.kind().as_str());
    summary.repository = Some(p.repository());
    summary.commit = p.commit();
    gate::refuse_unanswerable(&cfg.gate.require, &p.capabilities(), p.kind().as_str())?;
    let gate = &cfg.gate;
    let debug = |text: String| {
        if cfg.http.debug {
            debug_line(&text::visible(&text));
        }
    };
    debug(format!(
        "provider {}, repository {}",
        p.kind().as_str(),
        p.repository().full_name
    ));
    wait::look_up_and_wait(&mut p, cfg, gate, summary, redactor, &debug).await?;
    // POST_RESULT: the decided verdict, posted once; a failure is a warning, never the verdict.
    if let Some(verdict) = post::prepare(cfg, summary, redactor) {
        let posted = p.post_result(&verdict).await;
        post::report(posted, &verdict, p.kind().as_str(), cfg, redactor);
    }
    Ok(())
}

/// Writes every configured summary. The JSON first, since it is the one always expected.
fn write_outputs(s: &Summary, o: &Outputs, redactor: &Redactor, unwritable: &[&str]) -> Result<()> {
    let ok = |variable: &str| !unwritable.contains(&variable);
    let json = redactor.redact(&summary::json::render(s));
    let mut first_error = None;
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            first_error.get_or_insert(e);
        }
    };
    if ok("SUMMARY_FILE") {
        keep(write::atomic("SUMMARY_FILE", &o.json, &json));
    }
    let markdown = redactor.redact(&summary::markdown::render(s));
    if let (Some(p), true) = (&o.markdown, ok("SUMMARY_MARKDOWN_FILE")) {
        keep(write::atomic("SUMMARY_MARKDOWN_FILE", p, &markdown));
    }
    if let (Some(p), true) = (&o.dotenv, ok("SUMMARY_DOTENV_FILE")) {
        keep(write::atomic(
            "SUMMARY_DOTENV_FILE",
            p,
            &redactor.redact(&summary::dotenv::render(s)),
        ));
    }
    if let (Some(p), true) = (&o.github_output, ok("GITHUB_OUTPUT")) {
        keep(write::append(
            "GITHUB_OUTPUT",
            p,
            &redactor.redact(&summary::github::render_outputs(s, &json)),
        ));
    }
    if let (Some(p), true) = (&o.github_step_summary, ok("GITHUB_STEP_SUMMARY")) {
        keep(write::append("GITHUB_STEP_SUMMARY", p, &markdown));
    }
    if let Some(p) = &o.pipelines_variables {
        // Only a convenience for later steps, and a pipe may not see the file: warn, keep the code.
        if let Err(e) = summary::pipelines::append(p, &redactor.redact(&summary::pipelines::render(s))) {
            eprintln!("pr-status: warning: {}", redactor.redact(&e.to_string()));
        }
    }
    first_error.map_or(Ok(()), Err)
}
