//! Writing a skeleton's text — verbatim rows, definition headers, `...` placeholders, `pass` bodies, compressed
//! assignments, splices and the module-level pass — for both statement trees: tree-sitter's
//! ([`skeleton`](crate::skeleton)) and the scanner's ([`outline`](crate::outline)).

use crate::parse::LineStarts;
use crate::skeleton::SkeletonOptions;

/// Indentation added to a body that sits on its header's line when it moves below it.
const INDENT_UNIT: &str = "    ";

/// `(first row, last row, replacement)`: rows of a verbatim statement replaced by their skeleton.
pub(crate) type Splice = (usize, usize, String);

pub(crate) struct SkeletonWriter<'a> {
    pub(crate) text: &'a str,
    pub(crate) lines: LineStarts,
    newline: &'static str,
    pub(crate) options: &'a SkeletonOptions,
}

/// How a walker sees its module-level statements.
pub(crate) trait ModuleStatements<S> {
    fn first_row(&self, statement: &S) -> usize;
    /// The last row `statement` owns when the next statement starts after `limit`.
    fn owned_end(&self, statement: &S, limit: usize) -> usize;
    fn is_kept_at_module_level(&self, statement: &S) -> bool;
    fn render(&self, out: &mut String, statement: &S, limit: usize);
}

impl<'a> SkeletonWriter<'a> {
    pub(crate) fn new(text: &'a str, options: &'a SkeletonOptions) -> Self {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        Self { text, lines: LineStarts::new(text), newline, options }
    }

    /// The skeleton of a module: kept statements rendered, each with the comment rows above it, plus the rows
    /// before the first statement and after the last one's.
    pub(crate) fn module<S>(&self, walker: &impl ModuleStatements<S>, statements: &[S]) -> String {
        let mut out = String::with_capacity(self.text.len() / 3);
        let last_row = self.lines.count().saturating_sub(1);
        let Some(first) = statements.first() else {
            out.push_str(self.text);
            return out;
        };
        self.push_rows(&mut out, 0, walker.first_row(first));
        let mut previous_end: Option<usize> = None;
        for (index, statement) in statements.iter().enumerate() {
            let limit = statements.get(index + 1).map_or(last_row, |next| walker.first_row(next).saturating_sub(1));
            let owned_end = walker.owned_end(statement, limit);
            if walker.is_kept_at_module_level(statement) {
                if let Some(previous_end) = previous_end {
                    self.push_rows(&mut out, previous_end + 1, walker.first_row(statement));
                }
                walker.render(&mut out, statement, limit);
            }
            previous_end = Some(owned_end);
        }
        if let Some(previous_end) = previous_end {
            self.push_rows(&mut out, previous_end + 1, last_row + 1);
        }
        if out.is_empty() && self.text.ends_with('\n') {
            // libcst prints an emptied module that ended with a line break as one line break.
            out.push_str(self.newline);
        }
        out
    }

    /// Appends rows `from..to` (0-based, `to` excluded) verbatim, ending with a line break.
    pub(crate) fn push_rows(&self, out: &mut String, from: usize, to: usize) {
        if from >= to {
            return;
        }
        self.push_bytes(out, self.lines.start(from), self.lines.start(to));
    }

    pub(crate) fn push_bytes(&self, out: &mut String, from: usize, to: usize) {
        let Some(slice) = self.text.get(from..to) else { return };
        out.push_str(slice);
        if !slice.is_empty() && !slice.ends_with('\n') {
            out.push_str(self.newline);
        }
    }

    /// The whitespace before byte `start` on row `row`, when only whitespace is there.
    pub(crate) fn indentation_at(&self, row: usize, start: usize) -> Option<&str> {
        let prefix = self.text.get(self.lines.start(row)..start)?;
        prefix.chars().all(|letter| letter == ' ' || letter == '\t').then_some(prefix)
    }

    /// The last row a statement ending on `last` owns: for a statement ending with an indented block (indented by
    /// `block_indent`), the last line up to `limit` indented at least as deep (libcst's block footer).
    pub(crate) fn owned_end(&self, last: usize, block_indent: Option<&str>, limit: usize) -> usize {
        let Some(indent) = block_indent else { return last };
        (last + 1..=limit)
            .rev()
            .find(|&row| {
                self.text.get(self.lines.start(row)..self.lines.end(row)).is_some_and(|line| line.starts_with(indent))
            })
            .unwrap_or(last)
    }

    /// A definition's header: from the start of `first_row` (decorators included) to the end of its colon.
    pub(crate) fn push_header(&self, out: &mut String, first_row: usize, header_end: usize) {
        out.push_str(self.text.get(self.lines.start(first_row)..header_end).unwrap_or_default());
        out.push_str(self.newline);
    }

    /// A body's indentation: its block's, or for a body on the header's line the definition's (at `row`,
    /// `start`) plus four spaces.
    pub(crate) fn body_indentation(&self, block_indent: Option<&str>, row: usize, start: usize) -> String {
        match block_indent {
            Some(indent) => indent.to_owned(),
            None => format!("{}{INDENT_UNIT}", self.indentation_at(row, start).unwrap_or_default()),
        }
    }

    /// A function body's `...`.
    pub(crate) fn push_placeholder(&self, out: &mut String, indent: &str) {
        out.push_str(self.options.placeholders.indent(indent));
        out.push_str("...");
        out.push_str(self.newline);
    }

    /// The body of a class that kept nothing.
    pub(crate) fn push_pass(&self, out: &mut String, indent: &str) {
        out.push_str(indent);
        out.push_str("pass");
        out.push_str(self.newline);
    }

    /// The rows (inclusive) an assignment over rows `start..=end` loses, if it is over-long.
    pub(crate) fn compressed_rows(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let options = self.options;
        (end - start > options.compress_assign_over
            && start + options.keep_prefix <= end.saturating_sub(options.keep_suffix))
        .then(|| (start + options.keep_prefix, end - options.keep_suffix))
    }

    /// A simple statement line from byte `from` to the end of `last_row`, rows `cut` replaced by one `...`.
    pub(crate) fn push_simple(&self, out: &mut String, from: usize, last_row: usize, cut: Option<(usize, usize)>) {
        let end = self.lines.end(last_row);
        match cut {
            Some((cut_from, cut_to)) => {
                self.push_bytes(out, from, self.lines.start(cut_from));
                let first_cut = self.text.get(self.lines.start(cut_from)..self.lines.end(cut_from)).unwrap_or_default();
                let indent_len = first_cut.len() - first_cut.trim_start_matches([' ', '\t']).len();
                self.push_placeholder(out, first_cut.get(..indent_len).unwrap_or_default());
                self.push_bytes(out, self.lines.start(cut_to + 1), end);
            }
            None => self.push_bytes(out, from, end),
        }
    }

    /// Rows `first_row..=end_row` as they are, except the splices' rows, replaced by their skeletons.
    pub(crate) fn push_spliced(&self, out: &mut String, first_row: usize, end_row: usize, splices: Vec<Splice>) {
        let mut position = self.lines.start(first_row);
        for (from_row, to_row, rendered) in splices {
            let from = self.lines.start(from_row);
            if from < position {
                continue;
            }
            out.push_str(self.text.get(position..from).unwrap_or_default());
            out.push_str(&rendered);
            position = self.lines.end(to_row);
        }
        self.push_bytes(out, position, self.lines.end(end_row));
    }
}
