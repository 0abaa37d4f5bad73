//! A small GitHub REST client: the seven calls the bot makes, with retries on 5xx, 429 and secondary rate limits.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::env::{ActionEnv, Token};
use crate::error::{ApiError, Permission};

/// The REST API version every request asks for.
pub const API_VERSION: &str = "2022-11-28";
const API_VERSION_HEADER: &str = "x-github-api-version";
const USER_AGENT_VALUE: &str = concat!("agentless/", env!("CARGO_PKG_VERSION"));
/// GitHub's page size limit; comment lists are read page by page.
const PAGE_SIZE: usize = 100;
/// Comment threads longer than this many pages are cut (10 000 comments).
const MAX_PAGES: usize = 100;
const MAX_ERROR_CHARS: usize = 1000;

/// When and how often to retry: on 5xx, 429, a 403 that is a rate limit, and connection errors. The pause is the
/// server's `retry-after` or the time to `x-ratelimit-reset` when it sends one, else `base_delay × 2^n` with
/// jitter; never more than `max_delay`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(90),
            request_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct User {
    pub login: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct IssueComment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub html_url: String,
}

/// A pull request as `GET /repos/{repo}/pulls/{number}` describes it: enough to tell whether the bot opened it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PullRequestDetails {
    pub number: u64,
    pub html_url: String,
    pub head: Branch,
    pub base: Branch,
}

/// One end of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Branch {
    #[serde(rename = "ref")]
    pub name: String,
    /// Missing when the fork the branch lived in was deleted.
    #[serde(default)]
    pub repo: Option<BranchRepository>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct BranchRepository {
    pub full_name: String,
}

/// An issue as `GET /repos/{repo}/issues/{number}` describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct IssueDetails {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
}

/// A pull request to open: always from a branch of the same repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPullRequest {
    pub title: String,
    pub head: String,
    pub base: String,
    pub body: String,
    pub draft: bool,
}

/// The GitHub REST API as the bot uses it.
#[derive(Debug)]
pub struct GitHub {
    client: reqwest::Client,
    api_url: String,
    token: Token,
    retry: RetryPolicy,
}

/// What went wrong with one attempt.
enum Failure {
    Status { status: StatusCode, wait: Option<Duration>, rate_limited: bool, message: String },
    Transport(reqwest::Error),
}

impl GitHub {
    /// A client for `api_url` (e.g. `https://api.github.com`) authenticated with `token`.
    pub fn new(api_url: &str, token: Token, retry: RetryPolicy) -> Result<Self, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/vnd.github+json"));
        headers.insert(API_VERSION_HEADER, HeaderValue::from_static(API_VERSION));
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        // A token that is not a valid header value is sent as nothing; GitHub's 401 then says so.
        if let Ok(mut bearer) = HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
            bearer.set_sensitive(true);
            headers.insert(AUTHORIZATION, bearer);
        }
        let client = reqwest::Client::builder().default_headers(headers).build().map_err(ApiError::HttpClient)?;
        Ok(Self { client, api_url: api_url.trim_end_matches('/').to_owned(), token, retry })
    }

    /// The client an action run uses: the run's API URL and token, default retries.
    pub fn for_action(env: &ActionEnv) -> Result<Self, ApiError> {
        Self::new(&env.api_url, env.token.clone(), RetryPolicy::default())
    }

    /// Every comment on issue `number`, oldest first.
    pub async fn issue_comments(&self, repo: &str, number: u64) -> Result<Vec<IssueComment>, ApiError> {
        let path = format!("/repos/{repo}/issues/{number}/comments");
        let mut comments = Vec::new();
        for page in 1..=MAX_PAGES {
            let query = [("per_page", PAGE_SIZE.to_string()), ("page", page.to_string())];
            let batch: Vec<IssueComment> = self.send(Method::GET, &path, &query, None, Permission::Issues).await?;
            let last = batch.len() < PAGE_SIZE;
            comments.extend(batch);
            if last {
                break;
            }
        }
        Ok(comments)
    }

    pub async fn create_comment(&self, repo: &str, number: u64, body: &str) -> Result<IssueComment, ApiError> {
        let path = format!("/repos/{repo}/issues/{number}/comments");
        self.send(Method::POST, &path, &[], Some(serde_json::json!({ "body": body })), Permission::Issues).await
    }

    pub async fn update_comment(&self, repo: &str, comment_id: u64, body: &str) -> Result<IssueComment, ApiError> {
        let path = format!("/repos/{repo}/issues/comments/{comment_id}");
        self.send(Method::PATCH, &path, &[], Some(serde_json::json!({ "body": body })), Permission::Issues).await
    }

    pub async fn issue(&self, repo: &str, number: u64) -> Result<IssueDetails, ApiError> {
        let path = format!("/repos/{repo}/issues/{number}");
        self.send(Method::GET, &path, &[], None, Permission::Issues).await
    }

    pub async fn pull_request(&self, repo: &str, number: u64) -> Result<PullRequestDetails, ApiError> {
        let path = format!("/repos/{repo}/pulls/{number}");
        self.send(Method::GET, &path, &[], None, Permission::PullRequests).await
    }

    /// The open pull request whose head is `owner:branch`, if there is one.
    pub async fn open_pull_request(
        &self,
        repo: &str,
        owner: &str,
        branch: &str,
    ) -> Result<Option<PullRequest>, ApiError> {
        let path = format!("/repos/{repo}/pulls");
        let query = [("head", format!("{owner}:{branch}")), ("state", "open".to_owned())];
        let pulls: Vec<PullRequest> = self.send(Method::GET, &path, &query, None, Permission::PullRequests).await?;
        Ok(pulls.into_iter().next())
    }

    /// Opens `pull`. A repository without draft pull requests (private, free plan) answers 422; the pull
    /// request is then opened as a regular one.
    pub async fn create_pull_request(&self, repo: &str, pull: &NewPullRequest) -> Result<PullRequest, ApiError> {
        let path = format!("/repos/{repo}/pulls");
        let body = |draft: bool| serde_json::json!({ "title": pull.title, "head": pull.head, "base": pull.base, "body": pull.body, "draft": draft });
        match self.send(Method::POST, &path, &[], Some(body(pull.draft)), Permission::PullRequests).await {
            Err(ApiError::Status { status: 422, message, .. })
                if pull.draft && message.to_lowercase().contains("draft") =>
            {
                tracing::warn!("draft pull requests are not available here ({message}); opening a regular one");
                self.send(Method::POST, &path, &[], Some(body(false)), Permission::PullRequests).await
            }
            result => result,
        }
    }

    pub async fn update_pull_request(
        &self,
        repo: &str,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ApiError> {
        let path = format!("/repos/{repo}/pulls/{number}");
        let patch = serde_json::json!({ "title": title, "body": body });
        self.send(Method::PATCH, &path, &[], Some(patch), Permission::PullRequests).await
    }

    /// Sends one request, retrying as the policy says, and decodes the answer. A final 403 or 404 names
    /// `needs`, the permission the endpoint requires.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<serde_json::Value>,
        needs: Permission,
    ) -> Result<T, ApiError> {
        let url = format!("{}{path}", self.api_url);
        let max_attempts = self.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request =
                self.client.request(method.clone(), &url).query(query).timeout(self.retry.request_timeout);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let failure = match request.send().await {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(bytes) => {
                        return serde_json::from_slice(&bytes).map_err(|source| ApiError::Decode {
                            method: method.to_string(),
                            path: path.to_owned(),
                            source,
                        });
                    }
                    Err(error) => Failure::Transport(error),
                },
                Ok(response) => {
                    let status = response.status();
                    let (wait, rate_limited) = rate_limit_wait(response.headers());
                    let text = response.text().await.unwrap_or_default();
                    let message = self.token.redact(&error_message(&text));
                    let rate_limited = rate_limited || message.to_lowercase().contains("rate limit");
                    Failure::Status { status, wait, rate_limited, message }
                }
                Err(error) => Failure::Transport(error),
            };
            let (retryable, wait, reason) = match &failure {
                Failure::Status { status, wait, rate_limited, .. } => (
                    status.is_server_error()
                        || *status == StatusCode::TOO_MANY_REQUESTS
                        || (*status == StatusCode::FORBIDDEN && *rate_limited),
                    *wait,
                    format!("HTTP {}", status.as_u16()),
                ),
                Failure::Transport(error) => (!error.is_builder(), None, "a connection error".to_owned()),
            };
            if !retryable || attempt >= max_attempts {
                return Err(match failure {
                    Failure::Status { status, message, rate_limited, .. } => {
                        let denied = matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) && !rate_limited;
                        ApiError::Status {
                            method: method.to_string(),
                            path: path.to_owned(),
                            status: status.as_u16(),
                            attempts: attempt,
                            message,
                            needs: denied.then_some(needs),
                        }
                    }
                    Failure::Transport(source) => ApiError::Transport {
                        method: method.to_string(),
                        path: path.to_owned(),
                        attempts: attempt,
                        source,
                    },
                });
            }
            let delay = wait
                .unwrap_or_else(|| {
                    let exponent = (attempt - 1).min(20);
                    self.retry.base_delay.mul_f64(f64::from(1u32 << exponent) * (0.9 + fastrand::f64() * 0.2))
                })
                .min(self.retry.max_delay);
            tracing::warn!(
                "GitHub answered {method} {path} with {reason} (attempt {attempt}/{max_attempts}); retrying in {:.1}s",
                delay.as_secs_f64()
            );
            tokio::time::sleep(delay).await;
        }
    }
}

/// How long the server asks to wait, and whether the headers say a rate limit was hit: `retry-after` (seconds),
/// or `x-ratelimit-remaining: 0` with `x-ratelimit-reset` (epoch seconds).
fn rate_limit_wait(headers: &HeaderMap) -> (Option<Duration>, bool) {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    if let Some(seconds) = header(RETRY_AFTER.as_str()).and_then(|value| value.parse::<u64>().ok()) {
        return (Some(Duration::from_secs(seconds)), true);
    }
    if header("x-ratelimit-remaining") == Some("0") {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let wait = header("x-ratelimit-reset")
            .and_then(|value| value.parse::<u64>().ok())
            .map(|reset| Duration::from_secs(reset.saturating_sub(now) + 1));
        return (wait, true);
    }
    (None, false)
}

/// GitHub's `message` and the `errors` details from an error body, or the body itself, cut short.
fn error_message(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: String,
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    let message = match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody { message, errors }) => {
            let details: Vec<String> = errors
                .iter()
                .map(|error| match error.get("message").and_then(serde_json::Value::as_str) {
                    Some(text) => text.to_owned(),
                    None => error.to_string(),
                })
                .collect();
            if details.is_empty() { message } else { format!("{message} ({})", details.join("; ")) }
        }
        Err(_) => body.trim().to_owned(),
    };
    match message.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn error_messages_keep_the_details() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for octo:agentless/issue-7."}],"documentation_url":"https://docs.github.com"}"#;
        assert_eq!(
            error_message(body),
            "Validation Failed (A pull request already exists for octo:agentless/issue-7.)"
        );
        assert_eq!(error_message("<html>bad gateway</html>\n"), "<html>bad gateway</html>");
    }

    #[test]
    fn rate_limit_headers_give_the_wait() {
        let mut headers = HeaderMap::new();
        assert_eq!(rate_limit_wait(&headers), (None, false));
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 30;
        headers.insert("x-ratelimit-reset", HeaderValue::from_str(&reset.to_string()).unwrap());
        let (wait, limited) = rate_limit_wait(&headers);
        assert!(limited);
        let wait = wait.unwrap();
        assert!(wait >= Duration::from_secs(29) && wait <= Duration::from_secs(32), "{wait:?}");
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(rate_limit_wait(&headers), (Some(Duration::from_secs(7)), true));
    }
}
