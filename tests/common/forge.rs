//! Forge-shaped answers and variables the fault, hostile-input and secret suites share (each
//! forge's own suite has its richer fakes).

use super::server::{serve, RawServer, Reply, Request};

/// A realistic pull request of the commit under test (`common::COMMIT`).
pub fn cloud_pr(id: u64, title: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "title": title,
        "state": "OPEN",
        "draft": false,
        "links": {"html": {"href": format!("https://bitbucket.org/acme/widget/pull-requests/{id}")}},
        "author": {"display_name": "Ada Author", "uuid": "{a}"},
        "source": {"branch": {"name": "feature/x"}, "commit": {"hash": "0123456789ab"}},
        "destination": {"branch": {"name": "main"}},
        "created_on": "2026-01-01T10:00:00+00:00",
        "updated_on": "2026-01-02T10:00:00+00:00",
        "participants": [
            {"user": {"display_name": "Rita Reviewer", "uuid": "{r}"}, "role": "REVIEWER", "approved": true, "state": "approved"}
        ],
        "task_count": 0,
        "comment_count": 1
    })
}

/// A one-page commit-index answer holding one PR.
pub fn one_pr_page(title: &str) -> String {
    serde_json::json!({"pagelen": 50, "page": 1, "size": 1, "values": [cloud_pr(7, title)]}).to_string()
}

pub const EMPTY_PAGE: &str = r#"{"pagelen":100,"page":1,"size":0,"values":[]}"#;

/// A Cloud server for the commit lookup: the commit index answers from `index`, build
/// statuses are an empty page.
pub fn cloud_index(index: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> RawServer {
    serve(move |req, n| {
        if req.path().ends_with("/statuses") {
            Reply::json(200, EMPTY_PAGE)
        } else {
            index(req, n)
        }
    })
}

/// The commit-index path of the test repository.
pub fn index_path() -> String {
    format!("/2.0/repositories/acme/widget/commit/{}/pullrequests", super::COMMIT)
}

// ---- Bitbucket Data Center, GitHub and GitLab: variables and answers the fault and secret
// suites share (each forge's own suite has its richer fakes). ----

/// The forges other than Bitbucket Cloud, for suites that run the same faults against each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    Datacenter,
    Github,
    Gitlab,
}

/// The head of the pull request every forge's passing answer holds: the commit under test.
const HEAD: &str = super::COMMIT;

impl Forge {
    pub const ALL: [Forge; 3] = [Forge::Datacenter, Forge::Github, Forge::Gitlab];

    pub fn name(self) -> &'static str {
        match self {
            Forge::Datacenter => "Bitbucket Data Center",
            Forge::Github => "GitHub",
            Forge::Gitlab => "GitLab",
        }
    }

    /// The forge's variables for a commit lookup against a server at `url`, without credentials.
    pub fn vars(self, url: &str) -> Vec<(&'static str, String)> {
        let c = super::COMMIT.to_string();
        match self {
            Forge::Datacenter => vec![
                ("BITBUCKET_SERVER_URL", url.to_string()),
                ("BITBUCKET_PROJECT_KEY", "PROJ".into()),
                ("BITBUCKET_REPO_SLUG", "widget".into()),
                ("BITBUCKET_COMMIT", c),
            ],
            Forge::Github => vec![
                ("GITHUB_ACTIONS", "true".into()),
                ("GITHUB_API_URL", url.to_string()),
                ("GITHUB_REPOSITORY", "acme/widget".into()),
                ("GITHUB_SHA", c),
            ],
            Forge::Gitlab => vec![
                ("GITLAB_CI", "true".into()),
                ("CI_API_V4_URL", format!("{url}/api/v4")),
                ("CI_PROJECT_ID", "group/sub/widget".into()),
                ("CI_COMMIT_SHA", c),
            ],
        }
    }

    /// The forge's variables with its token (`common::TOKEN`).
    pub fn vars_with_token(self, url: &str) -> Vec<(&'static str, String)> {
        let mut v = self.vars(url);
        v.push((self.token_var(), super::TOKEN.into()));
        v
    }

    /// The variable of the forge's token.
    pub fn token_var(self) -> &'static str {
        match self {
            Forge::Datacenter => "BITBUCKET_ACCESS_TOKEN",
            Forge::Github => "GITHUB_TOKEN",
            Forge::Gitlab => "GITLAB_TOKEN",
        }
    }

    /// A variable that, set to `../x`, is a configuration error.
    pub fn path_var(self) -> &'static str {
        match self {
            Forge::Datacenter => "BITBUCKET_REPO_SLUG",
            Forge::Github => "GITHUB_REPOSITORY",
            Forge::Gitlab => "CI_PROJECT_ID",
        }
    }

    /// Every path a commit lookup reads when it finds PR 7 with head `common::COMMIT`, the
    /// first request first (the pull requests of the commit).
    pub fn endpoints(self) -> Vec<String> {
        let c = super::COMMIT;
        match self {
            Forge::Datacenter => vec![
                format!("/rest/api/latest/projects/PROJ/repos/widget/commits/{c}/pull-requests"),
                format!("/rest/build-status/latest/commits/{c}"),
            ],
            Forge::Github => vec![
                format!("/repos/acme/widget/commits/{c}/pulls"),
                "/repos/acme/widget/pulls/7/reviews".into(),
                format!("/repos/acme/widget/commits/{c}/check-runs"),
                format!("/repos/acme/widget/commits/{c}/status"),
            ],
            Forge::Gitlab => {
                let p = "/api/v4/projects/group%2Fsub%2Fwidget";
                vec![
                    format!("{p}/repository/commits/{c}/merge_requests"),
                    format!("{p}/merge_requests/7"),
                    format!("{p}/merge_requests/7/approvals"),
                    format!("{p}/merge_requests/7/reviewers"),
                    format!("{p}/repository/commits/{c}/statuses"),
                ]
            }
        }
    }

    /// The first request of a commit lookup.
    pub fn lookup_path(self) -> String {
        self.endpoints().remove(0)
    }

    /// Pull request 7 in the forge's shape, its head the commit under test, `text` in its
    /// title, author, branches, link and reviewer name (for echo tests; "Fix" for plain ones).
    pub fn pr(self, text: &str) -> serde_json::Value {
        use serde_json::json;
        match self {
            Forge::Datacenter => {
                let r = |branch: &str, head: &str| json!({"id": format!("refs/heads/{branch}"), "displayId": branch, "latestCommit": head});
                json!({
                    "id": 7, "version": 1, "title": text, "state": "OPEN", "open": true, "closed": false, "draft": false,
                    "createdDate": 1_793_606_400_123u64, "updatedDate": 1_793_692_800_456u64,
                    "fromRef": r(text, HEAD), "toRef": r(text, "fedcba9876543210fedcba9876543210fedcba98"),
                    "author": {"user": {"id": 1, "name": "ada", "slug": "ada", "displayName": text}, "role": "AUTHOR", "status": "UNAPPROVED"},
                    "reviewers": [{"user": {"id": 2, "name": "rita", "slug": "rita", "displayName": text}, "role": "REVIEWER", "approved": true, "status": "APPROVED"}],
                    "participants": [],
                    "properties": {"openTaskCount": 0, "commentCount": 1},
                    "links": {"self": [{"href": format!("https://bitbucket.example.com/projects/PROJ/repos/widget/pull-requests/7?{text}")}]}
                })
            }
            Forge::Github => json!({
                "number": 7, "title": text, "state": "open", "draft": false, "merged_at": null,
                "html_url": format!("https://github.com/acme/widget/pull/7?{text}"),
                "user": {"login": text, "id": 1},
                "head": {"ref": text, "sha": HEAD}, "base": {"ref": text, "sha": "fedcba9876543210fedcba9876543210fedcba98"},
                "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-02T10:00:00Z",
                "requested_reviewers": [{"login": text, "id": 3}], "requested_teams": [{"name": text}]
            }),
            Forge::Gitlab => json!({
                "id": 1007, "iid": 7, "project_id": 9, "title": text, "state": "opened", "draft": false,
                "web_url": format!("https://gitlab.example/group/sub/widget/-/merge_requests/7?{text}"),
                "author": {"id": 1, "name": text, "username": "ann"},
                "source_branch": text, "target_branch": text, "sha": HEAD,
                "created_at": "2026-11-01T10:00:00.000Z", "updated_at": "2026-11-02T10:00:00.000Z",
                "user_notes_count": 1, "reviewers": [{"id": 2, "name": text, "username": "rita"}],
                "head_pipeline": {"id": 501, "status": "success", "ref": text, "sha": HEAD,
                                  "web_url": format!("https://gitlab.example/group/sub/widget/-/pipelines/501?{text}")}
            }),
        }
    }

    /// The answer of `path` in a passing lookup whose texts are `text`: PR 7, approved, its
    /// builds green. Any other path is a 404 in the forge's error shape.
    pub fn answer(self, path: &str, text: &str) -> Reply {
        use serde_json::json;
        let e = self.endpoints();
        let reviewer = |name: &str| json!({"login": name, "id": 2});
        let body = match self {
            Forge::Datacenter if path == e[0] => {
                json!({"size": 1, "limit": 100, "start": 0, "isLastPage": true, "values": [self.pr(text)]})
            }
            Forge::Datacenter if path == e[1] => json!({"size": 1, "limit": 100, "start": 0, "isLastPage": true,
                "values": [{"key": text, "name": text, "state": "SUCCESSFUL", "url": format!("https://ci.example/{text}")}]}),
            Forge::Github if path == e[0] => json!([self.pr(text)]),
            Forge::Github if path == e[1] => json!([{"id": 1, "user": reviewer(text), "state": "APPROVED",
                "submitted_at": "2026-11-01T11:00:00Z", "body": text}]),
            Forge::Github if path == e[2] => json!({"total_count": 1, "check_runs": [{"id": 1, "name": text,
                "status": "completed", "conclusion": "success", "details_url": format!("https://ci.example/{text}")}]}),
            Forge::Github if path == e[3] => json!({"state": "success", "total_count": 1, "statuses": [
                {"context": text, "state": "success", "target_url": format!("https://ci.example/{text}")}]}),
            Forge::Gitlab if path == e[0] => json!([{"iid": 7, "title": text, "sha": HEAD, "source_branch": text}]),
            Forge::Gitlab if path == e[1] => self.pr(text),
            Forge::Gitlab if path == e[2] => {
                json!({"approved": true, "approved_by": [{"user": {"id": 2, "name": text, "username": "rita"}}]})
            }
            Forge::Gitlab if path == e[3] => {
                json!([{"user": {"id": 2, "name": text, "username": "rita"}, "state": "approved"}])
            }
            // An external service's status, filed under another pipeline than the head one.
            Forge::Gitlab if path == e[4] => json!([{"id": 90, "name": text, "status": "success", "pipeline_id": 499,
                "allow_failure": false, "target_url": format!("https://ci.example/{text}")}]),
            _ => return Reply::json(404, self.error_body(&format!("no such resource: {path}"))),
        };
        Reply::json(200, body.to_string())
    }

    /// An error answer in the forge's shape carrying `message`.
    pub fn error_body(self, message: &str) -> String {
        use serde_json::json;
        match self {
            Forge::Datacenter => json!({"errors": [{"context": null, "message": message,
                "exceptionName": "com.atlassian.bitbucket.AuthorisationException"}]}),
            Forge::Github => json!({"message": message, "documentation_url": "https://docs.github.com/rest"}),
            Forge::Gitlab => json!({"message": message}),
        }
        .to_string()
    }
}
