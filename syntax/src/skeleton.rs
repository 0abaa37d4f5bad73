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

use crate::parse::{KINDS, field_child, last_token_line, with_tree};
use crate::skeleton_writer::{ModuleStatements, SkeletonWriter, Splice};

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

/// The skeleton of a parsed file.
pub(crate) fn skeleton_of(root: Node<'_>, text: &str, options: &SkeletonOptions) -> String {
    let walker = TreeSkeleton { writer: SkeletonWriter::new(text, options) };
    walker.writer.module(&walker, &statements_of(root))
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

/// The skeleton of tree-sitter's statements.
struct TreeSkeleton<'a> {
    writer: SkeletonWriter<'a>,
}

impl<'tree> ModuleStatements<Statement<'tree>> for TreeSkeleton<'_> {
    fn first_row(&self, statement: &Statement<'tree>) -> usize {
        statement.first_row()
    }

    /// The last row a statement owns: its last token's row, or for a statement ending with an indented block, the
    /// last line up to `limit` indented at least as deep as that block (libcst's block footer).
    fn owned_end(&self, statement: &Statement<'tree>, limit: usize) -> usize {
        let block_indent = if statement.is_simple() {
            None
        } else {
            last_block(statement.first).and_then(|block| self.block_indentation(block))
        };
        self.writer.owned_end(statement.last_row(), block_indent, limit)
    }

    fn is_kept_at_module_level(&self, statement: &Statement<'tree>) -> bool {
        is_kept_at_module_level(statement)
    }

    /// Appends the skeleton of one kept statement (its leading comment lines are the caller's).
    fn render(&self, out: &mut String, statement: &Statement<'tree>, limit: usize) {
        let kinds = &*KINDS;
        let node = defined(statement.first);
        let kind = node.kind_id();
        if kind == kinds.function_definition {
            self.render_function(out, statement.first, node);
        } else if kind == kinds.class_definition {
            self.render_class(out, statement.first, node, limit);
        } else if statement.is_simple() {
            self.render_simple(out, statement, self.writer.lines.start(statement.first_row()));
        } else {
            self.render_verbatim(out, statement, limit);
        }
    }
}

impl TreeSkeleton<'_> {
    /// The whitespace before `node` on its line, when only whitespace is there.
    fn indentation_of(&self, node: Node<'_>) -> Option<&str> {
        self.writer.indentation_at(node.start_position().row, node.start_byte())
    }

    /// The indentation of an indented block (`None` for a body on its header's line).
    fn block_indentation(&self, block: Node<'_>) -> Option<&str> {
        first_statement(block).and_then(|first| self.indentation_of(first)).filter(|indent| !indent.is_empty())
    }

    fn render_function(&self, out: &mut String, outer: Node<'_>, function: Node<'_>) {
        let Some(body) = field_child(function, KINDS.field_body) else {
            self.writer.push_rows(out, outer.start_position().row, last_token_line(outer));
            return;
        };
        let header_end = header_colon(function, body).map_or(body.start_byte(), |colon| colon.end_byte());
        self.writer.push_header(out, outer.start_position().row, header_end);
        let indent = self.writer.body_indentation(
            self.block_indentation(body),
            function.start_position().row,
            function.start_byte(),
        );
        self.writer.push_placeholder(out, &indent);
    }

    fn render_class(&self, out: &mut String, outer: Node<'_>, class: Node<'_>, limit: usize) {
        let Some(body) = field_child(class, KINDS.field_body) else {
            self.writer.push_rows(out, outer.start_position().row, last_token_line(outer));
            return;
        };
        let colon = header_colon(class, body);
        let header_end = colon.map_or(body.start_byte(), |colon| colon.end_byte());
        let header_row = colon.map_or(class.start_position().row, |colon| colon.end_position().row);
        self.writer.push_header(out, outer.start_position().row, header_end);
        let body_indent =
            self.writer.body_indentation(self.block_indentation(body), class.start_position().row, class.start_byte());
        let statements = statements_of(body);
        let mut previous_end = header_row;
        let mut kept_any = false;
        for (index, statement) in statements.iter().enumerate() {
            let statement_limit = statements.get(index + 1).map_or(limit, |next| next.first_row().saturating_sub(1));
            let owned_end = self.owned_end(statement, statement_limit);
            let dropped = is_docstring_like(statement, self.writer.text) || statement.first.is_error();
            if !dropped {
                kept_any = true;
                if statement.first_row() == header_row {
                    out.push_str(&body_indent);
                    self.render_simple(out, statement, statement.first.start_byte());
                } else {
                    self.writer.push_rows(out, previous_end + 1, statement.first_row());
                    self.render(out, statement, statement_limit);
                }
            }
            previous_end = owned_end.max(previous_end);
        }
        if !kept_any {
            self.writer.push_pass(out, &body_indent);
        }
    }

    /// A simple statement line from byte `from` to the end of its last line, long assignments compressed.
    fn render_simple(&self, out: &mut String, statement: &Statement<'_>, from: usize) {
        self.writer.push_simple(out, from, statement.last_row(), self.compressed_rows(statement));
    }

    /// The rows (inclusive) an over-long assignment in `statement` loses, if any.
    fn compressed_rows(&self, statement: &Statement<'_>) -> Option<(usize, usize)> {
        let kinds = &*KINDS;
        let mut node = Some(statement.first);
        while let Some(current) = node {
            if current.kind_id() == kinds.expression_statement
                && let Some(assignment) = current.named_child(0).filter(|inner| inner.kind_id() == kinds.assignment)
                && let Some(cut) =
                    self.writer.compressed_rows(assignment.start_position().row, last_token_line(assignment) - 1)
            {
                return Some(cut);
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
        let mut splices = Vec::new();
        self.collect_splices(statement.first, limit, &mut splices);
        self.writer.push_spliced(out, statement.first_row(), end_row, splices);
    }

    /// `(first row, last row, replacement)` for each definition or long assignment inside the blocks of `holder`.
    fn collect_splices(&self, holder: Node<'_>, limit: usize, splices: &mut Vec<Splice>) {
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
                            self.render_simple(
                                &mut rendered,
                                statement,
                                self.writer.lines.start(statement.first_row()),
                            );
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
