//! Two predictions files compared instance by instance: the original's `all_preds.jsonl` against our
//! `predictions.jsonl`, over the instances we predicted.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::ReplayError;
use super::records::{PredictionRow, read_rows};

/// How our prediction of one instance compares with theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// The same files with the same removed and added lines, in order (diff headers, hunk positions and context
    /// lines aside: two tools' diffs of one change differ there).
    Same,
    Different,
    /// Their patch is empty, ours is not.
    OnlyOurs,
    /// Our patch is empty, theirs is not.
    OnlyTheirs,
    BothEmpty,
    /// Their file has no row for the instance.
    NotInTheirs,
}

impl Agreement {
    pub fn as_str(self) -> &'static str {
        match self {
            Agreement::Same => "same",
            Agreement::Different => "different",
            Agreement::OnlyOurs => "only ours",
            Agreement::OnlyTheirs => "only theirs",
            Agreement::BothEmpty => "both empty",
            Agreement::NotInTheirs => "not in theirs",
        }
    }
}

/// One instance's comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComparedInstance {
    pub instance_id: String,
    pub agreement: Agreement,
    /// The two patches are the same text.
    pub identical_text: bool,
    /// Removed and added lines of each side.
    pub ours_changed_lines: usize,
    pub theirs_changed_lines: usize,
}

/// A predictions file (JSON lines with `instance_id` and `model_patch`): each instance's patch, `None` when it
/// is empty or `null`.
pub fn read_predictions(path: &Path) -> Result<BTreeMap<String, Option<String>>, ReplayError> {
    let rows: BTreeMap<String, PredictionRow> = read_rows(path, None)?;
    Ok(rows.into_iter().map(|(id, row)| (id, row.model_patch.filter(|patch| !patch.trim().is_empty()))).collect())
}

/// Every instance of `ours` against `theirs`, in id order.
pub fn compare_predictions(
    ours: &BTreeMap<String, Option<String>>,
    theirs: &BTreeMap<String, Option<String>>,
) -> Vec<ComparedInstance> {
    ours.iter()
        .map(|(instance_id, our_patch)| {
            let their_patch = theirs.get(instance_id);
            let ours_changes = our_patch.as_deref().map(changed_lines).unwrap_or_default();
            let theirs_changes = their_patch.and_then(Option::as_deref).map(changed_lines).unwrap_or_default();
            let agreement = match (our_patch, their_patch) {
                (_, None) => Agreement::NotInTheirs,
                (None, Some(None)) => Agreement::BothEmpty,
                (Some(_), Some(None)) => Agreement::OnlyOurs,
                (None, Some(Some(_))) => Agreement::OnlyTheirs,
                (Some(_), Some(Some(_))) if ours_changes == theirs_changes => Agreement::Same,
                (Some(_), Some(Some(_))) => Agreement::Different,
            };
            ComparedInstance {
                instance_id: instance_id.clone(),
                agreement,
                identical_text: their_patch.is_some_and(|theirs| theirs == our_patch),
                ours_changed_lines: ours_changes.len(),
                theirs_changed_lines: theirs_changes.len(),
            }
        })
        .collect()
}

/// The removed and added lines of a unified diff, each with the file it belongs to (headers, hunk headers and
/// context lines left out).
fn changed_lines(patch: &str) -> Vec<(String, String)> {
    let mut file = String::new();
    let mut changes = Vec::new();
    for line in patch.lines() {
        if let Some(path) = line.strip_prefix("diff --git ") {
            file = path.rsplit_once(" b/").map_or(path, |(_, new)| new).to_owned();
        } else if let Some(path) = line.strip_prefix("+++ ") {
            let path = path.split('\t').next().unwrap_or(path);
            if path != "/dev/null" {
                file = path.strip_prefix("b/").unwrap_or(path).to_owned();
            }
        } else if line.starts_with("--- ") || line.starts_with("@@") || line.starts_with("index ") {
            continue;
        } else if line.starts_with(['+', '-']) {
            changes.push((file.clone(), line.to_owned()));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    const GIT: &str = "diff --git a/pkg/money.py b/pkg/money.py\nindex 1234567..89abcde 100644\n--- a/pkg/money.py\n+++ b/pkg/money.py\n@@ -10,3 +10,3 @@ class Money:\n     def rounded(self):\n-        return x\n+        return y\n";
    const OURS: &str = "--- a/pkg/money.py\n+++ b/pkg/money.py\n@@ -9,4 +9,4 @@\n \n     def rounded(self):\n-        return x\n+        return y\n";

    fn predictions(rows: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        rows.iter().map(|(id, patch)| ((*id).to_owned(), patch.map(str::to_owned))).collect()
    }

    #[test]
    fn the_same_change_from_two_diff_tools_is_the_same() {
        assert_eq!(changed_lines(GIT), changed_lines(OURS));
        assert_eq!(changed_lines(GIT).len(), 2);
        let moved = OURS.replace("return y", "return z");
        assert_ne!(changed_lines(GIT), changed_lines(&moved));
        let other_file = OURS.replace("pkg/money.py", "pkg/tax.py");
        assert_ne!(changed_lines(GIT), changed_lines(&other_file));
    }

    #[test]
    fn every_instance_of_ours_is_compared_with_theirs() {
        let ours = predictions(&[
            ("a", Some(OURS)),
            ("b", Some(OURS)),
            ("c", None),
            ("d", Some(OURS)),
            ("e", None),
            ("f", Some(GIT)),
        ]);
        let other = OURS.replace("return y", "return z");
        let theirs = predictions(&[
            ("a", Some(GIT)),
            ("b", Some(&other)),
            ("c", Some(GIT)),
            ("d", None),
            ("e", None),
            ("f", Some(GIT)),
            ("z", Some(GIT)),
        ]);
        let compared: Vec<(String, Agreement, bool)> = compare_predictions(&ours, &theirs)
            .into_iter()
            .map(|row| (row.instance_id, row.agreement, row.identical_text))
            .collect();
        let expected = [
            ("a", Agreement::Same, false),
            ("b", Agreement::Different, false),
            ("c", Agreement::OnlyTheirs, false),
            ("d", Agreement::OnlyOurs, false),
            ("e", Agreement::BothEmpty, true),
            ("f", Agreement::Same, true),
        ];
        assert_eq!(compared, expected.map(|(id, agreement, identical)| (id.to_owned(), agreement, identical)));
        let missing = compare_predictions(&predictions(&[("y", Some(OURS))]), &theirs);
        assert_eq!(missing[0].agreement, Agreement::NotInTheirs);
    }
}
