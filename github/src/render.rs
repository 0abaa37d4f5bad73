//! Everything a person reads on GitHub: the sticky issue comment in each state, the pull request, the step
//! summary, and the issue text handed to the pipeline.

use std::fmt::Write as _;

use crate::api::IssueComment;
use crate::error::ActionError;
use crate::event::TriggeredIssue;

/// GitHub refuses comment and pull-request bodies over 65 536 characters; this leaves room for the frame.
const MAX_SECTION_CHARS: usize = 50_000;
/// Every comment the bot writes starts with this, which also keeps it out of the issue text.
const MARKER_PREFIX: &str = "<!-- agentless:";

/// The hidden line that finds the bot's comment (and pull request) for issue `number` again on a re-run.
pub fn marker(number: u64) -> String {
    format!("{MARKER_PREFIX}issue-{number} -->")
}

/// What every rendering of one run shares.
#[derive(Debug, Clone)]
pub struct RunInfo<'a> {
    pub issue: &'a TriggeredIssue,
    pub run_url: Option<&'a str>,
}

impl RunInfo<'_> {
    fn run_link(&self) -> String {
        match self.run_url {
            Some(url) => format!("[workflow run]({url})"),
            None => "workflow run".to_owned(),
        }
    }
}

pub fn started_comment(run: &RunInfo<'_>) -> String {
    format!(
        "{}\n**Agentless** is working on this issue ({}).\n\nIt localizes the problem, samples candidate fixes and \
         validates them; then it opens a draft pull request with the best one, or explains here why it chose none.\n",
        marker(run.issue.number),
        run.run_link()
    )
}

/// Where the fix went: the pull request, and the branch and commit, so a re-run's comment shows what changed.
#[derive(Debug, Clone, Copy)]
pub struct FixLocation<'a> {
    pub pull_url: &'a str,
    pub pull_number: u64,
    pub branch: &'a str,
    pub commit: &'a str,
}

pub fn pull_request_comment(run: &RunInfo<'_>, fix: FixLocation<'_>, cost: f64) -> String {
    let FixLocation { pull_url, pull_number, branch, commit } = fix;
    let short = commit.get(..12).unwrap_or(commit);
    format!(
        "{}\n**Agentless** proposes a fix in draft pull request [#{pull_number}]({pull_url}) (branch `{branch}`, \
         commit `{short}`).\n\nCost ${cost:.4} · {}\n",
        marker(run.issue.number),
        run.run_link()
    )
}

/// The reply on the bot's pull request when a trigger comment there made it run again.
pub fn revised_comment(run: &RunInfo<'_>, fix: FixLocation<'_>, cost: f64) -> String {
    let FixLocation { branch, commit, .. } = fix;
    let short = commit.get(..12).unwrap_or(commit);
    format!(
        "{MARKER_PREFIX}revision -->\n**Agentless** ran again with the notes on this pull request and force-pushed \
         `{branch}` (commit `{short}`); the description shows the new report.\n\nCost ${cost:.4} · {}\n",
        run.run_link()
    )
}

pub fn no_patch_comment(run: &RunInfo<'_>, why: Option<&str>, candidates: &[String], cost: f64) -> String {
    let mut body = format!(
        "{}\n**Agentless** chose no patch for this issue.\n\n**Why:** {}\n",
        marker(run.issue.number),
        why.unwrap_or("no candidate patch survived validation.")
    );
    let mut room = MAX_SECTION_CHARS;
    let mut shown = 0;
    let mut details = String::new();
    for (rank, candidate) in candidates.iter().enumerate() {
        let block = format!("\nCandidate {}:\n\n{}\n", rank + 1, fenced("diff", candidate));
        if block.chars().count() > room {
            break;
        }
        room -= block.chars().count();
        details.push_str(&block);
        shown += 1;
    }
    if shown > 0 {
        let _ = write!(body, "\n<details><summary>Best candidates ({shown})</summary>\n{details}\n</details>\n");
    }
    if shown < candidates.len() {
        let _ = writeln!(body, "\n{} more candidate(s) are in the run's artifact.", candidates.len() - shown);
    }
    let _ = write!(body, "\nCost ${cost:.4} · {}\n", run.run_link());
    body
}

/// The comment when the run failed after it started: the error, the permission to grant when one explains it, and
/// the patch when one was found, so the work is not lost.
pub fn failure_comment(run: &RunInfo<'_>, error: &ActionError, patch: Option<&str>) -> String {
    let mut body = format!(
        "{}\n**Agentless** failed on this issue ({}).\n\n{}\n",
        marker(run.issue.number),
        run.run_link(),
        fenced("text", &shorten(&error.to_string(), MAX_SECTION_CHARS / 5))
    );
    if let Some(permission) = error.missing_permission() {
        let _ = write!(
            body,
            "\nThe workflow's token lacks the **`{permission}`** permission. Grant it in the workflow:\n\n{}\n",
            fenced("yaml", &format!("permissions:\n  {permission}"))
        );
    }
    if let Some(patch) = patch {
        let _ = write!(
            body,
            "\n<details><summary>The patch it found</summary>\n\n{}\n</details>\n",
            fenced("diff", &shorten(patch, MAX_SECTION_CHARS))
        );
    }
    body
}

pub fn pull_request_title(issue: &TriggeredIssue) -> String {
    format!("Fix #{}: {}", issue.number, issue.title)
}

pub fn pull_request_body(run: &RunInfo<'_>, report_markdown: &str, cost: f64) -> String {
    format!(
        "{}\nFixes #{}\n\nThis draft was written by **Agentless** ({}; cost ${cost:.4}). Review it as you would any \
         contribution; re-running Agentless on the issue replaces this branch.\n\n---\n\n{}\n",
        marker(run.issue.number),
        run.issue.number,
        run.run_link(),
        shorten(report_markdown.trim(), MAX_SECTION_CHARS)
    )
}

/// The step summary of a run that ended: a headline, then the pipeline's report when there is one.
pub fn step_summary(run: &RunInfo<'_>, headline: &str, report_markdown: Option<&str>) -> String {
    let mut summary = format!("## Agentless on issue #{}: {}\n\n{headline}\n", run.issue.number, run.issue.title);
    if let Some(report) = report_markdown {
        let _ = write!(summary, "\n{}\n", report.trim());
    }
    summary
}

/// The text the pipeline works from: title, body, then the discussion. The bot's own comments are left out, and
/// a trigger comment contributes only what follows the trigger phrase.
pub fn issue_text(issue: &TriggeredIssue, comments: &[IssueComment], trigger: &str) -> String {
    let mut text = format!("{}\n\n{}\n", issue.title.trim(), issue.body.trim());
    let discussion = discussion(comments, trigger);
    if !discussion.is_empty() {
        let _ = write!(text, "\n## Comments\n{discussion}");
    }
    text
}

/// What is added to the issue text when a run revises pull request `pull_number`: the discussion on it, by the
/// rules of [`issue_text`] (the trigger comment that asked for the run is part of it).
pub fn revision_notes(pull_number: u64, comments: &[IssueComment], trigger: &str) -> String {
    let discussion = discussion(comments, trigger);
    if discussion.is_empty() {
        return String::new();
    }
    format!("\n## Review of an earlier proposed fix (pull request #{pull_number})\n{discussion}")
}

/// Comments as `### @author on date` sections, leaving out the bot's own and empty ones.
fn discussion(comments: &[IssueComment], trigger: &str) -> String {
    let mut discussion = String::new();
    for comment in comments {
        let body = comment.body.as_deref().unwrap_or("").trim();
        if body.starts_with(MARKER_PREFIX) {
            continue;
        }
        let body = body.strip_prefix(trigger).map_or(body, str::trim);
        if body.is_empty() {
            continue;
        }
        let author = comment.user.as_ref().map_or("someone", |user| user.login.as_str());
        match &comment.created_at {
            Some(at) => {
                let _ = write!(discussion, "\n### @{author} on {at}\n\n{body}\n");
            }
            None => {
                let _ = write!(discussion, "\n### @{author}\n\n{body}\n");
            }
        }
    }
    discussion
}

/// `text` in a code fence longer than any run of backticks inside it.
fn fenced(language: &str, text: &str) -> String {
    let longest = text.split(|character| character != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{language}\n{}\n{fence}", text.trim_end_matches('\n'))
}

/// `markdown` cut at a line boundary to at most `limit` characters, with an unclosed code fence closed and a note.
fn shorten(markdown: &str, limit: usize) -> String {
    if markdown.chars().count() <= limit {
        return markdown.to_owned();
    }
    let mut kept = String::new();
    let mut open_fence = false;
    for line in markdown.lines() {
        if kept.chars().count() + line.chars().count() + 1 > limit {
            break;
        }
        if line.trim_start().starts_with("```") {
            open_fence = !open_fence;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    if open_fence {
        kept.push_str("```\n");
    }
    kept.push_str("\n*(cut short; the full text is in the run's artifact)*");
    kept
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn fences_outgrow_the_backticks_inside() {
        assert_eq!(fenced("diff", "+x = 1\n"), "```diff\n+x = 1\n```");
        assert_eq!(fenced("", "a ```` b"), "`````\na ```` b\n`````");
    }

    #[test]
    fn shortening_closes_an_open_fence() {
        let text = format!("intro\n```diff\n{}```\n", "+line\n".repeat(100));
        let short = shorten(&text, 60);
        assert!(short.chars().count() < 130, "{short}");
        insta::assert_snapshot!(short, @r#"
        intro
        ```diff
        +line
        +line
        +line
        +line
        +line
        +line
        +line
        ```

        *(cut short; the full text is in the run's artifact)*
    "#);
    }
}
