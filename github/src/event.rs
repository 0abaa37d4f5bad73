//! The event payload and the decision it leads to: run on an issue, or skip with a one-line reason.

use std::path::Path;

use crate::error::ActionError;

/// The parts of an `issues` or `issue_comment` payload the bot reads.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
pub struct EventPayload {
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub label: Option<Label>,
    #[serde(default)]
    pub issue: Option<Issue>,
    #[serde(default)]
    pub comment: Option<Comment>,
    #[serde(default)]
    pub repository: Option<Repository>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Label {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    /// Present when the "issue" is a pull request.
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Comment {
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub author_association: Option<String>,
    #[serde(default)]
    pub user: Option<crate::api::User>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Repository {
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// Authors whose trigger comments start a run.
pub const TRUSTED_ASSOCIATIONS: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];
/// The base branch when the payload does not name the default branch.
const FALLBACK_BASE_BRANCH: &str = "main";

/// The issue a run is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggeredIssue {
    pub number: u64,
    pub title: String,
    pub body: String,
    /// The pull request's base: the repository's default branch.
    pub base_branch: String,
    /// What started the run, for the logs: `label agentless`, `comment by @octocat`.
    pub cause: String,
    /// The bot's own pull request this run revises, when a trigger comment on it started the run.
    pub revision_of: Option<u64>,
}

/// A trigger comment on a pull request: a run again on the pull request's issue, with the notes added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionRequest {
    pub pull_number: u64,
    /// What the comment says after the trigger phrase (may be empty).
    pub note: String,
    pub cause: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Run(TriggeredIssue),
    Revise(RevisionRequest),
    Skip { reason: String },
}

impl EventPayload {
    pub fn read(path: &Path) -> Result<Self, ActionError> {
        let text = fs_err::read_to_string(path).map_err(ActionError::ReadEvent)?;
        serde_json::from_str(&text).map_err(|source| ActionError::ParseEvent { path: path.to_owned(), source })
    }

    /// Whether `event_name` with this payload starts a run: an issue labelled `label`, or a new comment starting
    /// with `trigger` by an owner, member or collaborator. Such a comment on a pull request asks for a revision
    /// ([`Decision::Revise`]); whether the pull request is the bot's is for the caller to check, with the API.
    pub fn decide(&self, event_name: &str, label: &str, trigger: &str) -> Decision {
        let skip = |reason: String| Decision::Skip { reason };
        let action = self.action.as_deref().unwrap_or("");
        let Some(issue) = &self.issue else {
            return skip(format!("the `{event_name}` event carries no issue"));
        };
        let cause = match event_name {
            "issues" => {
                if issue.pull_request.is_some() {
                    return skip(format!("#{} is a pull request, not an issue", issue.number));
                }
                if action != "labeled" {
                    return skip(format!("`issues` event with action `{action}`, not `labeled`"));
                }
                let added = self.label.as_ref().map_or("", |added| added.name.as_str());
                if !added.eq_ignore_ascii_case(label) {
                    return skip(format!("label `{added}` was added, not `{label}`"));
                }
                format!("label {label}")
            }
            "issue_comment" => {
                if action != "created" {
                    return skip(format!("`issue_comment` event with action `{action}`, not `created`"));
                }
                let Some(comment) = &self.comment else {
                    return skip("the `issue_comment` event carries no comment".to_owned());
                };
                let body = comment.body.as_deref().unwrap_or("").trim_start();
                let Some(note) = body.strip_prefix(trigger) else {
                    return skip(format!("the comment does not start with `{trigger}`"));
                };
                let author = comment.user.as_ref().map_or("someone", |user| user.login.as_str());
                let association = comment.author_association.as_deref().unwrap_or("NONE");
                if !TRUSTED_ASSOCIATIONS.contains(&association) {
                    return skip(format!(
                        "@{author} is {association}, not an owner, member or collaborator of the repository"
                    ));
                }
                if issue.pull_request.is_some() {
                    return Decision::Revise(RevisionRequest {
                        pull_number: issue.number,
                        note: note.trim().to_owned(),
                        cause: format!("comment by @{author} on pull request #{}", issue.number),
                    });
                }
                format!("comment by @{author}")
            }
            other => return skip(format!("the `{other}` event does not start a run")),
        };
        Decision::Run(TriggeredIssue {
            number: issue.number,
            title: issue.title.clone(),
            body: issue.body.clone().unwrap_or_default(),
            base_branch: self.default_branch(),
            cause,
            revision_of: None,
        })
    }

    /// The repository's default branch as the payload names it.
    pub fn default_branch(&self) -> String {
        self.repository
            .as_ref()
            .and_then(|repository| repository.default_branch.clone())
            .unwrap_or_else(|| FALLBACK_BASE_BRANCH.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    fn payload(value: serde_json::Value) -> EventPayload {
        serde_json::from_value(value).unwrap()
    }

    fn issue() -> serde_json::Value {
        json!({ "number": 7, "title": "add() subtracts", "body": "2 + 2 is 0" })
    }

    fn comment_event(body: &str, association: &str) -> EventPayload {
        payload(json!({
            "action": "created",
            "issue": issue(),
            "comment": { "body": body, "author_association": association, "user": { "login": "octocat" } },
            "repository": { "default_branch": "trunk" },
        }))
    }

    fn reason(decision: Decision) -> String {
        match decision {
            Decision::Skip { reason } => reason,
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn the_label_starts_a_run() {
        let event = payload(json!({ "action": "labeled", "label": { "name": "Agentless" }, "issue": issue() }));
        assert_eq!(
            event.decide("issues", "agentless", "/agentless"),
            Decision::Run(TriggeredIssue {
                number: 7,
                title: "add() subtracts".to_owned(),
                body: "2 + 2 is 0".to_owned(),
                base_branch: "main".to_owned(),
                cause: "label agentless".to_owned(),
                revision_of: None,
            })
        );
    }

    #[test]
    fn a_member_comment_starts_a_run() {
        let Decision::Run(issue) =
            comment_event("  /agentless please", "MEMBER").decide("issue_comment", "x", "/agentless")
        else {
            panic!("expected a run");
        };
        assert_eq!((issue.cause.as_str(), issue.base_branch.as_str()), ("comment by @octocat", "trunk"));
    }

    #[test]
    fn a_member_comment_on_a_pull_request_asks_for_a_revision() {
        let mut event = comment_event("/agentless keep the old signature", "OWNER");
        event.issue.as_mut().unwrap().pull_request = Some(json!({ "url": "u" }));
        assert_eq!(
            event.decide("issue_comment", "agentless", "/agentless"),
            Decision::Revise(RevisionRequest {
                pull_number: 7,
                note: "keep the old signature".to_owned(),
                cause: "comment by @octocat on pull request #7".to_owned(),
            })
        );
        let mut untrusted = comment_event("/agentless do it", "NONE");
        untrusted.issue.as_mut().unwrap().pull_request = Some(json!({ "url": "u" }));
        assert!(matches!(untrusted.decide("issue_comment", "agentless", "/agentless"), Decision::Skip { .. }));
    }

    #[test]
    fn everything_else_is_skipped_with_a_reason() {
        let other_label = payload(json!({ "action": "labeled", "label": { "name": "bug" }, "issue": issue() }));
        let opened = payload(json!({ "action": "opened", "issue": issue() }));
        let on_pull = payload(json!({
            "action": "labeled",
            "label": { "name": "agentless" },
            "issue": { "number": 9, "title": "t", "pull_request": { "url": "u" } },
        }));
        let reasons = [
            reason(other_label.decide("issues", "agentless", "/agentless")),
            reason(opened.decide("issues", "agentless", "/agentless")),
            reason(comment_event("/agentless", "NONE").decide("issue_comment", "agentless", "/agentless")),
            reason(comment_event("/agentless", "CONTRIBUTOR").decide("issue_comment", "agentless", "/agentless")),
            reason(comment_event("please run /agentless", "OWNER").decide("issue_comment", "agentless", "/agentless")),
            reason(on_pull.decide("issues", "agentless", "/agentless")),
            reason(opened.decide("push", "agentless", "/agentless")),
            reason(EventPayload::default().decide("workflow_dispatch", "agentless", "/agentless")),
        ];
        insta::assert_snapshot!(reasons.join("\n"), @r#"
        label `bug` was added, not `agentless`
        `issues` event with action `opened`, not `labeled`
        @octocat is NONE, not an owner, member or collaborator of the repository
        @octocat is CONTRIBUTOR, not an owner, member or collaborator of the repository
        the comment does not start with `/agentless`
        #9 is a pull request, not an issue
        the `push` event does not start a run
        the `workflow_dispatch` event carries no issue
    "#);
    }
}
