//! The harness and shared strategies of the property tests (tests/properties_*.rs): a runner
//! that counts and times its cases, the documented-error checks, generators of JSON, and the
//! oracle helpers that read documented values from tables.
//!
//! Case counts: `PROPTEST_CASES` when set (the long run: see docs/faults.md), else each
//! property's modest default so that `cargo test` stays fast. Every property prints how many
//! cases it ran and how long they took (`cargo test --test properties_cloud -- --nocapture`).

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::Value;

use pr_status::error::{Error, ErrorKind};
use pr_status::model::{PullRequest, ReviewState, Reviewer};

/// `GITHUB_SHA` for the event parsers, and the commit of generated answers.
pub const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// The value a vendor documents for `value` in `table` (exact match), else `otherwise`: the
/// oracles are tables of the documented values, never a copy of the production mapping.
pub fn documented<T: Copy>(table: &[(&str, T)], value: Option<&str>, otherwise: T) -> T {
    value
        .and_then(|v| table.iter().find(|(k, _)| *k == v))
        .map_or(otherwise, |(_, t)| *t)
}

/// `documented`, for the forges whose values pr-status reads in any case (Bitbucket's).
pub fn documented_any_case<T: Copy>(table: &[(&str, T)], value: Option<&str>, otherwise: T) -> T {
    value
        .and_then(|v| table.iter().find(|(k, _)| k.eq_ignore_ascii_case(v)))
        .map_or(otherwise, |(_, t)| *t)
}

// ---- The harness: a runner that counts and times its cases ----

pub fn config(default_cases: u32) -> ProptestConfig {
    // `ProptestConfig::default()` reads PROPTEST_CASES; only the default is ours.
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c.failure_persistence = None;
    c.max_global_rejects = c.cases.saturating_mul(4).max(1024);
    c
}

pub fn check<S>(name: &str, default_cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: Debug,
{
    let mut runner = TestRunner::new(config(default_cases));
    let count = AtomicU64::new(0);
    let started = Instant::now();
    let result = runner.run(&strategy, |v| {
        count.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    eprintln!(
        "property {name}: {} cases in {:.2?}",
        count.load(Ordering::Relaxed),
        started.elapsed()
    );
    if let Err(e) = result {
        panic!("property {name} failed: {e}");
    }
}

/// A failed parse must be the documented malformed-answer error, nothing else.
pub fn is_api_error(e: &Error) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.kind(), ErrorKind::Api, "{}", e);
    prop_assert_eq!(e.exit_code(), 4);
    prop_assert!(!e.to_string().is_empty());
    Ok(())
}

/// A refused event payload is a configuration error naming where it came from.
pub fn is_event_error(e: &Error) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.kind(), ErrorKind::Config, "{}", e);
    prop_assert_eq!(e.exit_code(), 2);
    prop_assert!(e.to_string().contains("GITHUB_EVENT_PATH"), "{}", e);
    Ok(())
}

// ---- Strategies ----

/// Field names the parsers know, mixed with arbitrary ones, so generated objects often hit
/// the fields that matter.
pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "values", "next", "id", "title", "state", "draft", "links", "html", "href", "author",
            "display_name", "nickname", "uuid", "account_id", "source", "destination", "branch", "name",
            "commit", "hash", "created_on", "updated_on", "participants", "user", "role", "approved",
            "task_count", "comment_count", "key", "url", "error", "message", "detail", "errors",
            "access_token", "pagelen", "size", "page",
        ])
        .prop_map(String::from),
        1 => ".{0,12}",
    ]
}

pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        ".{0,24}".prop_map(Value::String),
        prop::sample::select(vec![
            "OPEN",
            "open",
            "MERGED",
            "DECLINED",
            "SUPERSEDED",
            "SUCCESSFUL",
            "FAILED",
            "INPROGRESS",
            "STOPPED",
            "approved",
            "changes_requested",
            "REVIEWER",
            "",
        ])
        .prop_map(|s| Value::String(s.into())),
    ]
}

/// Arbitrary JSON documents, up to 6 levels deep.
pub fn arb_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value of the right shape (`good`) most of the time, anything at all otherwise; the bool
/// says which.
pub fn sometimes_wrong(good: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<(Value, bool)> {
    prop_oneof![4 => good.prop_map(|v| (v, true)), 1 => arb_json().prop_map(|v| (v, false))].boxed()
}

pub fn opt_string() -> impl Strategy<Value = Option<String>> {
    prop::option::of(".{0,40}")
}

pub fn any_case(word: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), word.len()).prop_map(move |upper| {
        word.chars()
            .zip(upper)
            .map(|(c, u)| {
                if u {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

// ---- Shared oracle helpers ----

pub fn ok<T>(r: Result<T, Error>) -> Result<T, TestCaseError> {
    r.map_err(|e| TestCaseError::fail(e.to_string()))
}

pub fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(String::from)
}

pub fn hex40() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{40}"
}

pub fn same_reviews(pr: &PullRequest, want: &[Reviewer]) -> Result<(), TestCaseError> {
    prop_assert_eq!(&pr.reviewers, &want.to_vec());
    let count = |s| want.iter().filter(|r| r.state == s).count() as u32;
    prop_assert_eq!(pr.approvals, count(ReviewState::Approved));
    prop_assert_eq!(pr.changes_requested, count(ReviewState::ChangesRequested));
    Ok(())
}

pub fn reviewer(name: impl Into<String>, state: ReviewState) -> Reviewer {
    Reviewer::new(name, state)
}
