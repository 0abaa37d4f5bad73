//! One model answer turned into a candidate patch: edits parsed, paths checked, applied inside the shown code,
//! syntax-gated, diffed and normalized; or the reason it was thrown away.

use std::collections::BTreeMap;
use std::path::Path;

use agentless_candidate::Patch;
use agentless_syntax::normalize::{is_just_new_function, normalize_python};
use agentless_syntax::syntax_error_count;
use serde::{Deserialize, Serialize};

use crate::apply::{MatchRule, apply_edits, apply_matching_edits};
use crate::context::RepairContext;
use crate::diff::{FileChange, file_diff, unified_diff};
use crate::edits::{SearchReplace, parse_edits};

/// What became of a sample. Only `Ok` candidates carry a `model_patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateStatus {
    /// A patch that applies, parses and changes more than whitespace.
    Ok,
    /// No answer: the location sample showed no code (no request was sent), or the model answered nothing.
    Empty,
    /// The answer holds no complete *SEARCH/REPLACE* edit.
    NoEdits,
    /// A SEARCH block matches nothing in the shown code (with [`UnmatchedEdits::RejectSample`]), or no edit
    /// matches (with [`UnmatchedEdits::Skip`]).
    SearchNotFound,
    /// Every edited file was not shown, or (with [`UnmatchedEdits::RejectSample`]) one was; or an edit names no
    /// file when several were shown.
    OutsideContext,
    /// An edit names a path outside the repository.
    EscapesRepo,
    /// An edited Python file does not parse ([`SyntaxGate::EveryFileParses`]) or has more syntax errors than
    /// before ([`SyntaxGate::NoNewErrors`]).
    SyntaxError,
    /// The edits change nothing but blank lines and trailing whitespace.
    WhitespaceOnly,
}

impl CandidateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateStatus::Ok => "ok",
            CandidateStatus::Empty => "empty",
            CandidateStatus::NoEdits => "no_edits",
            CandidateStatus::SearchNotFound => "search_not_found",
            CandidateStatus::OutsideContext => "outside_context",
            CandidateStatus::EscapesRepo => "escapes_repo",
            CandidateStatus::SyntaxError => "syntax_error",
            CandidateStatus::WhitespaceOnly => "whitespace_only",
        }
    }
}

/// How an answer's edits are applied and gated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EditRules {
    pub unmatched: UnmatchedEdits,
    pub syntax: SyntaxGate,
}

/// What an edit whose SEARCH lines are not in the shown code does to its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedEdits {
    /// The edit is skipped and the others are applied, as the original's `parse_diff_edit_commands`; so are the
    /// edits of a file that was not shown.
    #[default]
    Skip,
    /// The whole answer is thrown away: a stricter reading that keeps only answers applied in full.
    RejectSample,
}

/// When an edited Python file is syntactically acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyntaxGate {
    /// Every edited file parses without an ERROR or MISSING node and is not blank, as the original's
    /// `check_syntax` (which runs `ast.parse` on every new file) requires. tree-sitter stands in for `ast`.
    #[default]
    EveryFileParses,
    /// The edit adds no ERROR or MISSING node: a file tree-sitter already flags (grammar gaps, Python 2 files)
    /// can still be edited.
    NoNewErrors,
}

/// The outcome of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub status: CandidateStatus,
    /// Why the candidate was thrown away; for a kept one, the edits that were skipped (`None` if none).
    pub detail: Option<String>,
    /// The files the edits changed, sorted.
    pub edited_files: Vec<String>,
    /// The diff of the edited files, when the edits applied (also for `syntax_error` and `whitespace_only`).
    pub raw_patch: Option<Patch>,
    /// `raw_patch` when the status is `Ok`.
    pub model_patch: Option<Patch>,
    /// The diff of the normalized files, when the status is `Ok` and normalizing leaves a change (a change to
    /// comments only leaves none).
    pub normalized_patch: Option<Patch>,
    /// Per applied edit, in order, the rule that matched it.
    pub match_rules: Vec<MatchRule>,
}

impl Evaluation {
    fn rejected(status: CandidateStatus, detail: String) -> Self {
        Self {
            status,
            detail: Some(detail),
            edited_files: Vec::new(),
            raw_patch: None,
            model_patch: None,
            normalized_patch: None,
            match_rules: Vec::new(),
        }
    }
}

/// Evaluates one answer against the code it was shown, with the original's [`EditRules`]. `repo_root`, when the
/// snapshot is on disk, lets paths that pass through a symlink to outside the repository be recognised.
pub fn evaluate_answer(answer: &str, context: &RepairContext, repo_root: Option<&Path>) -> Evaluation {
    evaluate_answer_with(answer, context, repo_root, &EditRules::default())
}

/// [`evaluate_answer`] with the given rules.
pub fn evaluate_answer_with(
    answer: &str,
    context: &RepairContext,
    repo_root: Option<&Path>,
    rules: &EditRules,
) -> Evaluation {
    if answer.trim().is_empty() {
        return Evaluation::rejected(CandidateStatus::Empty, "the model answered nothing".to_owned());
    }
    let edits = parse_edits(answer);
    if edits.is_empty() {
        return Evaluation::rejected(CandidateStatus::NoEdits, "no complete SEARCH/REPLACE edit".to_owned());
    }
    let (by_file, mut skipped) = match edits_by_file(&edits, context, repo_root, rules.unmatched) {
        Ok(found) => found,
        Err(rejected) => return *rejected,
    };
    let mut changed: Vec<(String, String, String)> = Vec::new();
    let mut match_rules = Vec::new();
    for (path, file_edits) in &by_file {
        let Some(shown) = context.file(path) else {
            return Evaluation::rejected(CandidateStatus::OutsideContext, format!("`{path}` was not shown"));
        };
        let pairs: Vec<(&[String], &[String])> =
            file_edits.iter().map(|edit| (edit.search.as_slice(), edit.replace.as_slice())).collect();
        let old = shown.source.text();
        let applied = match rules.unmatched {
            UnmatchedEdits::RejectSample => match apply_edits(old, &shown.line_ranges(), &pairs) {
                Ok(applied) => applied,
                Err(error) => {
                    return Evaluation::rejected(CandidateStatus::SearchNotFound, format!("`{path}`: {error}"));
                }
            },
            UnmatchedEdits::Skip => {
                let (applied, errors) = apply_matching_edits(old, &shown.line_ranges(), &pairs);
                skipped.extend(errors.into_iter().map(|error| format!("`{path}`: {error}")));
                applied
            }
        };
        match_rules.extend(applied.rules);
        if applied.text != old {
            changed.push((path.clone(), old.to_owned(), applied.text));
        }
    }
    if changed.is_empty() && !skipped.is_empty() {
        return Evaluation::rejected(CandidateStatus::SearchNotFound, skipped.join("; "));
    }
    let edited_files: Vec<String> = changed.iter().map(|(path, _, _)| path.clone()).collect();
    let changes: Vec<FileChange<'_>> =
        changed.iter().map(|(path, old, new)| FileChange { path, old: Some(old), new: Some(new) }).collect();
    let raw_patch = Patch::new(unified_diff(&changes));
    let mut evaluation = Evaluation {
        status: CandidateStatus::Ok,
        detail: (!skipped.is_empty()).then(|| format!("skipped {}", skipped.join("; "))),
        edited_files,
        raw_patch,
        model_patch: None,
        normalized_patch: None,
        match_rules,
    };
    let syntax_problem = match rules.syntax {
        SyntaxGate::EveryFileParses => unparsable_file(&changed),
        SyntaxGate::NoNewErrors => new_syntax_errors(&changed),
    };
    if let Some(detail) = syntax_problem {
        evaluation.status = CandidateStatus::SyntaxError;
        evaluation.detail = Some(detail);
    } else if changed.iter().all(|(_, old, new)| differs_only_in_whitespace(old, new)) {
        evaluation.status = CandidateStatus::WhitespaceOnly;
        evaluation.detail = Some("the edits change only blank lines or trailing whitespace".to_owned());
    } else {
        evaluation.model_patch = evaluation.raw_patch.clone();
        evaluation.normalized_patch = normalized_patch(&changed);
    }
    evaluation
}

/// Edits by the (cleaned) file they name, files sorted.
type EditsByFile<'e> = BTreeMap<String, Vec<&'e SearchReplace>>;

/// The edits grouped by the (cleaned) file they name, files sorted, and the files skipped because they were not
/// shown; or the rejection of the whole answer.
fn edits_by_file<'e>(
    edits: &'e [SearchReplace],
    context: &RepairContext,
    repo_root: Option<&Path>,
    unmatched: UnmatchedEdits,
) -> Result<(EditsByFile<'e>, Vec<String>), Box<Evaluation>> {
    let mut by_file: EditsByFile<'e> = BTreeMap::new();
    let mut unnamed = Vec::new();
    for (index, edit) in edits.iter().enumerate() {
        let Some(path) = &edit.path else {
            unnamed.push(index);
            continue;
        };
        if escapes_repo(path, repo_root) {
            return Err(Box::new(Evaluation::rejected(
                CandidateStatus::EscapesRepo,
                format!("edit {index} names `{path}`, outside the repository"),
            )));
        }
        by_file.entry(clean_path(path)).or_default().push(edit);
    }
    if let Some(&index) = unnamed.first() {
        let [only] = context.files.as_slice() else {
            return Err(Box::new(Evaluation::rejected(
                CandidateStatus::OutsideContext,
                format!("edit {index} names no file and {} files were shown", context.files.len()),
            )));
        };
        let unnamed_edits = edits.iter().filter(|edit| edit.path.is_none());
        by_file.entry(only.path.clone()).or_default().extend(unnamed_edits);
    }
    let not_shown: Vec<String> = by_file.keys().filter(|path| context.file(path).is_none()).cloned().collect();
    if let Some(path) = not_shown.first()
        && (unmatched == UnmatchedEdits::RejectSample || not_shown.len() == by_file.len())
    {
        return Err(Box::new(Evaluation::rejected(CandidateStatus::OutsideContext, format!("`{path}` was not shown"))));
    }
    // The original skips a file it did not show (a `KeyError` caught per file) and edits the others.
    let mut skipped = Vec::new();
    for path in not_shown {
        by_file.remove(&path);
        skipped.push(format!("`{path}`: not shown"));
    }
    Ok((by_file, skipped))
}

/// `./a//b/./c.py` → `a/b/c.py`.
fn clean_path(path: &str) -> String {
    path.split('/').filter(|part| !part.is_empty() && *part != ".").collect::<Vec<_>>().join("/")
}

/// An absolute path, a `..` component, or a component of the checkout that is a symlink leading outside it.
fn escapes_repo(path: &str, repo_root: Option<&Path>) -> bool {
    let bytes = path.as_bytes();
    let absolute = path.starts_with(['/', '\\', '~']) || (bytes.len() > 1 && bytes[1] == b':');
    if absolute || path.split(['/', '\\']).any(|part| part == "..") {
        return true;
    }
    let Some(root) = repo_root else { return false };
    let Ok(canonical_root) = fs_err::canonicalize(root) else { return false };
    let mut prefix = root.to_path_buf();
    for part in clean_path(path).split('/') {
        prefix.push(part);
        let is_symlink = fs_err::symlink_metadata(&prefix).is_ok_and(|metadata| metadata.file_type().is_symlink());
        if is_symlink {
            return !fs_err::canonicalize(&prefix).is_ok_and(|target| target.starts_with(&canonical_root));
        }
    }
    false
}

/// The first Python file that is blank or does not parse after the edit, described.
fn unparsable_file(changed: &[(String, String, String)]) -> Option<String> {
    changed.iter().filter(|(path, _, _)| path.ends_with(".py")).find_map(|(path, _, new)| {
        if new.trim().is_empty() {
            return Some(format!("`{path}` is empty after the edit"));
        }
        let errors = syntax_error_count(new);
        (errors > 0).then(|| format!("`{path}` does not parse after the edit ({errors} syntax error node(s))"))
    })
}

/// The first Python file whose edit adds ERROR or MISSING nodes, described.
fn new_syntax_errors(changed: &[(String, String, String)]) -> Option<String> {
    changed.iter().filter(|(path, _, _)| path.ends_with(".py")).find_map(|(path, old, new)| {
        let (before, after) = (syntax_error_count(old), syntax_error_count(new));
        (after > before).then(|| format!("`{path}` has {after} syntax error node(s) after the edit, {before} before"))
    })
}

/// Equal once blank lines and trailing whitespace are ignored (the original ignores blank lines only).
fn differs_only_in_whitespace(old: &str, new: &str) -> bool {
    let significant = |text: &str| -> Vec<String> {
        text.lines().map(str::trim_end).filter(|line| !line.is_empty()).map(str::to_owned).collect()
    };
    significant(old) == significant(new)
}

/// Agentless's `normalize_patch`: the diff of the normalized files; when a file's change only adds functions,
/// only its `+`/`-` lines are kept, so where they were inserted does not matter. `None` when normalizing leaves no
/// change.
pub fn normalized_patch(changed: &[(String, String, String)]) -> Option<Patch> {
    let mut out = String::new();
    for (path, old, new) in changed {
        let (old, new) = match path.ends_with(".py") {
            true => (normalize_python(old), normalize_python(new)),
            false => (old.clone(), new.clone()),
        };
        let diff = file_diff(&FileChange { path, old: Some(&old), new: Some(&new) });
        if path.ends_with(".py") && is_just_new_function(&old, &new) {
            for line in diff.lines().filter(|line| line.starts_with(['+', '-'])) {
                out.push_str(line);
                out.push('\n');
            }
        } else {
            out.push_str(&diff);
        }
    }
    Patch::new(out)
}

#[cfg(test)]
#[path = "candidate_tests.rs"]
mod tests;
