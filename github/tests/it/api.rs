//! The REST client alone: retries on 5xx and rate limits, errors that name the missing permission, pagination,
//! the draft fallback, and the token kept out of errors.

use agentless_github::api::NewPullRequest;
use agentless_github::{ApiError, Permission};
use pretty_assertions::assert_eq;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{self, TOKEN, json_reply, lines};

#[tokio::test]
async fn a_5xx_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(json_reply(201, support::comment(5, "bot", "hi"))).mount(&server).await;
    let comment = support::github(&server.uri()).create_comment("octo/calc", 7, "hi").await.unwrap();
    assert_eq!(comment.id, 5);
    assert_eq!(support::calls(&server).await.len(), 2);
}

#[tokio::test]
async fn a_secondary_rate_limit_waits_and_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            json_reply(403, json!({ "message": "You have exceeded a secondary rate limit." }))
                .insert_header("retry-after", "0"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET")).respond_with(json_reply(200, json!([]))).mount(&server).await;
    let comments = support::github(&server.uri()).issue_comments("octo/calc", 7).await.unwrap();
    assert_eq!(comments, []);
    assert_eq!(support::calls(&server).await.len(), 2);
}

#[tokio::test]
async fn an_exhausted_primary_rate_limit_is_retried_until_the_attempts_run_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            json_reply(403, json!({ "message": "API rate limit exceeded" }))
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", "0"),
        )
        .mount(&server)
        .await;
    let error = support::github(&server.uri()).issue_comments("octo/calc", 7).await.unwrap_err();
    // A rate limit is not a missing permission.
    assert!(matches!(error, ApiError::Status { status: 403, attempts: 3, needs: None, .. }), "{error:?}");
}

#[tokio::test]
async fn a_403_on_comments_names_issues_write() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json_reply(
            403,
            json!({ "message": format!("Resource not accessible by integration ({TOKEN})") }),
        ))
        .mount(&server)
        .await;
    let error = support::github(&server.uri()).create_comment("octo/calc", 7, "hi").await.unwrap_err();
    assert!(matches!(error, ApiError::Status { needs: Some(Permission::Issues), attempts: 1, .. }), "{error:?}");
    insta::assert_snapshot!(error, @r#"
        GitHub answered HTTP 403 to POST /repos/octo/calc/issues/7/comments after 1 attempt(s): Resource not accessible by integration (***) (the token needs the `issues: write` permission)
    "#);
}

#[tokio::test]
async fn a_404_on_pulls_names_pull_requests_write() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(json_reply(404, json!({ "message": "Not Found" }))).mount(&server).await;
    let pull = NewPullRequest {
        title: "t".to_owned(),
        head: "agentless/issue-7".to_owned(),
        base: "main".to_owned(),
        body: "b".to_owned(),
        draft: true,
    };
    let error = support::github(&server.uri()).create_pull_request("octo/calc", &pull).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "GitHub answered HTTP 404 to POST /repos/octo/calc/pulls after 1 attempt(s): Not Found (the token needs the \
         `pull-requests: write` permission)"
    );
}

#[tokio::test]
async fn without_draft_support_a_regular_pull_request_is_opened() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_partial_json(json!({ "draft": true })))
        .respond_with(json_reply(
            422,
            json!({ "message": "Validation Failed", "errors": [{ "message": "Draft pull requests are not supported in this repository." }] }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_partial_json(json!({ "draft": false })))
        .respond_with(json_reply(201, json!({ "number": 3, "html_url": "https://github.example/octo/calc/pull/3" })))
        .mount(&server)
        .await;
    let pull = NewPullRequest {
        title: "t".to_owned(),
        head: "agentless/issue-7".to_owned(),
        base: "main".to_owned(),
        body: "b".to_owned(),
        draft: true,
    };
    let opened = support::github(&server.uri()).create_pull_request("octo/calc", &pull).await.unwrap();
    assert_eq!(opened.number, 3);
    assert_eq!(support::calls(&server).await.len(), 2);
}

#[tokio::test]
async fn comments_are_read_page_by_page() {
    let server = MockServer::start().await;
    let full: Vec<_> = (1..=100).map(|id| support::comment(id, "someone", "x")).collect();
    Mock::given(method("GET"))
        .and(path("/repos/octo/calc/issues/7/comments"))
        .and(query_param("page", "1"))
        .respond_with(json_reply(200, json!(full)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/calc/issues/7/comments"))
        .and(query_param("page", "2"))
        .respond_with(json_reply(200, json!([support::comment(101, "someone", "last")])))
        .mount(&server)
        .await;
    let comments = support::github(&server.uri()).issue_comments("octo/calc", 7).await.unwrap();
    assert_eq!(comments.len(), 101);
    assert_eq!(comments[100].body.as_deref(), Some("last"));
    assert_eq!(
        lines(&support::calls(&server).await),
        [
            "GET /repos/octo/calc/issues/7/comments?per_page=100&page=1",
            "GET /repos/octo/calc/issues/7/comments?per_page=100&page=2",
        ]
    );
}
