//! Git-style unified diffs of whole files: `diff --git` headers, 3 lines of context, git's hunk headers (with the
//! enclosing-definition line git appends) and `\ No newline at end of file` markers, so `git apply` accepts them.

use similar::{Algorithm, DiffOp, capture_diff_slices, group_diff_ops};

/// Lines of unchanged context around each change, as `git diff` uses by default.
pub const CONTEXT_LINES: usize = 3;

/// The longest function-context text git appends to a hunk header, in bytes (xdiff's `func_line.buf`).
const FUNCTION_CONTEXT_BYTES: usize = 80;

/// One file's change. `None` on a side means the file does not exist there (a new or a deleted file); an empty
/// string is an existing empty file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileChange<'a> {
    /// Repository-relative, `/`-separated.
    pub path: &'a str,
    pub old: Option<&'a str>,
    pub new: Option<&'a str>,
}

/// The diffs of every change, concatenated in the order given. Unchanged files contribute nothing.
pub fn unified_diff(changes: &[FileChange<'_>]) -> String {
    changes.iter().map(file_diff).collect()
}

/// One file's diff, or an empty string when both sides are the same.
pub fn file_diff(change: &FileChange<'_>) -> String {
    if change.old == change.new {
        return String::new();
    }
    let path = change.path;
    let mut out = format!("diff --git a/{path} b/{path}\n");
    match (change.old, change.new) {
        (None, _) => out.push_str("new file mode 100644\n"),
        (_, None) => out.push_str("deleted file mode 100644\n"),
        (Some(_), Some(_)) => {}
    }
    let old_lines = split_lines(change.old.unwrap_or_default());
    let new_lines = split_lines(change.new.unwrap_or_default());
    if old_lines.is_empty() && new_lines.is_empty() {
        // A new or deleted empty file: git writes the header and no hunk.
        return out;
    }
    let old_name = match change.old {
        Some(_) => format!("a/{path}"),
        None => "/dev/null".to_owned(),
    };
    let new_name = match change.new {
        Some(_) => format!("b/{path}"),
        None => "/dev/null".to_owned(),
    };
    out.push_str(&format!("--- {old_name}\n+++ {new_name}\n"));
    let ops = capture_diff_slices(Algorithm::Myers, &old_lines, &new_lines);
    let mut function_context = FunctionContext { python: path.ends_with(".py"), ..FunctionContext::default() };
    for group in group_diff_ops(ops, CONTEXT_LINES) {
        render_hunk(&group, &old_lines, &new_lines, &mut function_context, &mut out);
    }
    out
}

/// Splits text into lines that keep their terminators (`\n` or `\r\n`); the last line may have none.
pub fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Git's search for the line naming the enclosing definition: backwards from the line before a hunk down to the
/// previous hunk's search start; when nothing is found there, the previous hunk's text is kept.
#[derive(Default)]
struct FunctionContext {
    /// Use git's `diff=python` rule (as GitHub and SWE-bench's gold patches do) instead of the default one.
    python: bool,
    text: String,
    searched_down_to: Option<usize>,
}

impl FunctionContext {
    fn before(&mut self, old_lines: &[&str], hunk_start: usize) -> &str {
        let stop = self.searched_down_to;
        let mut line = hunk_start;
        while line > 0 && Some(line - 1) != stop {
            line -= 1;
            let found = match self.python {
                true => python_function_line(old_lines[line]),
                false => function_line(old_lines[line]),
            };
            if let Some(text) = found {
                self.text = text;
                break;
            }
        }
        self.searched_down_to = hunk_start.checked_sub(1);
        &self.text
    }
}

/// xdiff's default rule: a line starting with a letter, `_` or `$`, cut to 80 bytes, trailing space removed.
fn function_line(line: &str) -> Option<String> {
    let first = line.bytes().next()?;
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b'$') {
        return None;
    }
    Some(cut(line))
}

/// Git's `python` rule, `^[ \t]*((class|(async[ \t]+)?def)[ \t].*)$`: the definition without its indentation.
fn python_function_line(line: &str) -> Option<String> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let definition = line.trim_start_matches([' ', '\t']);
    let after_async = definition
        .strip_prefix("async")
        .filter(|rest| rest.starts_with([' ', '\t']))
        .map(|rest| rest.trim_start_matches([' ', '\t']));
    let keyword_rest = match after_async {
        Some(rest) => rest.strip_prefix("def"),
        None => definition.strip_prefix("class").or_else(|| definition.strip_prefix("def")),
    };
    keyword_rest.filter(|rest| rest.starts_with([' ', '\t'])).map(|_| cut(definition))
}

/// Cut to 80 bytes (at a character boundary), trailing whitespace removed.
fn cut(line: &str) -> String {
    let mut end = line.len().min(FUNCTION_CONTEXT_BYTES);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end].trim_end().to_owned()
}

fn render_hunk(
    group: &[DiffOp],
    old_lines: &[&str],
    new_lines: &[&str],
    function_context: &mut FunctionContext,
    out: &mut String,
) {
    let (Some(first), Some(last)) = (group.first(), group.last()) else { return };
    let old_range = first.old_range().start..last.old_range().end;
    let new_range = first.new_range().start..last.new_range().end;
    let header = format!(
        "@@ -{} +{} @@",
        hunk_range(old_range.start, old_range.len()),
        hunk_range(new_range.start, new_range.len())
    );
    out.push_str(&header);
    let context = function_context.before(old_lines, old_range.start);
    if !context.is_empty() {
        out.push(' ');
        out.push_str(context);
    }
    out.push('\n');
    for op in group {
        match *op {
            DiffOp::Equal { old_index, len, .. } => push_lines(out, ' ', &old_lines[old_index..old_index + len]),
            DiffOp::Delete { old_index, old_len, .. } => {
                push_lines(out, '-', &old_lines[old_index..old_index + old_len])
            }
            DiffOp::Insert { new_index, new_len, .. } => {
                push_lines(out, '+', &new_lines[new_index..new_index + new_len])
            }
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                push_lines(out, '-', &old_lines[old_index..old_index + old_len]);
                push_lines(out, '+', &new_lines[new_index..new_index + new_len]);
            }
        }
    }
}

/// `start,len` as a hunk header writes it: 1-based, `,1` omitted, an empty range named by the line before it.
fn hunk_range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

fn push_lines(out: &mut String, prefix: char, lines: &[&str]) {
    for line in lines {
        out.push(prefix);
        out.push_str(line);
        if !line.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
