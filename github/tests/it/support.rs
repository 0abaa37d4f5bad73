//! The test bench: a git workspace with an `origin` bare remote, a fake GitHub API on loopback that records every
//! call, and a fake pipeline that returns a canned outcome.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use agentless_github::{ActionEnv, GitHub, IssueFixer, PipelineError, PipelineOutcome, PushRemote, RetryPolicy, Token};
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const REPO: &str = "octo/calc";
pub const TOKEN: &str = "ghs_test_token_0123456789";
pub const ISSUE: u64 = 7;
pub const COMMENT_ID: u64 = 100;
pub const PULL: u64 = 12;

pub const CALC: &str = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n";
pub const FIX_PLUS: &str = "\
diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a - b
+    return a + b
 
 
 def sub(a, b):
";
pub const FIX_SUM: &str = "\
diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a - b
+    return sum((a, b))
 
 
 def sub(a, b):
";

/// One call the fake API received.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub body: Value,
}

pub struct Bench {
    pub dir: TempDir,
    pub workspace: PathBuf,
    pub remote: PathBuf,
    pub base: String,
    pub server: MockServer,
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim_end().to_owned()
}

/// The branches of a bare repository, as `name sha` lines.
pub fn branches(repo: &Path) -> String {
    git(repo, &["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads"])
}

pub fn bare_remote(at: &Path) {
    let output = Command::new("git").args(["init", "--bare", "-b", "main"]).arg(at).output().unwrap();
    assert!(output.status.success());
}

impl Bench {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let workspace = dir.path().join("calc");
        let remote = dir.path().join("remote.git");
        fs_err::create_dir_all(&workspace).unwrap();
        git(&workspace, &["init", "-q", "-b", "main"]);
        fs_err::write(workspace.join("calc.py"), CALC).unwrap();
        git(&workspace, &["add", "calc.py"]);
        git(&workspace, &["-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-q", "-m", "calc"]);
        bare_remote(&remote);
        git(&workspace, &["remote", "add", "origin", remote.to_str().unwrap()]);
        git(&workspace, &["push", "-q", "origin", "main"]);
        let base = git(&workspace, &["rev-parse", "HEAD"]);
        Self { dir, workspace, remote, base, server: MockServer::start().await }
    }

    /// The environment of a run for `event_name` with `payload`, talking to the fake API and pushing to `origin`.
    pub fn env(&self, event_name: &str, payload: &Value) -> ActionEnv {
        let event_path = self.dir.path().join("event.json");
        fs_err::write(&event_path, serde_json::to_vec(payload).unwrap()).unwrap();
        ActionEnv {
            event_name: event_name.to_owned(),
            event_path,
            repository: REPO.to_owned(),
            api_url: self.server.uri(),
            server_url: "https://github.example".to_owned(),
            workspace: self.workspace.clone(),
            run_id: Some("4242".to_owned()),
            step_summary: Some(self.dir.path().join("summary.md")),
            output: Some(self.dir.path().join("output.txt")),
            label: "agentless".to_owned(),
            trigger: "/agentless".to_owned(),
            token: Token::new(TOKEN.to_owned()),
            push_remote: PushRemote::Origin,
            base_branch: None,
            branch_prefix: "agentless/issue-".to_owned(),
        }
    }

    pub fn github(&self) -> GitHub {
        github(&self.server.uri())
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn read(&self, name: &str) -> String {
        fs_err::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// `text` with the bench's temporary directory replaced by `[TEMP]`.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(self.dir.path().to_str().unwrap(), "[TEMP]")
    }

    pub async fn calls(&self) -> Vec<Call> {
        calls(&self.server).await
    }

    /// Mounts the endpoints of the fake API: comments (listing `existing_comments` plus, when `ours` is set,
    /// the bot's earlier comment) and pull requests (listing the open one when `open_pull` is set).
    pub async fn mount(&self, existing_comments: Vec<Value>, ours: bool, open_pull: bool) {
        let comments_path = format!("/repos/{REPO}/issues/{ISSUE}/comments");
        let mut listed = existing_comments;
        if ours {
            listed.push(comment(COMMENT_ID, "github-actions[bot]", "<!-- agentless:issue-7 -->\nearlier run"));
        }
        Mock::given(method("GET"))
            .and(path(&comments_path))
            .respond_with(json_reply(200, json!(listed)))
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path(&comments_path))
            .respond_with(json_reply(201, comment(COMMENT_ID, "github-actions[bot]", "")))
            .mount(&self.server)
            .await;
        Mock::given(method("PATCH"))
            .and(path(format!("/repos/{REPO}/issues/comments/{COMMENT_ID}")))
            .respond_with(json_reply(200, comment(COMMENT_ID, "github-actions[bot]", "")))
            .mount(&self.server)
            .await;
        let pulls = if open_pull { json!([pull()]) } else { json!([]) };
        Mock::given(method("GET"))
            .and(path(format!("/repos/{REPO}/pulls")))
            .respond_with(json_reply(200, pulls))
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/repos/{REPO}/pulls")))
            .respond_with(json_reply(201, pull()))
            .mount(&self.server)
            .await;
        Mock::given(method("PATCH"))
            .and(path(format!("/repos/{REPO}/pulls/{PULL}")))
            .respond_with(json_reply(200, pull()))
            .mount(&self.server)
            .await;
    }
}

pub fn github(api_url: &str) -> GitHub {
    let retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(200),
        request_timeout: Duration::from_secs(10),
    };
    GitHub::new(api_url, Token::new(TOKEN.to_owned()), retry).unwrap()
}

pub async fn calls(server: &MockServer) -> Vec<Call> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .map(|request| Call {
            method: request.method.to_string(),
            target: match request.url.query() {
                Some(query) => format!("{}?{query}", request.url.path()),
                None => request.url.path().to_owned(),
            },
            body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
        })
        .collect()
}

/// `METHOD target` of each call.
pub fn lines(calls: &[Call]) -> Vec<String> {
    calls.iter().map(|call| format!("{} {}", call.method, call.target)).collect()
}

/// The `body` field sent in the call at `index`.
pub fn body_of(calls: &[Call], index: usize) -> String {
    calls[index].body["body"].as_str().unwrap().to_owned()
}

pub fn json_reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

pub fn comment(id: u64, login: &str, body: &str) -> Value {
    json!({
        "id": id,
        "body": body,
        "html_url": format!("https://github.example/{REPO}/issues/{ISSUE}#issuecomment-{id}"),
        "user": { "login": login, "type": "User" },
        "created_at": "2026-11-20T10:00:00Z",
    })
}

fn pull() -> Value {
    json!({ "number": PULL, "html_url": format!("https://github.example/{REPO}/pull/{PULL}") })
}

pub fn labeled_event() -> Value {
    json!({
        "action": "labeled",
        "label": { "name": "agentless" },
        "issue": { "number": ISSUE, "title": "add() subtracts", "body": "`add(2, 2)` returns 0 instead of 4." },
        "repository": { "default_branch": "main" },
    })
}

pub fn comment_event(association: &str) -> Value {
    json!({
        "action": "created",
        "issue": { "number": ISSUE, "title": "add() subtracts", "body": "`add(2, 2)` returns 0 instead of 4." },
        "comment": { "body": "/agentless", "author_association": association, "user": { "login": "drive-by" } },
        "repository": { "default_branch": "main" },
    })
}

/// A trigger comment by a member on pull request `PULL`, with a note after the trigger.
pub fn pull_comment_event(note: &str) -> Value {
    json!({
        "action": "created",
        "issue": { "number": PULL, "title": "Fix #7: add() subtracts", "pull_request": { "url": "u" } },
        "comment": { "body": format!("/agentless {note}"), "author_association": "MEMBER", "user": { "login": "maintainer" } },
        "repository": { "default_branch": "main" },
    })
}

/// Mounts `GET` of pull request `PULL` (coming from `head` of `head_repo`) and of issue `ISSUE`, and the pull
/// request's comments (`pull_comments`) and the reply to them.
pub async fn mount_pull(server: &MockServer, head: &str, head_repo: &str, pull_comments: Vec<Value>) {
    let details = json!({
        "number": PULL,
        "html_url": format!("https://github.example/{REPO}/pull/{PULL}"),
        "head": { "ref": head, "repo": { "full_name": head_repo } },
        "base": { "ref": "release", "repo": { "full_name": REPO } },
    });
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls/{PULL}")))
        .respond_with(json_reply(200, details))
        .mount(server)
        .await;
    let issue = json!({ "number": ISSUE, "title": "add() subtracts", "body": "`add(2, 2)` returns 0 instead of 4." });
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/issues/{ISSUE}")))
        .respond_with(json_reply(200, issue))
        .mount(server)
        .await;
    let comments_path = format!("/repos/{REPO}/issues/{PULL}/comments");
    Mock::given(method("GET"))
        .and(path(&comments_path))
        .respond_with(json_reply(200, json!(pull_comments)))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(&comments_path))
        .respond_with(json_reply(201, comment(300, "github-actions[bot]", "")))
        .mount(server)
        .await;
}

/// A pipeline that returns `outcome` (or fails with its message) and remembers what it was given.
pub struct FakePipeline {
    pub outcome: Result<PipelineOutcome, String>,
    pub seen: Mutex<Vec<(String, PathBuf)>>,
}

impl FakePipeline {
    pub fn patching(patch: &str, run_dir: PathBuf) -> Self {
        Self::returning(Ok(PipelineOutcome {
            patch: Some(patch.to_owned()),
            report_markdown: "## Report\n\n- localized: `calc.py::add`\n- 4 candidates, 3 passed the tests\n"
                .to_owned(),
            cost_usd: 0.0312,
            run_dir,
            why_no_patch: None,
            best_candidates: vec![patch.to_owned()],
        }))
    }

    pub fn returning(outcome: Result<PipelineOutcome, String>) -> Self {
        Self { outcome, seen: Mutex::new(Vec::new()) }
    }

    pub fn issue_texts(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|(text, _)| text.clone()).collect()
    }
}

#[async_trait::async_trait]
impl IssueFixer for FakePipeline {
    async fn fix(&self, issue_text: &str, workspace: &Path) -> Result<PipelineOutcome, PipelineError> {
        self.seen.lock().unwrap().push((issue_text.to_owned(), workspace.to_owned()));
        self.outcome.clone().map_err(PipelineError::from)
    }
}
