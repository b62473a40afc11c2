//! pr-status: find every pull request that contains the commit being built, decide the gate,
//! write the summaries, and return the exit code the pipeline acts on.
//!
//! `run()` is the whole step: configuration -> provider lookup -> gate -> summaries.

pub mod ci;
pub mod config;
pub mod credentials;
pub mod demo;
pub mod error;
pub mod gate;
pub mod http;
pub mod model;
pub mod post;
pub mod provider;
pub mod summary;
pub mod write;

use std::time::Instant;

use config::{Config, Outputs, ProviderKind, Vars};
use credentials::Redactor;
use error::{Error, Result};
use gate::{Gate, Outcome};
use provider::Provider;
use summary::Summary;

/// Runs the step with the given environment and returns the exit code. Never panics on bad
/// input: every failure becomes one line on stderr, a summary with `outcome: error`, and the
/// documented code.
pub async fn run(vars: Vars, demo: bool) -> u8 {
    let outputs = Outputs::from_vars(&vars);
    let github_actions = config::parse_bool("GITHUB_ACTIONS", vars.get("GITHUB_ACTIONS"), false).unwrap_or(false);
    let mut summary = Summary::new();
    let mut redactor = Redactor::default();
    let mut unwritable: Vec<&'static str> = Vec::new();
    if let Err(e) = execute(vars, demo, &outputs, &mut summary, &mut redactor, &mut unwritable).await {
        let message = clip(&redactor.redact(&e.to_string()));
        summary.set_error(&e, message);
    }
    summary.redact(&redactor);
    if let Err(e) = write_outputs(&summary, &outputs, &redactor, &unwritable) {
        // Only reachable when a file that passed the pre-flight check fails at the end.
        let message = clip(&redactor.redact(&e.to_string()));
        summary.set_error(&e, message);
    }
    match &summary.error {
        None => print!("{}", redactor.redact(&summary::text::render(&summary))),
        Some(err) => eprintln!("pr-status: error: {}", err.message),
    }
    if github_actions && summary.outcome != Outcome::Pass {
        let level = if summary.error.is_some() { "error" } else { "warning" };
        println!("{}", summary::github::annotation(level, "pr-status", &summary.message));
    }
    summary.exit_code
}

/// Longest error message kept, in characters: room for any sentence the step writes with the
/// server's reason, while a value echoed back (a 100 kB variable, an 8 MB string where a
/// number belongs) cannot flood the log, the summary or an annotation.
const MAX_MESSAGE: usize = 1000;

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

async fn execute(
    vars: Vars,
    demo: bool,
    outputs: &Outputs,
    summary: &mut Summary,
    redactor: &mut Redactor,
    unwritable: &mut Vec<&'static str>,
) -> Result<()> {
    // Output paths first: a bad one is reported even when the rest of the configuration is
    // also wrong, and the JSON summary still lands whenever its own path is fine.
    for (variable, path) in outputs.named() {
        let append = variable.starts_with("GITHUB_");
        if let Err(e) = write::preflight(variable, path, append) {
            unwritable.push(variable);
            return Err(e);
        }
    }
    let cfg = Config::from_vars(vars, demo)?;
    summary.require = cfg.require.clone();
    summary.min_approvals = cfg.min_approvals;
    summary.destination_branch = cfg.destination_branch.clone();
    summary.required_builds = cfg.required_builds.clone();
    match cfg.provider {
        ProviderKind::Demo => drive(demo::Demo, &cfg, summary, redactor).await,
        ProviderKind::BitbucketCloud => {
            drive(
                provider::bitbucket_cloud::BitbucketCloud::from_config(&cfg)?,
                &cfg,
                summary,
                redactor,
            )
            .await
        }
        ProviderKind::BitbucketDatacenter => {
            drive(
                provider::bitbucket_datacenter::BitbucketDatacenter::from_config(&cfg)?,
                &cfg,
                summary,
                redactor,
            )
            .await
        }
        ProviderKind::Github => drive(provider::github::Github::from_config(&cfg)?, &cfg, summary, redactor).await,
        ProviderKind::Gitlab => drive(provider::gitlab::Gitlab::from_config(&cfg)?, &cfg, summary, redactor).await,
    }
}

/// Looks up, decides, and keeps polling while the gate is pending on running builds and
/// `WAIT_FOR_BUILDS` allows.
async fn drive<P: Provider>(mut p: P, cfg: &Config, summary: &mut Summary, redactor: &mut Redactor) -> Result<()> {
    summary.provider = Some(p.kind().as_str());
    summary.repository = Some(p.repository());
    summary.commit = p.commit();
    let refused: Vec<&str> = cfg
        .require
        .iter()
        .filter(|c| p.unsupported().contains(c))
        .map(|c| c.as_str())
        .collect();
    if !refused.is_empty() {
        return Err(Error::config(format!(
            "REQUIRE has {} which {} cannot answer: remove it from REQUIRE",
            refused.join(", "),
            p.kind().as_str()
        )));
    }
    let gate = Gate {
        require: cfg.require.clone(),
        min_approvals: cfg.min_approvals,
        destination_branch: cfg.destination_branch.clone(),
        ignore_builds: cfg.ignore_builds.clone(),
        required_builds: cfg.required_builds.clone(),
        current_run: cfg.current_run.clone(),
    };
    let deadline = Instant::now() + cfg.wait_for_builds;
    let debug = |text: String| {
        if cfg.http.debug {
            eprintln!("pr-status: debug: {text}");
        }
    };
    debug(format!(
        "provider {}, repository {}",
        p.kind().as_str(),
        p.repository().full_name
    ));
    loop {
        let found = p.lookup().await;
        if let Some(h) = p.http() {
            // The OAuth exchange adds a secret during the lookup.
            *redactor = (*h.redactor).clone();
            debug(format!("{} HTTP request(s) so far", h.request_count()));
        }
        let found = found?;
        summary.lookup = Some(found.kind);
        let decision = gate.decide(found.pull_requests, summary.commit.as_deref());
        debug(format!("gate: {} ({})", decision.outcome.as_str(), decision.message));
        let now = Instant::now();
        if decision.outcome == Outcome::Pending && now < deadline {
            let pause = cfg.poll_interval.min(deadline - now);
            debug(format!(
                "waiting {} s for running builds (WAIT_FOR_BUILDS)",
                pause.as_secs_f32()
            ));
            tokio::time::sleep(pause).await;
            continue;
        }
        summary.set_decision(decision);
        break;
    }
    post::publish(&p, cfg, summary, redactor).await;
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
    first_error.map_or(Ok(()), Err)
}
