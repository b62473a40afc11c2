//! `POST_RESULT`: the verdict as the Code Insights report `pr-status` (docs/post-result.md).
//! Never a build status: a FAILED one would fail the "passing builds" merge check it judges.

use reqwest::Method;
use serde_json::json;

use super::BitbucketDatacenter;
use crate::error::Result;
use crate::model::Outcome;
use crate::post::{self, Post, Verdict};

/// What writing a report needs, for a refusal. The 9.2 API description names no permission
/// for this call.
const POST_NEEDS: &str = "a token that may create Code Insights reports in this repository: the Data Center API \
                          description names no permission for this call, and only the user who created a report may \
                          replace it; if Repository read is not enough, give the token Repository write";

impl Post for BitbucketDatacenter {
    /// `PUT /rest/insights/latest/projects/{key}/repos/{slug}/commits/{sha}/reports/pr-status`:
    /// result PASS or FAIL; a pending gate has neither, so the report carries no result and
    /// its details say so.
    async fn post(&self, v: &Verdict) -> Result<()> {
        let (result, details) = match v.outcome {
            Outcome::Pass => (Some("PASS"), v.message.clone()),
            Outcome::Fail => (Some("FAIL"), v.message.clone()),
            _ => (
                None,
                format!(
                    "Pending, so no result: Data Center reports are PASS or FAIL only. {}",
                    v.message
                ),
            ),
        };
        let mut body = json!({
            "title": post::TITLE,
            "details": post::clip(&details, post::MAX_DETAILS),
            "reporter": post::TITLE,
            "data": v.data_rows("linktext"),
        });
        if let Some(r) = result {
            body["result"] = json!(r);
        }
        if let Some(link) = &v.link {
            body["link"] = json!(link);
        }
        let url = self.http.url(&[
            "rest",
            "insights",
            "latest",
            "projects",
            &self.project,
            "repos",
            &self.slug,
            "commits",
            &v.commit,
            "reports",
            post::NAME,
        ]);
        self.http
            .send(Method::PUT, url, Some(("application/json", body.to_string())), None)
            .await
            .map_err(|e| post::refused(e, POST_NEEDS))?;
        Ok(())
    }
}
