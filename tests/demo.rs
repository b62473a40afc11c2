//! `pr-status demo` end to end: the real binary, the real files, the schema.

mod common;

use common::*;

#[test]
fn demo_reports_and_gates_without_network() {
    let r = step().arg("demo").run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(s["provider"], "demo");
    assert_eq!(s["outcome"], "pass");
    assert_eq!(s["pull_requests"].as_array().unwrap().len(), 3);
    assert!(r.stdout.contains("#42"));

    let r = step()
        .arg("--demo")
        .env("REQUIRE", "open,not-draft,approved")
        .env("DESTINATION_BRANCH", "release/1.x")
        .run();
    assert_eq!(r.code, 1);
    assert_eq!(r.summary()["outcome"], "fail");
    assert_eq!(
        r.summary()["pull_requests"][0]["unmet"],
        serde_json::json!(["not-draft", "approved"])
    );
}

#[test]
fn shipped_schema_matches_shared_spec() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/pr-status.schema.json");
    if let Ok(text) = std::fs::read_to_string(shared) {
        let shared: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            shared,
            schema(),
            "spec/pr-status.schema.json drifted from ../shared/spec"
        );
    }
}

#[test]
fn schema_check_rejects_a_broken_summary() {
    let r = step().arg("demo").run();
    let mut broken = r.summary().clone();
    broken["outcome"] = "maybe".into();
    broken["pull_requests"][0]["state"] = "CLOSED".into();
    let outcome = std::panic::catch_unwind(|| assert_valid(&broken));
    assert!(outcome.is_err(), "the schema check must be able to fail");
}

#[test]
fn help_version_and_usage_errors() {
    let r = step().arg("--help").run();
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Exit codes") && r.stdout.contains("REQUIRE") && r.stdout.contains("demo"),
        "{}",
        r.stdout
    );
    assert!(r.summary.is_none(), "--help runs nothing");
    let r = step().arg("--version").run();
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, concat!("pr-status ", env!("CARGO_PKG_VERSION")))
    );
    let r = step().arg("--frobnicate").run();
    assert_eq!(r.code, 2, "a usage error is exit 2");
    assert!(r.stderr.contains("--frobnicate"), "{}", r.stderr);
}
