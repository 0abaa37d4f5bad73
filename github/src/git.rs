//! The fix branch: a commit of the patch on top of the checked-out HEAD, made in a temporary index (the work tree
//! and local branches are never touched), force-pushed with the token to the issue's fix branch only
//! (`agentless/issue-N` unless the action's `branch-prefix` says otherwise).

use std::path::Path;

use base64::Engine;
use tokio::process::Command;

use crate::env::{PushRemote, Token};
use crate::error::GitError;

/// The identity of the fix commits: GitHub's own Actions bot, so the commits show its avatar.
pub const BOT_NAME: &str = "github-actions[bot]";
pub const BOT_EMAIL: &str = "41898282+github-actions[bot]@users.noreply.github.com";
/// What the fix branches are called before the issue number, unless the action's `branch-prefix` says otherwise.
pub const DEFAULT_BRANCH_PREFIX: &str = "agentless/issue-";

/// Words in git's output that mean the server refused the push rather than could not be reached.
const REFUSAL_MARKERS: [&str; 7] =
    ["403", "401", "denied", "rejected", "not allowed", "authentication failed", "permission"];

/// The branch the fix for issue `number` goes to.
pub fn branch_name(prefix: &str, number: u64) -> String {
    format!("{prefix}{number}")
}

/// The issue a fix branch is for, when `branch` is `prefix` followed by a number.
pub fn issue_of_branch(prefix: &str, branch: &str) -> Option<u64> {
    branch.strip_prefix(prefix)?.parse().ok()
}

/// The commit that was pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedFix {
    pub branch: String,
    pub commit: String,
    /// The checked-out HEAD the commit sits on.
    pub base: String,
}

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct PushTarget<'a> {
    pub remote: &'a PushRemote,
    pub token: &'a Token,
}

/// Commits `patch_file` on top of HEAD of `workspace` with the bot identity and force-pushes it to `branch`.
pub async fn push_fix(
    workspace: &Path,
    patch_file: &Path,
    branch: &str,
    message: &str,
    target: PushTarget<'_>,
) -> Result<PushedFix, GitError> {
    let token = target.token;
    let base = git(workspace, &["rev-parse", "--verify", "HEAD^{commit}"], &[], token).await?;
    let index_dir = tempfile::TempDir::new().map_err(GitError::TempIndex)?;
    let index = index_dir.path().join("index");
    let index = index.to_string_lossy();
    let in_temp_index = [("GIT_INDEX_FILE", index.as_ref())];
    git(workspace, &["read-tree", &base], &in_temp_index, token).await?;
    let patch_file = patch_file.to_string_lossy();
    git(workspace, &["apply", "--cached", "--whitespace=nowarn", &patch_file], &in_temp_index, token).await?;
    let tree = git(workspace, &["write-tree"], &in_temp_index, token).await?;
    let identity = [
        ("GIT_AUTHOR_NAME", BOT_NAME),
        ("GIT_AUTHOR_EMAIL", BOT_EMAIL),
        ("GIT_COMMITTER_NAME", BOT_NAME),
        ("GIT_COMMITTER_EMAIL", BOT_EMAIL),
    ];
    let commit = git(workspace, &["commit-tree", &tree, "-p", &base, "-m", message], &identity, token).await?;

    let url = match target.remote {
        PushRemote::Origin => git(workspace, &["remote", "get-url", "origin"], &[], token).await?,
        PushRemote::Url(url) => url.clone(),
    };
    // Over HTTP the token goes in a header scoped to the server, like actions/checkout does it. The empty value
    // first clears the header checkout persisted for the same server, so only one Authorization is sent.
    // Passed through GIT_CONFIG_* so it appears in no command line.
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{}", token.expose()));
    let header = format!("AUTHORIZATION: basic {encoded}");
    let scope = reqwest::Url::parse(&url)
        .ok()
        .filter(|parsed| matches!(parsed.scheme(), "http" | "https"))
        .map(|parsed| format!("http.{}/.extraheader", parsed.origin().ascii_serialization()));
    let mut push_env = vec![("GIT_TERMINAL_PROMPT", "0")];
    if let Some(key) = &scope {
        push_env.extend([
            ("GIT_CONFIG_COUNT", "2"),
            ("GIT_CONFIG_KEY_0", key.as_str()),
            ("GIT_CONFIG_VALUE_0", ""),
            ("GIT_CONFIG_KEY_1", key.as_str()),
            ("GIT_CONFIG_VALUE_1", header.as_str()),
        ]);
    }
    let refspec = format!("{commit}:refs/heads/{branch}");
    match git(workspace, &["push", "--force", &url, &refspec], &push_env, token).await {
        Ok(_) => Ok(PushedFix { branch: branch.to_owned(), commit, base }),
        Err(GitError::Failed { command, output }) => {
            let output = output.replace(&encoded, "***");
            let lowered = output.to_lowercase();
            if REFUSAL_MARKERS.iter().any(|marker| lowered.contains(marker)) {
                Err(GitError::PushRejected { branch: branch.to_owned(), output })
            } else {
                Err(GitError::Failed { command, output })
            }
        }
        Err(other) => Err(other),
    }
}

/// Runs `git -C workspace ARGS` with `env` added and returns its trimmed stdout; on failure, its output with the
/// token scrubbed.
async fn git(workspace: &Path, args: &[&str], env: &[(&str, &str)], token: &Token) -> Result<String, GitError> {
    let command = token.redact(&format!("git {}", args.join(" ")));
    let output = Command::new("git")
        .arg("-C")
        .arg(workspace)
        .args(args)
        .envs(env.iter().copied())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| GitError::Spawn { command: command.clone(), source })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    // git pads `remote:` lines with spaces meant for a terminal.
    let text: Vec<&str> = text.trim().lines().map(str::trim_end).collect();
    Err(GitError::Failed { command, output: token.redact(&text.join("\n")) })
}
