//! Reading *SEARCH/REPLACE* edits out of a model answer, leniently: any or no code fences, CRLF, `### path` or a
//! bare path line, an edit without a path inherits the previous edit's, exact repeats removed.

use serde::{Deserialize, Serialize};

const SEARCH_MARKER: &str = "<<<<<<< SEARCH";
const DIVIDER: &str = "=======";
const REPLACE_MARKER: &str = ">>>>>>> REPLACE";

/// One edit as the model wrote it. `search` and `replace` are the lines between the markers, without line
/// terminators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchReplace {
    /// The file named above the edit (or inherited from the edit before it); `None` when no edit named one.
    pub path: Option<String>,
    pub search: Vec<String>,
    pub replace: Vec<String>,
}

/// Where the scan is inside an edit.
enum State {
    /// Between edits; `candidate` is the last line that could name a file.
    Outside {
        candidate: Option<String>,
    },
    Search {
        path: Option<String>,
        search: Vec<String>,
    },
    Replace {
        path: Option<String>,
        search: Vec<String>,
        replace: Vec<String>,
    },
}

/// Every complete edit of `answer`, in order, exact repeats (same path, search and replace) removed. An edit cut
/// off before its `>>>>>>> REPLACE` line (an answer that ran out of tokens) is dropped.
pub fn parse_edits(answer: &str) -> Vec<SearchReplace> {
    let text = answer.replace("\r\n", "\n").replace('\r', "\n");
    let mut edits: Vec<SearchReplace> = Vec::new();
    let mut last_path: Option<String> = None;
    let mut state = State::Outside { candidate: None };
    for line in text.split('\n') {
        state = match state {
            State::Outside { candidate } => {
                if is_marker(line, SEARCH_MARKER) {
                    let path = candidate.or_else(|| last_path.clone());
                    State::Search { path, search: Vec::new() }
                } else if line.trim().is_empty() || is_fence(line) {
                    State::Outside { candidate }
                } else {
                    State::Outside { candidate: path_in(line) }
                }
            }
            State::Search { path, mut search } => {
                if line.trim_end() == DIVIDER {
                    State::Replace { path, search, replace: Vec::new() }
                } else {
                    search.push(line.to_owned());
                    State::Search { path, search }
                }
            }
            State::Replace { path, search, mut replace } => {
                if is_marker(line, REPLACE_MARKER) {
                    last_path.clone_from(&path);
                    let edit = SearchReplace { path, search, replace };
                    if !edits.contains(&edit) {
                        edits.push(edit);
                    }
                    State::Outside { candidate: None }
                } else {
                    replace.push(line.to_owned());
                    State::Replace { path, search, replace }
                }
            }
        };
    }
    edits
}

/// A marker line, allowing surrounding spaces and a marker of 5 to 9 angle brackets.
fn is_marker(line: &str, marker: &str) -> bool {
    let line = line.trim();
    let Some((brackets, word)) = marker.split_once(' ') else { return false };
    let Some(bracket) = brackets.chars().next() else { return false };
    let run = line.chars().take_while(|&c| c == bracket).count();
    (5..=9).contains(&run) && line[run..].trim() == word
}

fn is_fence(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("```") || line.starts_with("~~~")
}

/// The file a line names, if it looks like a path line: `### a/b.py`, `# a/b.py`, `a/b.py`, `**a/b.py**`,
/// `` `a/b.py` ``, `File: a/b.py`, with a trailing `:` allowed. A bare line must contain a `.` or a `/`.
fn path_in(line: &str) -> Option<String> {
    let trimmed = line.trim();
    let hashes = trimmed.starts_with('#');
    let mut name = trimmed.trim_start_matches('#').trim();
    for prefix in ["File:", "file:", "Filename:", "filename:", "Path:", "path:"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest.trim();
        }
    }
    let name = name.trim_end_matches(':').trim_matches(|c| matches!(c, '*' | '`' | '"' | '\'')).trim();
    let plausible = !name.is_empty()
        && !name.contains(char::is_whitespace)
        && (hashes || name.contains('.') || name.contains('/'))
        && name.chars().any(char::is_alphanumeric);
    plausible.then(|| name.strip_prefix("./").unwrap_or(name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn fenced_edits_with_headers() {
        let answer = "The bug is in `f`.\n\n```python\n### pkg/a.py\n<<<<<<< SEARCH\n    return x\n=======\n    return x + 1\n>>>>>>> REPLACE\n```\n";
        let edits = parse_edits(answer);
        assert_eq!(
            edits,
            [SearchReplace {
                path: Some("pkg/a.py".into()),
                search: lines("    return x"),
                replace: lines("    return x + 1")
            }]
        );
    }

    #[test]
    fn missing_fences_crlf_and_bare_path_lines() {
        let answer = "pkg/a.py\r\n<<<<<<< SEARCH\r\na = 1\r\n=======\r\na = 2\r\n>>>>>>> REPLACE\r\n";
        let edits = parse_edits(answer);
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].path.as_deref(), Some("pkg/a.py"));
        assert_eq!(edits[0].search, ["a = 1"]);
        assert_eq!(edits[0].replace, ["a = 2"]);
    }

    #[test]
    fn an_edit_without_a_path_inherits_the_previous_one_across_fences() {
        let answer = "```python\n### a.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n\n<<<<<<< SEARCH\nz\n=======\nw\n>>>>>>> REPLACE\n```\nand\n```\n<<<<<<< SEARCH\nq\n=======\nr\n>>>>>>> REPLACE\n```\n";
        let paths: Vec<Option<String>> = parse_edits(answer).into_iter().map(|edit| edit.path).collect();
        assert_eq!(paths, [Some("a.py".into()), Some("a.py".into()), Some("a.py".into())]);
    }

    #[test]
    fn the_path_line_may_sit_above_the_fence() {
        let answer = "**src/b.py**\n```python\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n";
        assert_eq!(parse_edits(answer)[0].path.as_deref(), Some("src/b.py"));
    }

    #[test]
    fn prose_is_not_a_path_and_nothing_is_inherited_without_a_first_path() {
        let answer = "Here is the fix:\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n";
        assert_eq!(parse_edits(answer)[0].path, None);
    }

    #[test]
    fn repeats_are_removed_and_multi_file_edits_kept() {
        let edit = "### a.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n";
        let other = "### b.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n";
        let answer = format!("```python\n{edit}{edit}{other}```\n```python\n{edit}```");
        let paths: Vec<Option<String>> = parse_edits(&answer).into_iter().map(|edit| edit.path).collect();
        assert_eq!(paths, [Some("a.py".into()), Some("b.py".into())]);
    }

    #[test]
    fn truncated_edits_are_dropped_and_empty_sides_kept() {
        let answer = "### a.py\n<<<<<<< SEARCH\nx\n=======\n>>>>>>> REPLACE\n### a.py\n<<<<<<< SEARCH\ny\n=======\nz\n";
        let edits = parse_edits(answer);
        assert_eq!(edits.len(), 1);
        assert!(edits[0].replace.is_empty());
    }

    #[test]
    fn fences_inside_the_code_are_content() {
        let answer =
            "### a.py\n<<<<<<< SEARCH\n    \"\"\"\n    ```\n=======\n    \"\"\"\n    ```python\n>>>>>>> REPLACE\n";
        let edits = parse_edits(answer);
        assert_eq!(edits[0].search, ["    \"\"\"", "    ```"]);
        assert_eq!(edits[0].replace, ["    \"\"\"", "    ```python"]);
    }
}
