//! The Agentless skeleton of a Python file: classes, signatures with decorators and `...` bodies, module- and
//! class-level assignments, long assignments compressed.
//!
//! The rules follow Agentless's `get_skeleton` (a libcst transformer, `compress_assign=True`):
//! - Module level keeps `class` and `def` statements (decorators, comments above them and full signatures
//!   included) and simple statement lines whose first statement is a plain assignment (`x = ...`, `a, b = ...`).
//!   Imports, docstrings, annotated or augmented assignments, `if`/`try`/`with`/`for` blocks and expressions go.
//!   The comment lines at the top of the file and after the last statement stay (libcst's module header/footer).
//! - A class body keeps every statement except docstring-like lines (a plain, non-f string expression), anywhere
//!   in the body. The comment after the class's colon and the comments closing the class body go (libcst builds a
//!   new block). A class left with an empty body (only a docstring) gets `pass`, as libcst prints an empty block.
//! - Every function body becomes `...`; everything inside it (nested functions and classes) goes.
//! - An assignment spanning more than `compress_assign_over + 1` lines (Agentless's `end - start > total_lines`),
//!   at any depth still shown, keeps its first `keep_prefix` and last `keep_suffix` lines with one `...` line
//!   between them.
//! - Comment lines belong to the statement below them, except the lines after an indented block up to the last
//!   one indented at least as deep as that block: those close the block (libcst's footer) and go with it.
//!
//! Intended differences from the original, all about readability:
//! - By default ([`Placeholders::Indented`]) the `...` of a function body sits at the body's indentation and the
//!   `...` of a compressed assignment is indented like the first line it replaces (the original puts both at
//!   column 0), so nested methods stay readable and the skeleton stays valid-looking Python.
//!   [`Placeholders::ColumnZero`] prints them as the original does; localization prompts use it.
//! - Annotated assignments in class bodies are compressed too (the original compresses `Assign` only).
//! - A file with syntax errors gets a skeleton of what tree-sitter recovered (ERROR nodes dropped); the original
//!   returns such a file unchanged.
//! - Class bodies keep the source's indentation; libcst re-indents their first level with the module's default
//!   indentation (the first indented block's). A body on its header line (`class A: pass`) moves below at the
//!   class indentation plus four spaces (libcst glues it to the next line: `passclass B:`).
//! - Compression counts lines at `\n` only; the original's `splitlines` also breaks at `\x0c`, `\x1c`, `\u2028`, so
//!   its kept lines drift in files with such characters in strings.
//!
//! Checked against the original (`get_skeleton(code, compress_assign=True)`, libcst 1.x) on every Python file of the
//! `django/` package and on a quarter of sympy's: identical apart from the `...` indentation and the cases above.

use tree_sitter::Node;

use crate::parse::{KINDS, LineStarts, field_child, last_token_line, with_tree};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkeletonOptions {
    /// Assignments longer than this many lines are compressed (Agentless `--compress_assign_total_lines`, 30).
    pub compress_assign_over: usize,
    /// Lines kept at the start of a compressed assignment (10).
    pub keep_prefix: usize,
    /// Lines kept at the end of a compressed assignment (10).
    pub keep_suffix: usize,
    /// Where the `...` of a function body or a compressed assignment goes.
    pub placeholders: Placeholders,
}

impl Default for SkeletonOptions {
    fn default() -> Self {
        Self { compress_assign_over: 30, keep_prefix: 10, keep_suffix: 10, placeholders: Placeholders::Indented }
    }
}

/// Where a skeleton's `...` placeholders sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placeholders {
    /// At the indentation of the body or line they replace: readable, valid-looking Python (ours).
    #[default]
    Indented,
    /// At column 0, as the original's `get_skeleton` prints them (its regex strips the placeholder's indentation).
    ColumnZero,
}

impl Placeholders {
    /// The indentation to write before a placeholder that replaces code indented by `indent`.
    pub(crate) fn indent(self, indent: &str) -> &str {
        match self {
            Placeholders::Indented => indent,
            Placeholders::ColumnZero => "",
        }
    }
}

/// The skeleton of one file's text. A file that does not parse cleanly still gets a skeleton of what was
/// recovered.
pub fn skeleton(source: &str, options: &SkeletonOptions) -> String {
    with_tree(source, |tree, text| skeleton_of(tree.root_node(), text, options)).unwrap_or_else(|| source.to_owned())
}

/// Indentation added to a body that sits on its header's line when it moves below it.
const INDENT_UNIT: &str = "    ";

/// The skeleton of a parsed file.
pub(crate) fn skeleton_of(root: Node<'_>, text: &str, options: &SkeletonOptions) -> String {
    let lines = LineStarts::new(text);
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let writer = Writer { text, lines: &lines, newline, options };
    let mut out = String::with_capacity(text.len() / 3);
    let statements = statements_of(root);
    let last_row = lines.count().saturating_sub(1);
    let Some(first) = statements.first() else {
        out.push_str(text);
        return out;
    };
    writer.push_rows(&mut out, 0, first.first_row());
    let mut previous_end: Option<usize> = None;
    for (index, statement) in statements.iter().enumerate() {
        let limit = statements.get(index + 1).map_or(last_row, |next| next.first_row().saturating_sub(1));
        let owned_end = writer.owned_end(statement, limit);
        if is_kept_at_module_level(statement) {
            if let Some(previous_end) = previous_end {
                writer.push_rows(&mut out, previous_end + 1, statement.first_row());
            }
            writer.render(&mut out, statement, limit);
        }
        previous_end = Some(owned_end);
    }
    if let Some(previous_end) = previous_end {
        writer.push_rows(&mut out, previous_end + 1, last_row + 1);
    }
    if out.is_empty() && text.ends_with('\n') {
        // libcst prints an emptied module that ended with a line break as one line break.
        out.push_str(newline);
    }
    out
}

/// One statement of a block: a compound statement, or simple statements sharing one line (`a = 1; b = 2`).
struct Statement<'tree> {
    first: Node<'tree>,
    last: Node<'tree>,
}

impl Statement<'_> {
    fn first_row(&self) -> usize {
        self.first.start_position().row
    }

    fn last_row(&self) -> usize {
        last_token_line(self.last) - 1
    }

    fn is_simple(&self) -> bool {
        KINDS.is_simple_statement(self.first.kind_id())
    }
}

/// The statements among the children of a module or block (comments left out, `;`-joined ones grouped).
fn statements_of(node: Node<'_>) -> Vec<Statement<'_>> {
    let kinds = &*KINDS;
    let mut statements: Vec<Statement<'_>> = Vec::new();
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        if child.kind_id() == kinds.comment || child.end_byte() == child.start_byte() {
            continue;
        }
        if let Some(previous) = statements.last_mut()
            && previous.is_simple()
            && kinds.is_simple_statement(child.kind_id())
            && previous.last.end_position().row == child.start_position().row
        {
            previous.last = child;
            continue;
        }
        statements.push(Statement { first: child, last: child });
    }
    statements
}

fn is_kept_at_module_level(statement: &Statement<'_>) -> bool {
    let kinds = &*KINDS;
    let kind = statement.first.kind_id();
    if kinds.is_definition(kind) {
        return true;
    }
    kind == kinds.expression_statement
        && statement
            .first
            .named_child(0)
            .is_some_and(|inner| inner.kind_id() == kinds.assignment && field_child(inner, kinds.field_type).is_none())
}

/// A plain (not formatted, not concatenated) string on its own: what libcst's transformer drops from class bodies.
fn is_docstring_like(statement: &Statement<'_>, text: &str) -> bool {
    let kinds = &*KINDS;
    let first = statement.first;
    if first.kind_id() != kinds.expression_statement || first.named_child_count() != 1 {
        return false;
    }
    let Some(string) = first.named_child(0).filter(|inner| inner.kind_id() == kinds.string) else { return false };
    let prefix = string
        .child(0)
        .filter(|start| start.kind_id() == kinds.string_start)
        .and_then(|start| text.get(start.start_byte()..start.end_byte()))
        .unwrap_or_default();
    !prefix.chars().any(|letter| matches!(letter, 'f' | 'F' | 't' | 'T'))
}

/// The node that a definition statement defines (the function or class under its decorators).
fn defined(node: Node<'_>) -> Node<'_> {
    if node.kind_id() == KINDS.decorated_definition {
        field_child(node, KINDS.field_definition).unwrap_or(node)
    } else {
        node
    }
}

/// The `:` ending a definition's header.
fn header_colon<'tree>(definition: Node<'tree>, body: Node<'tree>) -> Option<Node<'tree>> {
    let mut cursor = definition.walk();
    definition
        .children(&mut cursor)
        .take_while(|child| child.id() != body.id())
        .filter(|child| child.kind() == ":")
        .last()
}

/// The block a compound statement ends with (the body of its last clause).
fn last_block(node: Node<'_>) -> Option<Node<'_>> {
    let kinds = &*KINDS;
    let mut current = defined(node);
    loop {
        let mut cursor = current.walk();
        let last = current
            .named_children(&mut cursor)
            .filter(|child| child.kind_id() != kinds.comment && child.end_byte() > child.start_byte())
            .last()?;
        if last.kind_id() == kinds.block {
            return Some(last);
        }
        if !kinds.is_statement_holder(last.kind_id()) {
            return None;
        }
        current = last;
    }
}

fn first_statement(block: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = block.walk();
    block.named_children(&mut cursor).find(|child| child.kind_id() != KINDS.comment)
}

struct Writer<'a> {
    text: &'a str,
    lines: &'a LineStarts,
    newline: &'a str,
    options: &'a SkeletonOptions,
}

impl Writer<'_> {
    /// Appends rows `from..to` (0-based, `to` excluded) verbatim, ending with a line break.
    fn push_rows(&self, out: &mut String, from: usize, to: usize) {
        if from >= to {
            return;
        }
        self.push_bytes(out, self.lines.start(from), self.lines.start(to));
    }

    fn push_bytes(&self, out: &mut String, from: usize, to: usize) {
        let Some(slice) = self.text.get(from..to) else { return };
        out.push_str(slice);
        if !slice.is_empty() && !slice.ends_with('\n') {
            out.push_str(self.newline);
        }
    }

    /// The whitespace before `node` on its line, when only whitespace is there.
    fn indentation_of(&self, node: Node<'_>) -> Option<&str> {
        let prefix = self.text.get(self.lines.start(node.start_position().row)..node.start_byte())?;
        prefix.chars().all(|letter| letter == ' ' || letter == '\t').then_some(prefix)
    }

    /// The indentation of an indented block (`None` for a body on its header's line).
    fn block_indentation(&self, block: Node<'_>) -> Option<&str> {
        first_statement(block).and_then(|first| self.indentation_of(first)).filter(|indent| !indent.is_empty())
    }

    /// The last row a statement owns: its last token's row, or for a statement ending with an indented block, the
    /// last line up to `limit` indented at least as deep as that block (libcst's block footer).
    fn owned_end(&self, statement: &Statement<'_>, limit: usize) -> usize {
        let last = statement.last_row();
        if statement.is_simple() {
            return last;
        }
        let Some(indent) = last_block(statement.first).and_then(|block| self.block_indentation(block)) else {
            return last;
        };
        (last + 1..=limit)
            .rev()
            .find(|&row| {
                self.text.get(self.lines.start(row)..self.lines.end(row)).is_some_and(|line| line.starts_with(indent))
            })
            .unwrap_or(last)
    }

    /// Appends the skeleton of one kept statement (its leading comment lines are the caller's).
    fn render(&self, out: &mut String, statement: &Statement<'_>, limit: usize) {
        let kinds = &*KINDS;
        let node = defined(statement.first);
        let kind = node.kind_id();
        if kind == kinds.function_definition {
            self.render_function(out, statement.first, node);
        } else if kind == kinds.class_definition {
            self.render_class(out, statement.first, node, limit);
        } else if statement.is_simple() {
            self.render_simple(out, statement, self.lines.start(statement.first_row()));
        } else {
            self.render_verbatim(out, statement, limit);
        }
    }

    fn render_function(&self, out: &mut String, outer: Node<'_>, function: Node<'_>) {
        let Some(body) = field_child(function, KINDS.field_body) else {
            self.push_rows(out, outer.start_position().row, last_token_line(outer));
            return;
        };
        let header_end = header_colon(function, body).map_or(body.start_byte(), |colon| colon.end_byte());
        out.push_str(self.text.get(self.lines.start(outer.start_position().row)..header_end).unwrap_or_default());
        out.push_str(self.newline);
        let indent = match self.block_indentation(body) {
            Some(indent) => indent.to_owned(),
            None => format!("{}{INDENT_UNIT}", self.indentation_of(function).unwrap_or_default()),
        };
        out.push_str(self.options.placeholders.indent(&indent));
        out.push_str("...");
        out.push_str(self.newline);
    }

    fn render_class(&self, out: &mut String, outer: Node<'_>, class: Node<'_>, limit: usize) {
        let Some(body) = field_child(class, KINDS.field_body) else {
            self.push_rows(out, outer.start_position().row, last_token_line(outer));
            return;
        };
        let colon = header_colon(class, body);
        let header_end = colon.map_or(body.start_byte(), |colon| colon.end_byte());
        let header_row = colon.map_or(class.start_position().row, |colon| colon.end_position().row);
        out.push_str(self.text.get(self.lines.start(outer.start_position().row)..header_end).unwrap_or_default());
        out.push_str(self.newline);
        let body_indent = match self.block_indentation(body) {
            Some(indent) => indent.to_owned(),
            None => format!("{}{INDENT_UNIT}", self.indentation_of(class).unwrap_or_default()),
        };
        let statements = statements_of(body);
        let mut previous_end = header_row;
        let mut kept_any = false;
        for (index, statement) in statements.iter().enumerate() {
            let statement_limit = statements.get(index + 1).map_or(limit, |next| next.first_row().saturating_sub(1));
            let owned_end = self.owned_end(statement, statement_limit);
            let dropped = is_docstring_like(statement, self.text) || statement.first.is_error();
            if !dropped {
                kept_any = true;
                if statement.first_row() == header_row {
                    out.push_str(&body_indent);
                    self.render_simple(out, statement, statement.first.start_byte());
                } else {
                    self.push_rows(out, previous_end + 1, statement.first_row());
                    self.render(out, statement, statement_limit);
                }
            }
            previous_end = owned_end.max(previous_end);
        }
        if !kept_any {
            out.push_str(&body_indent);
            out.push_str("pass");
            out.push_str(self.newline);
        }
    }

    /// A simple statement line from byte `from` to the end of its last line, long assignments compressed.
    fn render_simple(&self, out: &mut String, statement: &Statement<'_>, from: usize) {
        let end = self.lines.end(statement.last_row());
        match self.compressed_rows(statement) {
            Some((cut_from, cut_to)) => {
                self.push_bytes(out, from, self.lines.start(cut_from));
                let first_cut = self.text.get(self.lines.start(cut_from)..self.lines.end(cut_from)).unwrap_or_default();
                let indent_len = first_cut.len() - first_cut.trim_start_matches([' ', '\t']).len();
                out.push_str(self.options.placeholders.indent(first_cut.get(..indent_len).unwrap_or_default()));
                out.push_str("...");
                out.push_str(self.newline);
                self.push_bytes(out, self.lines.start(cut_to + 1), end);
            }
            None => self.push_bytes(out, from, end),
        }
    }

    /// The rows (inclusive) an over-long assignment in `statement` loses, if any.
    fn compressed_rows(&self, statement: &Statement<'_>) -> Option<(usize, usize)> {
        let kinds = &*KINDS;
        let mut node = Some(statement.first);
        while let Some(current) = node {
            if current.kind_id() == kinds.expression_statement
                && let Some(assignment) = current.named_child(0).filter(|inner| inner.kind_id() == kinds.assignment)
            {
                let start = assignment.start_position().row;
                let end = last_token_line(assignment) - 1;
                let options = self.options;
                if end - start > options.compress_assign_over
                    && start + options.keep_prefix <= end.saturating_sub(options.keep_suffix)
                {
                    return Some((start + options.keep_prefix, end - options.keep_suffix));
                }
            }
            if current.id() == statement.last.id() {
                break;
            }
            node = current.next_named_sibling();
        }
        None
    }

    /// A compound statement other than a definition (inside a class body): copied as it is, except that the
    /// definitions and long assignments inside it are rendered as skeletons.
    fn render_verbatim(&self, out: &mut String, statement: &Statement<'_>, limit: usize) {
        let end_row = self.owned_end(statement, limit);
        let mut position = self.lines.start(statement.first_row());
        let mut splices = Vec::new();
        self.collect_splices(statement.first, limit, &mut splices);
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

    /// `(first row, last row, replacement)` for each definition or long assignment inside the blocks of `holder`.
    fn collect_splices(&self, holder: Node<'_>, limit: usize, splices: &mut Vec<(usize, usize, String)>) {
        let kinds = &*KINDS;
        let mut cursor = holder.walk();
        let children: Vec<Node<'_>> = holder
            .children(&mut cursor)
            .filter(|child| child.kind_id() != kinds.comment && child.end_byte() > child.start_byte())
            .collect();
        for (index, child) in children.iter().enumerate() {
            let child_limit = children.get(index + 1).map_or(limit, |next| next.start_position().row.saturating_sub(1));
            if child.kind_id() == kinds.block {
                let statements = statements_of(*child);
                for (position, statement) in statements.iter().enumerate() {
                    let statement_limit =
                        statements.get(position + 1).map_or(child_limit, |next| next.first_row().saturating_sub(1));
                    if kinds.is_definition(statement.first.kind_id()) {
                        let mut rendered = String::new();
                        self.render(&mut rendered, statement, statement_limit);
                        let end = self.owned_end(statement, statement_limit);
                        splices.push((statement.first_row(), end, rendered));
                    } else if statement.is_simple() {
                        if self.compressed_rows(statement).is_some() {
                            let mut rendered = String::new();
                            self.render_simple(&mut rendered, statement, self.lines.start(statement.first_row()));
                            splices.push((statement.first_row(), statement.last_row(), rendered));
                        }
                    } else {
                        self.collect_splices(statement.first, statement_limit, splices);
                    }
                }
            } else if kinds.is_statement_holder(child.kind_id()) {
                self.collect_splices(*child, child_limit, splices);
            }
        }
    }
}
