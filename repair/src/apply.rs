//! Applying *SEARCH/REPLACE* edits to one file, only inside the code the model was shown: an exact match first,
//! then one ignoring trailing whitespace, then one off by a uniform indentation (the REPLACE lines re-indented
//! to match). Every occurrence inside the shown spans is replaced, as the original's `str.replace` does.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// How an edit's SEARCH lines were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// Byte for byte (line terminators aside).
    Exact,
    /// Equal once trailing whitespace is removed from every line.
    TrailingWhitespace,
    /// Equal once a uniform indentation is added to (or removed from) every non-blank SEARCH line.
    Indentation,
    /// A SEARCH of just `...`: the REPLACE lines are inserted before a unique unindented line of the shown code.
    Ellipsis,
}

/// Why an edit could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("edit {edit}: the SEARCH block is empty")]
    EmptySearch { edit: usize },
    #[error("edit {edit}: the SEARCH lines are not in the shown code{}", elsewhere_note(*.elsewhere))]
    NotFound {
        edit: usize,
        /// The 1-based line where the SEARCH lines occur outside the shown spans, if they do.
        elsewhere: Option<usize>,
    },
}

fn elsewhere_note(elsewhere: Option<usize>) -> String {
    match elsewhere {
        Some(line) => format!(" (they occur at line {line}, which was not shown)"),
        None => String::new(),
    }
}

/// The edited text and, per edit, the rule that matched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub text: String,
    pub rules: Vec<MatchRule>,
}

/// One line of the file being edited: its text and its terminator (`\n`, `\r\n`, or empty at the end).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: String,
    ending: &'static str,
}

/// Applies `edits` (SEARCH lines, REPLACE lines) one after the other to `text`. `shown` are the 0-based,
/// half-open line ranges the model saw, sorted and disjoint; they follow the text as edits change it. The first edit
/// that cannot be applied fails the whole call.
pub fn apply_edits(
    text: &str,
    shown: &[Range<usize>],
    edits: &[(&[String], &[String])],
) -> Result<Applied, ApplyError> {
    let mut file = EditedFile::new(text, shown);
    let mut rules = Vec::with_capacity(edits.len());
    for (edit, &(search, replace)) in edits.iter().enumerate() {
        rules.push(file.apply(edit, search, replace)?);
    }
    Ok(Applied { text: file.text(), rules })
}

/// Like [`apply_edits`], but an edit that cannot be applied is skipped and the others still are, as the original's
/// `parse_diff_edit_commands` does. Returns the result of the applied edits and why each skipped one was skipped.
pub fn apply_matching_edits(
    text: &str,
    shown: &[Range<usize>],
    edits: &[(&[String], &[String])],
) -> (Applied, Vec<ApplyError>) {
    let mut file = EditedFile::new(text, shown);
    let mut rules = Vec::with_capacity(edits.len());
    let mut skipped = Vec::new();
    for (edit, &(search, replace)) in edits.iter().enumerate() {
        match file.apply(edit, search, replace) {
            Ok(rule) => rules.push(rule),
            Err(error) => skipped.push(error),
        }
    }
    (Applied { text: file.text(), rules }, skipped)
}

/// A file's lines while edits are applied, and the shown spans as they move.
struct EditedFile {
    lines: Vec<Line>,
    shown: Vec<Range<usize>>,
}

impl EditedFile {
    fn new(text: &str, shown: &[Range<usize>]) -> Self {
        let lines = split(text);
        let shown = shown.iter().map(|span| span.start.min(lines.len())..span.end.min(lines.len())).collect();
        Self { lines, shown }
    }

    fn text(&self) -> String {
        self.lines.iter().flat_map(|line| [line.text.as_str(), line.ending]).collect()
    }

    /// Applies edit number `edit`; on failure the file is unchanged.
    fn apply(&mut self, edit: usize, search: &[String], replace: &[String]) -> Result<MatchRule, ApplyError> {
        let (lines, shown) = (&mut self.lines, &mut self.shown);
        let (search, replace, ellipsis) = resolve_ellipsis(search, replace, lines, shown);
        if search.is_empty() {
            return Err(ApplyError::EmptySearch { edit });
        }
        let found =
            [MatchRule::Exact, MatchRule::TrailingWhitespace, MatchRule::Indentation].into_iter().find_map(|rule| {
                let matches = find_in_spans(lines, shown, &search, rule);
                (!matches.is_empty()).then_some((rule, matches))
            });
        let Some((rule, matches)) = found else {
            let elsewhere = [MatchRule::Exact, MatchRule::TrailingWhitespace, MatchRule::Indentation]
                .into_iter()
                .find_map(|rule| {
                    find_in_spans(lines, std::slice::from_ref(&(0..lines.len())), &search, rule)
                        .first()
                        .map(|m| m.start + 1)
                });
            return Err(ApplyError::NotFound { edit, elsewhere });
        };
        for found in matches.iter().rev() {
            let new_lines = replacement(&lines[found.start..found.start + search.len()], &replace, &found.reindent);
            let removed = search.len();
            let added = new_lines.len();
            lines.splice(found.start..found.start + removed, new_lines);
            for span in shown.iter_mut().skip(found.span) {
                if span.start > found.start {
                    span.start = span.start + added - removed;
                }
                span.end = span.end + added - removed;
            }
        }
        Ok(if ellipsis { MatchRule::Ellipsis } else { rule })
    }
}

fn split(text: &str) -> Vec<Line> {
    text.split_inclusive('\n')
        .map(|line| match line.strip_suffix("\r\n") {
            Some(text) => Line { text: text.to_owned(), ending: "\r\n" },
            None => match line.strip_suffix('\n') {
                Some(text) => Line { text: text.to_owned(), ending: "\n" },
                None => Line { text: line.to_owned(), ending: "" },
            },
        })
        .collect()
}

/// The original's handling of `...`: a leading `...` line is dropped from SEARCH and REPLACE; a SEARCH of just
/// `...` (with a REPLACE starting unindented) becomes the first unindented shown line that occurs once in the
/// file, and the REPLACE lines go before it after a blank line. Returns the SEARCH, the REPLACE and whether the
/// `...` anchor was used.
fn resolve_ellipsis(
    search: &[String],
    replace: &[String],
    lines: &[Line],
    shown: &[Range<usize>],
) -> (Vec<String>, Vec<String>, bool) {
    let mut replace = replace.to_vec();
    if replace.len() > 1 && replace[0] == "..." {
        replace.remove(0);
    }
    if search.len() == 1 && search[0] == "..." {
        let starts_unindented =
            replace.first().and_then(|line| line.chars().next()).is_some_and(|c| !c.is_whitespace());
        if starts_unindented {
            let whole: String = lines.iter().flat_map(|line| [line.text.as_str(), "\n"]).collect();
            let anchor = shown.iter().flat_map(|span| &lines[span.clone()]).find(|line| {
                line.text.chars().next().is_some_and(|c| !c.is_whitespace())
                    && whole.matches(line.text.as_str()).count() == 1
            });
            if let Some(anchor) = anchor {
                replace.extend([String::new(), anchor.text.clone()]);
                return (vec![anchor.text.clone()], replace, true);
            }
        }
        return (search.to_vec(), replace, false);
    }
    let search = match search.first() {
        Some(first) if first == "..." && search.len() > 1 => search[1..].to_vec(),
        Some(_) | None => search.to_vec(),
    };
    (search, replace, false)
}

/// One occurrence of the SEARCH lines: where it starts, in which span, and how to re-indent the REPLACE lines.
struct Found {
    start: usize,
    span: usize,
    reindent: Reindent,
}

#[derive(Clone, PartialEq, Eq)]
enum Reindent {
    Keep,
    /// Prefix every non-blank REPLACE line with this whitespace.
    Add(String),
    /// Remove this much leading whitespace from every REPLACE line.
    Remove(String),
}

/// Non-overlapping occurrences of `search` inside the spans under `rule`, first to last.
fn find_in_spans(lines: &[Line], shown: &[Range<usize>], search: &[String], rule: MatchRule) -> Vec<Found> {
    let mut found = Vec::new();
    for (index, span) in shown.iter().enumerate() {
        let mut start = span.start;
        while start + search.len() <= span.end {
            match matches_at(&lines[start..start + search.len()], search, rule) {
                Some(reindent) => {
                    found.push(Found { start, span: index, reindent });
                    start += search.len();
                }
                None => start += 1,
            }
        }
    }
    found
}

fn matches_at(window: &[Line], search: &[String], rule: MatchRule) -> Option<Reindent> {
    let pairs = || window.iter().map(|line| line.text.as_str()).zip(search.iter().map(String::as_str));
    match rule {
        MatchRule::Exact => pairs().all(|(file, search)| file == search).then_some(Reindent::Keep),
        MatchRule::TrailingWhitespace => {
            pairs().all(|(file, search)| file.trim_end() == search.trim_end()).then_some(Reindent::Keep)
        }
        MatchRule::Indentation => {
            let (file, search) = pairs().find(|(file, search)| !file.trim().is_empty() && !search.trim().is_empty())?;
            let file_indent = leading_whitespace(file);
            let search_indent = leading_whitespace(search);
            let reindent = if file_indent.len() > search_indent.len() {
                Reindent::Add(file_indent.strip_suffix(search_indent)?.to_owned())
            } else if file_indent.len() < search_indent.len() {
                Reindent::Remove(search_indent.strip_suffix(file_indent)?.to_owned())
            } else {
                return None;
            };
            let all_match = pairs().all(|(file, search)| match (file.trim().is_empty(), search.trim().is_empty()) {
                (true, true) => true,
                (false, false) => match &reindent {
                    Reindent::Add(prefix) => file.trim_end().strip_prefix(prefix.as_str()) == Some(search.trim_end()),
                    Reindent::Remove(prefix) => {
                        search.trim_end().strip_prefix(prefix.as_str()) == Some(file.trim_end())
                    }
                    Reindent::Keep => false,
                },
                (true, false) | (false, true) => false,
            });
            all_match.then_some(reindent)
        }
        MatchRule::Ellipsis => None,
    }
}

fn leading_whitespace(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// The REPLACE lines as file lines: re-indented, ending like the lines they replace (the last one keeps the
/// terminator of the last replaced line, so a file without a final newline stays without one).
fn replacement(replaced: &[Line], replace: &[String], reindent: &Reindent) -> Vec<Line> {
    let ending = match replaced.iter().any(|line| line.ending == "\r\n") {
        true => "\r\n",
        false => "\n",
    };
    let last_ending = replaced.last().map_or(ending, |line| line.ending);
    let count = replace.len();
    replace
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let text = match reindent {
                Reindent::Keep => line.clone(),
                Reindent::Add(_) | Reindent::Remove(_) if line.trim().is_empty() => line.clone(),
                Reindent::Add(prefix) => format!("{prefix}{line}"),
                Reindent::Remove(prefix) => match line.strip_prefix(prefix.as_str()) {
                    Some(rest) => rest.to_owned(),
                    None => line.trim_start().to_owned(),
                },
            };
            Line { text, ending: if index + 1 == count { last_ending } else { ending } }
        })
        .collect()
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
