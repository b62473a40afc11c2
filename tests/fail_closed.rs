//! The gate fails closed (issue "the gate never fails open"): a missing list, a 404 on a build
//! list, a short page, a required build not reported yet, never pass. Every test runs the real
//! binary against a scripted server over real sockets, on every forge the rule concerns.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{cloud_pr, serve, Forge, Reply, Request};
use common::{step, Ran, COMMIT};
use serde_json::json;

/// Runs a commit lookup of `forge` against `server_url` with `REQUIRE=builds-passed` and more.
fn run_forge(forge: Forge, server_url: &str, extra: &[(&str, &str)]) -> Ran {
    let vars = forge.vars_with_token(server_url);
    let mut s = step().env("REQUIRE", "builds-passed");
    for (k, v) in &vars {
        s = s.env(k, v);
    }
    s.envs(extra.iter().copied()).run()
}

/// A server answering like `forge`'s passing lookup, except `path` which gets `reply`.
fn forge_except(forge: Forge, path: String, reply: Reply) -> common::RawServer {
    serve(move |req, _| {
        if req.path() == path {
            reply.clone()
        } else {
            forge.answer(req.path(), "Fix")
        }
    })
}

fn assert_error(r: &Ran, code: i32, needle: &str) {
    assert_eq!(r.code, code, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(r.summary()["outcome"], "error", "{}", r.summary());
    assert!(r.stderr.contains(needle), "expected {needle:?} in: {}", r.stderr);
}

/// The build-list endpoints of each forge (other than Cloud) in a commit lookup of PR 7.
fn build_endpoints(forge: Forge) -> Vec<String> {
    let e = forge.endpoints();
    match forge {
        Forge::Datacenter => vec![e[1].clone()],
        Forge::Github => vec![e[2].clone(), e[3].clone()],
        Forge::Gitlab => vec![e[4].clone()],
    }
}

#[test]
fn the_passing_lookup_passes_on_every_forge() {
    // The control: without the faults below, each fake passes the gate.
    for forge in Forge::ALL {
        let server = serve(move |req, _| forge.answer(req.path(), "Fix"));
        let r = run_forge(forge, &server.url, &[]);
        assert_eq!(r.code, 0, "{}: {}", forge.name(), r.stderr);
    }
}

#[test]
fn a_build_list_that_is_not_there_is_a_malformed_answer_on_every_forge() {
    for forge in Forge::ALL {
        for path in build_endpoints(forge) {
            // An object without its list, and one whose list is not an array.
            let bodies = match forge {
                Forge::Gitlab => vec!["{}".to_string(), r#"{"statuses":[]}"#.to_string()],
                Forge::Datacenter => vec!["{}".into(), r#"{"isLastPage":true,"values":{}}"#.into()],
                Forge::Github if path.ends_with("/status") => {
                    vec![
                        r#"{"state":"success","total_count":0}"#.into(),
                        r#"{"statuses":{}}"#.into(),
                    ]
                }
                Forge::Github => vec![r#"{"total_count":0}"#.into(), r#"{"check_runs":"none"}"#.into()],
            };
            for body in bodies {
                let server = forge_except(forge, path.clone(), Reply::json(200, body.clone()));
                let r = run_forge(forge, &server.url, &[]);
                assert_error(&r, 4, "malformed answer");
                assert!(!r.stdout.contains("meets"), "{}: {body} passed", forge.name());
            }
        }
    }
}

#[test]
fn a_page_of_pull_requests_without_its_list_is_a_malformed_answer() {
    // Data Center's `{}` used to read as "no pull requests" (exit 1).
    for forge in [Forge::Datacenter, Forge::Github, Forge::Gitlab] {
        let path = forge.lookup_path();
        let server = forge_except(forge, path, Reply::json(200, "{}"));
        let r = run_forge(forge, &server.url, &[("REQUIRE", "pr")]);
        assert_error(&r, 4, "malformed answer");
    }
    let server = serve(|req, _| {
        if req.path().ends_with("/pullrequests") {
            Reply::json(200, r#"{"pagelen":50}"#)
        } else {
            Reply::json(200, common::EMPTY_PAGE)
        }
    });
    let r = step().cloud(&server.url).env("REQUIRE", "pr").run();
    assert_error(&r, 4, "malformed answer");
}

#[test]
fn a_404_on_a_build_list_is_an_error_on_every_forge_never_a_pass() {
    for forge in Forge::ALL {
        for path in build_endpoints(forge) {
            let server = forge_except(forge, path.clone(), Reply::json(404, forge.error_body("Not Found")));
            let r = run_forge(forge, &server.url, &[]);
            assert_error(&r, 4, "404");
            assert_eq!(r.summary()["error"]["http_status"], 404);
        }
    }
    // Bitbucket Cloud: the commit's statuses 404 while the index lists a PR at that commit.
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            Reply::json(404, r#"{"type":"error","error":{"message":"Commit not found"}}"#)
        } else {
            Reply::json(200, common::one_pr_page("Fix"))
        }
    });
    let r = step().cloud(&server.url).env("REQUIRE", "builds-passed").run();
    assert_error(&r, 4, "never taken as \"no builds\"");
}

#[test]
fn a_build_list_read_early_that_no_pr_needs_does_not_matter() {
    // Cloud reads the commit's statuses alongside the index. When the only PR's head is
    // another commit, a failure of that early read is not the PR's problem.
    let other = "fedcba9876543210fedcba9876543210fedcba98";
    let server = serve(move |req, _| {
        let path = req.path().to_string();
        if path.ends_with(&format!("/commit/{COMMIT}/statuses")) {
            Reply::json(404, r#"{"type":"error","error":{"message":"Commit not found"}}"#)
        } else if path.ends_with(&format!("/commit/{other}/statuses")) {
            Reply::json(
                200,
                common::cloud_page(vec![json!({"key": "ci", "name": "ci", "state": "SUCCESSFUL"})], None),
            )
        } else {
            let mut pr = cloud_pr(7, "Fix");
            pr["source"]["commit"]["hash"] = json!(other);
            Reply::json(200, common::cloud_page(vec![pr], None))
        }
    });
    let r = step().cloud(&server.url).env("REQUIRE", "builds-passed").run();
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_pull_request_without_its_head_never_passes_builds_passed() {
    // The forge did not say which commit the PR is at: its builds are unknown.
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            Reply::json(200, common::EMPTY_PAGE)
        } else {
            let mut pr = cloud_pr(7, "Fix");
            pr["source"]["commit"] = json!(null);
            Reply::json(200, common::cloud_page(vec![pr], None))
        }
    });
    let r = step().cloud(&server.url).env("REQUIRE", "open,builds-passed").run();
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("builds are unknown"), "{}", r.stdout);
    let r = step().cloud(&server.url).env("REQUIRE", "open").run();
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn fewer_check_runs_than_announced_is_an_error() {
    // A proxy that strips `Link` made 250 check runs read as 100; the failing one was on page 3.
    let forge = Forge::Github;
    let runs = forge.endpoints()[2].clone();
    let page: Vec<_> = (0..100)
        .map(|i| json!({"id": i, "name": format!("job {i}"), "status": "completed", "conclusion": "success"}))
        .collect();
    let body = json!({"total_count": 250, "check_runs": page}).to_string();
    let server = forge_except(forge, runs, Reply::json(200, body));
    let r = run_forge(forge, &server.url, &[]);
    assert_error(&r, 4, "announced 250 items");
    assert!(r.stderr.contains("held only 100"), "{}", r.stderr);
}

#[test]
fn fewer_statuses_than_announced_is_an_error() {
    // GitHub's combined status counts too.
    let forge = Forge::Github;
    let status = forge.endpoints()[3].clone();
    let body = json!({"state": "success", "total_count": 3, "statuses": [{"context": "a", "state": "success"}]});
    let server = forge_except(forge, status, Reply::json(200, body.to_string()));
    assert_error(&run_forge(forge, &server.url, &[]), 4, "announced 3 items");

    // GitLab's x-total header.
    let forge = Forge::Gitlab;
    let statuses = forge.endpoints()[4].clone();
    let body = json!([{"id": 90, "name": "ext", "status": "success", "pipeline_id": 499, "allow_failure": false}]);
    let reply = Reply::json(200, body.to_string()).with_header("x-total", "3");
    let server = forge_except(forge, statuses, reply);
    assert_error(&run_forge(forge, &server.url, &[]), 4, "announced 3 items");
}

#[test]
fn fewer_cloud_items_than_the_announced_size_is_an_error() {
    // The index says 3 pull requests, sends one and no `next`.
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            Reply::json(200, common::EMPTY_PAGE)
        } else {
            Reply::json(
                200,
                json!({"size": 3, "pagelen": 50, "values": [cloud_pr(7, "Fix")]}).to_string(),
            )
        }
    });
    let r = step().cloud(&server.url).env("REQUIRE", "pr").run();
    assert_error(&r, 4, "announced 3 pull requests");
    // Build statuses: `size` 2, one sent.
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            let one = json!({"key": "ci", "name": "ci", "state": "SUCCESSFUL"});
            Reply::json(200, json!({"size": 2, "pagelen": 100, "values": [one]}).to_string())
        } else {
            Reply::json(200, common::one_pr_page("Fix"))
        }
    });
    let r = step().cloud(&server.url).env("REQUIRE", "builds-passed").run();
    assert_error(&r, 4, "announced 2 items");
}

#[test]
fn the_announced_total_asks_for_all_the_items_checks_passing_pages() {
    // The control: 150 check runs over two pages with total_count 150 pass.
    let forge = Forge::Github;
    let runs = forge.endpoints()[2].clone();
    let server = serve(move |req, _| {
        if req.path() != runs {
            return forge.answer(req.path(), "Fix");
        }
        let second = req.target.contains("page=2");
        let range = if second { 100..150 } else { 0..100 };
        let page: Vec<_> = range
            .map(|i| json!({"id": i, "name": format!("job {i}"), "status": "completed", "conclusion": "success"}))
            .collect();
        let reply = Reply::json(200, json!({"total_count": 150, "check_runs": page}).to_string());
        if second {
            reply
        } else {
            reply.with_header("link", &format!("<{}?per_page=100&page=2>; rel=\"next\"", runs))
        }
    });
    let r = run_forge(forge, &server.url, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"][0]["builds"].as_array().unwrap().len(), 151);
}

#[test]
fn a_pull_request_listed_on_two_pages_is_reported_once() {
    // GitHub: PR 7 on both pages of the commit's pulls (a list that moved while being paged).
    let forge = Forge::Github;
    let pulls = forge.lookup_path();
    let server = serve(move |req, _| {
        if req.path() != pulls {
            return forge.answer(req.path(), "Fix");
        }
        let page = json!([forge.pr("Fix")]).to_string();
        if req.target.contains("page=2") {
            Reply::json(200, page)
        } else {
            Reply::json(200, page).with_header("link", &format!("<{pulls}?per_page=100&page=2>; rel=\"next\""))
        }
    });
    let r = run_forge(forge, &server.url, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"].as_array().unwrap().len(), 1);
    assert_eq!(server.hits("/pulls/7/reviews"), 1, "the duplicate costs no request");

    // Bitbucket Cloud: the same PR on two index pages.
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            Reply::json(200, common::EMPTY_PAGE)
        } else if req.target.contains("page=2") {
            Reply::json(200, common::cloud_page(vec![cloud_pr(7, "Fix")], None))
        } else {
            let next = format!("{}?page=2", common::index_path());
            Reply::json(200, common::cloud_page(vec![cloud_pr(7, "Fix")], Some(next)))
        }
    });
    let r = step().cloud(&server.url).env("REQUIRE", "pr").run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"].as_array().unwrap().len(), 1);
}

#[test]
fn relative_pagination_links_resolve_against_the_answering_url() {
    // `<?page=2>` means the same list's page 2, not the API root's.
    let forge = Forge::Github;
    let pulls = forge.lookup_path();
    let server = serve(move |req, _| {
        if req.path().ends_with("/pulls/8/reviews") {
            return Reply::json(200, "[]");
        }
        if req.path() != pulls {
            return forge.answer(req.path(), "Fix");
        }
        if req.target.contains("page=2") {
            let mut pr = forge.pr("Fix");
            pr["number"] = json!(8);
            Reply::json(200, json!([pr]).to_string())
        } else {
            Reply::json(200, json!([forge.pr("Fix")]).to_string())
                .with_header("link", "<?per_page=100&page=2>; rel=\"next\"")
        }
    });
    let r = run_forge(forge, &server.url, &[("REQUIRE", "pr")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ids: Vec<_> = r.summary()["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [7, 8]);
}

/// A Cloud server whose only PR (7, at the commit) has the statuses `statuses(poll)` answers,
/// `poll` counting the status requests from 0.
fn cloud_with_statuses(
    statuses: impl Fn(usize) -> Vec<serde_json::Value> + Send + Sync + 'static,
) -> common::RawServer {
    let polls = AtomicUsize::new(0);
    serve(move |req, _| {
        if req.path().ends_with("/statuses") {
            let n = polls.fetch_add(1, Ordering::SeqCst);
            Reply::json(200, common::cloud_page(statuses(n), None))
        } else {
            Reply::json(200, common::one_pr_page("Fix"))
        }
    })
}

#[test]
fn a_required_build_not_reported_yet_is_pending_not_a_pass() {
    // The gate step runs before Jenkins has posted its status: no builds at all.
    let server = cloud_with_statuses(|_| vec![]);
    let r = step()
        .cloud(&server.url)
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "jenkins, lint")
        .run();
    assert_eq!(r.code, 8, "{}{}", r.stdout, r.stderr);
    let s = r.summary();
    assert_eq!(s["outcome"], "pending");
    assert_eq!(s["required_builds"], json!(["jenkins", "lint"]));
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("not reported yet: jenkins, lint"),
        "{s}"
    );

    // Without REQUIRED_BUILDS the same answer passes, and says there was no build at all.
    let r = step().cloud(&server.url).env("REQUIRE", "builds-passed").run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("no build was reported"), "{}", r.stdout);
}

#[test]
fn wait_for_builds_waits_for_a_required_build_to_report() {
    // Jenkins reports on the third poll, by name (its key is a hash).
    let server = cloud_with_statuses(|n| {
        let mut out = vec![json!({"key": "lint", "name": "lint", "state": "SUCCESSFUL"})];
        if n >= 2 {
            out.push(json!({"key": "9f3c", "name": "jenkins", "state": "SUCCESSFUL"}));
        }
        out
    });
    let r = step()
        .cloud(&server.url)
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "jenkins,lint")
        .env("WAIT_FOR_BUILDS", "30")
        .env("POLL_INTERVAL", "1")
        .run();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(server.hits("/statuses") >= 3);
    let builds = r.summary()["pull_requests"][0]["builds"].as_array().unwrap().clone();
    assert!(builds.iter().all(|b| b["required"] == true), "{builds:?}");

    // A required build that fails ends in fail, not pending.
    let server = cloud_with_statuses(|_| vec![json!({"key": "jenkins", "name": "jenkins", "state": "FAILED"})]);
    let r = step()
        .cloud(&server.url)
        .env("REQUIRE", "builds-passed")
        .env("REQUIRED_BUILDS", "jenkins")
        .run();
    assert_eq!(r.code, 1, "{}", r.stdout);
}

#[test]
fn required_builds_that_are_also_ignored_or_auto_are_configuration_errors() {
    let server = cloud_with_statuses(|_| vec![]);
    let r = step()
        .cloud(&server.url)
        .env("REQUIRED_BUILDS", "jenkins")
        .env("IGNORE_BUILDS", "jenkins")
        .run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("REQUIRED_BUILDS and IGNORE_BUILDS"), "{}", r.stderr);
    assert_eq!(server.connections(), 0, "nothing is sent");
}

/// Runs a script while counting how many of its calls overlap: the requests in flight.
struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl InFlight {
    fn new() -> Arc<InFlight> {
        Arc::new(InFlight {
            now: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    fn around(&self, req: &Request, answer: impl Fn(&Request) -> Reply) -> Reply {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(15));
        let reply = answer(req);
        self.now.fetch_sub(1, Ordering::SeqCst);
        reply
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// GitHub answers for `count` PRs, PR n at head `head(n)`, each approved with green builds.
fn github_many(count: u64, head: fn(u64) -> String, in_flight: Arc<InFlight>) -> common::RawServer {
    serve(move |req, _| {
        in_flight.around(req, |req| {
            let path = req.path();
            if path.ends_with("/pulls") {
                let prs: Vec<_> = (1..=count)
                    .map(|n| {
                        let mut pr = Forge::Github.pr("Fix");
                        pr["number"] = json!(n);
                        pr["head"]["sha"] = json!(head(n));
                        pr
                    })
                    .collect();
                Reply::json(200, json!(prs).to_string())
            } else if path.ends_with("/reviews") {
                Reply::json(200, "[]")
            } else if path.ends_with("/check-runs") {
                Reply::json(200, r#"{"total_count":0,"check_runs":[]}"#)
            } else if path.ends_with("/status") {
                Reply::json(200, r#"{"state":"pending","total_count":0,"statuses":[]}"#)
            } else {
                Reply::json(404, r#"{"message":"Not Found"}"#)
            }
        })
    })
}

#[test]
fn at_most_eight_requests_are_in_flight() {
    // 300 PRs, each at its own head: 300 reviews + 600 build requests. Today's main put 157 in
    // flight at once; GitHub's secondary rate limit counts concurrent requests.
    let in_flight = InFlight::new();
    let server = github_many(300, |n| format!("{n:040x}"), in_flight.clone());
    let r = run_forge(Forge::Github, &server.url, &[("REQUIRE", "pr")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"].as_array().unwrap().len(), 300);
    assert_eq!(server.requests().len(), 1 + 300 + 600);
    assert!(in_flight.peak() <= 8, "{} in flight", in_flight.peak());
    assert!(
        in_flight.peak() >= 4,
        "still concurrent: {} in flight",
        in_flight.peak()
    );
}

#[test]
fn gitlab_reads_the_statuses_of_moved_heads_concurrently() {
    // The list names each MR at the commit; each MR itself has moved on to its own head.
    // Today's main read those heads' statuses one after another.
    let in_flight = InFlight::new();
    let moved_in_flight = InFlight::new();
    let moved = |iid: u64| format!("{:040x}", 0xabc000 + iid);
    let (flight, moved_flight) = (in_flight.clone(), moved_in_flight.clone());
    let server = serve(move |req, _| {
        flight.around(req, |req| {
            let path = req.path().to_string();
            let p = "/api/v4/projects/group%2Fsub%2Fwidget";
            if path == format!("{p}/repository/commits/{COMMIT}/merge_requests") {
                let mrs: Vec<_> = (1..=6u64)
                    .map(|iid| json!({"iid": iid, "sha": COMMIT, "source_branch": format!("b{iid}")}))
                    .collect();
                return Reply::json(200, json!(mrs).to_string());
            }
            if let Some(rest) = path.strip_prefix(&format!("{p}/merge_requests/")) {
                let iid: u64 = rest.split('/').next().unwrap().parse().unwrap();
                if rest.ends_with("/approvals") {
                    return Reply::json(200, r#"{"approved_by":[]}"#);
                }
                if rest.ends_with("/reviewers") {
                    return Reply::json(200, "[]");
                }
                let mut mr = Forge::Gitlab.pr("Fix");
                mr["iid"] = json!(iid);
                mr["source_branch"] = json!(format!("b{iid}"));
                mr["sha"] = json!(moved(iid));
                return Reply::json(200, mr.to_string());
            }
            if path.ends_with("/statuses") && !path.contains(COMMIT) {
                // A moved head's statuses: how many of these overlap is what counts.
                return moved_flight.around(req, |_| {
                    std::thread::sleep(Duration::from_millis(100));
                    Reply::json(200, "[]")
                });
            }
            if path.ends_with("/statuses") {
                return Reply::json(200, "[]");
            }
            Reply::json(404, r#"{"message":"404 Not Found"}"#)
        })
    });
    let r = run_forge(Forge::Gitlab, &server.url, &[("REQUIRE", "pr")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let statuses: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path().ends_with("/statuses"))
        .collect();
    // The commit's own statuses on each branch (from the list), then each moved head's.
    assert_eq!(statuses.len(), 12, "{statuses:?}");
    assert!(
        moved_in_flight.peak() >= 4,
        "the moved heads are read concurrently: peak {}",
        moved_in_flight.peak()
    );
    assert!(in_flight.peak() <= 8);
}

#[test]
fn a_long_wait_renews_the_oauth_token_instead_of_ending_in_401() {
    // The token endpoint hands out tok-1, tok-2, ... each valid for 2 s (Bitbucket's last
    // two hours); the API refuses any other token with 401. The build finishes after about
    // 5 s of waiting, so the first token expires on the way.
    use std::sync::Mutex;
    use std::time::Instant;
    let issued: Arc<Mutex<Vec<(String, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let tokens = issued.clone();
    let server = serve(move |req, _| {
        if req.path() == "/site/oauth2/access_token" {
            let mut t = tokens.lock().unwrap();
            let token = format!("oauth-access-{}", t.len() + 1);
            t.push((token.clone(), Instant::now()));
            return Reply::json(
                200,
                json!({"access_token": token, "token_type": "bearer", "expires_in": 2}).to_string(),
            );
        }
        let auth = req.header("authorization").unwrap_or("").to_string();
        let valid = tokens
            .lock()
            .unwrap()
            .iter()
            .any(|(t, at)| auth == format!("Bearer {t}") && at.elapsed() < Duration::from_secs(2));
        if !valid {
            return Reply::json(401, r#"{"type":"error","error":{"message":"Access token expired."}}"#);
        }
        if req.path().ends_with("/statuses") {
            let state = if started.elapsed() > Duration::from_secs(5) {
                "SUCCESSFUL"
            } else {
                "INPROGRESS"
            };
            let status = json!({"key": "ci", "name": "ci", "state": state});
            Reply::json(200, common::cloud_page(vec![status], None))
        } else {
            Reply::json(200, common::one_pr_page("Fix"))
        }
    });
    let r = step()
        .env("BITBUCKET_API_URL", format!("{}/2.0", server.url))
        .env("BITBUCKET_WORKSPACE", "acme")
        .env("BITBUCKET_REPO_SLUG", "widget")
        .env("BITBUCKET_COMMIT", COMMIT)
        .env("BITBUCKET_OAUTH_CLIENT_ID", "client-id")
        .env("BITBUCKET_OAUTH_CLIENT_SECRET", "client-secret-5f0e")
        .env(
            "BITBUCKET_OAUTH_TOKEN_URL",
            format!("{}/site/oauth2/access_token", server.url),
        )
        .env("REQUIRE", "builds-passed")
        .env("WAIT_FOR_BUILDS", "30")
        .env("POLL_INTERVAL", "1")
        .run();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let count = issued.lock().unwrap().len();
    assert!(count >= 3, "the token was renewed during the wait: {count} issued");
    assert!(!r.everything().contains("oauth-access-"), "no token in any output");
}

#[test]
fn a_cloud_index_of_many_pages_with_size_on_every_page_passes() {
    // 120 PRs in three pages, each page saying `size: 120` (as Bitbucket does).
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            return Reply::json(200, common::EMPTY_PAGE);
        }
        let page: usize = req
            .target
            .split("page=")
            .nth(1)
            .and_then(|p| p.split('&').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let values: Vec<_> = (0..50)
            .map(|i| (page - 1) * 50 + i + 1)
            .take_while(|id| *id <= 120)
            .map(|id| cloud_pr(id as u64, "Fix"))
            .collect();
        let mut body = json!({"size": 120, "pagelen": 50, "page": page, "values": values});
        if page < 3 {
            body["next"] = json!(format!("{}?page={}", common::index_path(), page + 1));
        }
        Reply::json(200, body.to_string())
    });
    let r = step().cloud(&server.url).env("REQUIRE", "pr").run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["pull_requests"].as_array().unwrap().len(), 120);
}

#[test]
fn no_reviewer_verdicts_at_all_never_pass_no_changes_requested() {
    // GitLab without the reviewers API (404 on older servers): nobody's verdict is known.
    let forge = Forge::Gitlab;
    let reviewers = forge.endpoints()[3].clone();
    let server = forge_except(forge, reviewers, Reply::json(404, forge.error_body("404 Not found")));
    let r = run_forge(forge, &server.url, &[("REQUIRE", "no-changes-requested")]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("changes requested are unknown"), "{}", r.stdout);
    let r = run_forge(forge, &server.url, &[("REQUIRE", "open")]);
    assert_eq!(r.code, 0, "the rest of the MR is still reported: {}", r.stderr);

    // Bitbucket Cloud: a PR without its participants list.
    let server = serve(|req, _| {
        if req.path().ends_with("/statuses") {
            Reply::json(200, common::EMPTY_PAGE)
        } else {
            let mut pr = cloud_pr(7, "Fix");
            pr.as_object_mut().unwrap().remove("participants");
            Reply::json(200, common::cloud_page(vec![pr], None))
        }
    });
    let r = step().cloud(&server.url).env("REQUIRE", "no-changes-requested").run();
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
}
