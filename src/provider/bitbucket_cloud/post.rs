//! `POST_RESULT`: the verdict as the Code Insights report `pr-status` (docs/post-result.md).
//! Never a build status: a FAILED one would fail the "passing builds" merge check it judges.

use reqwest::Method;
use serde_json::json;

use super::BitbucketCloud;
use crate::error::Result;
use crate::model::Outcome;
use crate::post::{self, Post, Verdict};

/// What writing a report needs, for a refusal. Bitbucket's API description lists the read
/// scope for this call; a token refused with it is offered the write scope to try.
const POST_NEEDS: &str = "a token that may write Code Insights reports: Bitbucket's API description lists the scope \
                          `repository` (API tokens: `read:repository:bitbucket`) for PUT .../commit/{commit}/reports/{reportId}; \
                          if the token has it, give it `repository:write` (API tokens: `write:repository:bitbucket`)";

impl Post for BitbucketCloud {
    /// `PUT /2.0/repositories/{workspace}/{slug}/commit/{sha}/reports/pr-status`: result
    /// PASSED, FAILED or PENDING, the gate's message as details, the data rows, the CI run.
    async fn post(&self, v: &Verdict) -> Result<()> {
        let result = match v.outcome {
            Outcome::Pass => "PASSED",
            Outcome::Fail => "FAILED",
            _ => "PENDING",
        };
        let mut body = json!({
            "title": post::TITLE,
            "details": post::clip(&v.message, post::MAX_DETAILS),
            "report_type": "TEST",
            "reporter": post::TITLE,
            "result": result,
            "data": v.data_rows("text"),
        });
        if let Some(link) = &v.link {
            body["link"] = json!(link);
        }
        let url = self.repo_url(&["commit", &v.commit, "reports", post::NAME]);
        self.http
            .send(Method::PUT, url, Some(("application/json", body.to_string())), None)
            .await
            .map_err(|e| post::refused(e, POST_NEEDS))?;
        Ok(())
    }
}
