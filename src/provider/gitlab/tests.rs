//! Unit tests of GitLab's mappings and rules.

use super::api::*;
use super::project_id;
use super::rules::*;
use crate::model::BuildState;

#[test]
fn project_ids_and_paths() {
    assert_eq!(project_id("278964").unwrap(), "278964");
    assert_eq!(project_id("group/sub/my.project").unwrap(), "group/sub/my.project");
    for bad in [
        "",
        "group/../x",
        "/group/x",
        "group//x",
        "group/x/",
        "a b",
        "g/.hidden",
        "x?y",
    ] {
        assert!(project_id(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn pipeline_states_map_to_the_four() {
    assert_eq!(pipeline_state("success"), BuildState::Successful);
    assert_eq!(pipeline_state("skipped"), BuildState::Successful);
    assert_eq!(pipeline_state("failed"), BuildState::Failed);
    for s in [
        "created",
        "waiting_for_resource",
        "preparing",
        "pending",
        "running",
        "scheduled",
    ] {
        assert_eq!(pipeline_state(s), BuildState::Inprogress, "{s}");
    }
    for s in ["canceled", "canceling", "manual", "new_thing"] {
        assert_eq!(pipeline_state(s), BuildState::Stopped, "{s}");
    }
}

#[test]
fn allowed_failures_and_optional_manual_jobs_do_not_fail() {
    for s in ["failed", "canceled", "manual"] {
        assert_eq!(status_state(s, true), BuildState::Successful, "{s}");
    }
    assert_eq!(status_state("failed", false), BuildState::Failed);
    assert_eq!(status_state("manual", false), BuildState::Stopped);
    assert_eq!(status_state("canceled", false), BuildState::Stopped);
    assert_eq!(status_state("running", true), BuildState::Inprogress);
    assert_eq!(status_state("success", false), BuildState::Successful);
}

#[test]
fn merge_statuses_pass_wait_or_veto() {
    assert_eq!(verdict(Some("mergeable"), false), (Some(true), vec![], false));
    for s in COMPUTING {
        assert_eq!(verdict(Some(s), true), (None, vec![], true), "{s}");
    }
    assert_eq!(verdict(Some("ci_still_running"), false), (None, vec![], true));
    assert_eq!(verdict(Some("ci_still_running"), true), (Some(true), vec![], false));
    let (m, v, p) = verdict(Some("not_approved"), false);
    assert_eq!((m, p, v[0].rule.as_str()), (Some(false), false, "not_approved"));
    let (m, v, _) = verdict(Some("brand_new"), false);
    assert!(m == Some(false) && v[0].message.contains("does not know"), "{v:?}");
    let (m, v, p) = verdict(None, false);
    assert_eq!((m, p, v[0].rule.as_str()), (None, false, "detailed_merge_status"));
}

#[test]
fn approvals_are_placed_at_the_head_of_their_time() {
    let v = |head: &str, at: &str| ApiVersion {
        head_commit_sha: Some(head.into()),
        created_at: Some(at.into()),
    };
    let (a, b) = ("a".repeat(40), "b".repeat(40));
    let versions = [v(&b, "2026-11-02T10:00:00.000Z"), v(&a, "2026-11-02T09:00:00Z")];
    assert_eq!(approved_head("2026-11-02T09:59:59Z", &versions), Some(a.clone()));
    assert_eq!(
        approved_head("2026-11-02T11:00:00+01:00", &versions),
        Some(b.clone()),
        "offsets count"
    );
    assert_eq!(approved_head("2026-11-02T10:00:00Z", &versions), Some(b));
    assert_eq!(
        approved_head("2026-11-02T08:00:00Z", &versions),
        None,
        "before every version"
    );
    assert_eq!(approved_head("yesterday", &versions), None);
    assert_eq!(
        approved_head("2026-11-02T10:00:00Z", &[v("not-a-sha", "2026-11-02T09:00:00Z")]),
        None
    );
}

#[test]
fn approvals_still_missing_raise_the_threshold() {
    assert_eq!(threshold(2, Some(0), 2), 2);
    assert_eq!(threshold(2, None, 0), 2);
    assert_eq!(
        threshold(1, Some(1), 1),
        2,
        "an ineligible approval does not meet the rule"
    );
    assert_eq!(threshold(3, Some(1), 1), 3);
}

#[test]
fn other_pipelines_newest_of_each_name_head_and_unfiled_left_out() {
    let status = |id: u64, name: &str, pipeline: Option<u64>, state: &str| ApiStatus {
        id: Some(id),
        name: Some(name.into()),
        status: Some(state.into()),
        target_url: None,
        pipeline_id: pipeline,
        allow_failure: None,
    };
    let statuses = [
        status(9, "lint", Some(600), "success"),
        status(3, "lint", Some(590), "failed"),
        status(4, "test", Some(500), "failed"),
        status(5, "old-server", None, "failed"),
        status(6, "sonar", Some(600), "running"),
    ];
    let got: Vec<(String, BuildState, Option<String>)> = other_pipelines(&statuses, Some(500))
        .into_iter()
        .map(|b| (b.key, b.state, b.run))
        .collect();
    assert_eq!(
        got,
        [
            ("lint".to_string(), BuildState::Successful, Some("600".to_string())),
            ("sonar".to_string(), BuildState::Inprogress, Some("600".to_string())),
        ]
    );
    assert_eq!(
        other_pipelines(&statuses, None).len(),
        3,
        "no head pipeline: test counts"
    );
}
