//! The one tree-sitter Python parser of each thread, the node kinds the crate looks at, and line helpers.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::LazyLock;

use tree_sitter::{Language, Node, Parser, Tree};

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// Parses `source` with this thread's parser and hands the tree (and the text it was parsed from) to `inspect`.
/// `None` only if the grammar cannot be loaded. A lone `\r` (old Mac line ending) becomes `\n` first, so tree-sitter
/// rows agree with Python's line numbers; the replacement keeps every byte offset.
pub(crate) fn with_tree<R>(source: &str, inspect: impl FnOnce(&Tree, &str) -> R) -> Option<R> {
    let text = normalize_lone_carriage_returns(source);
    let tree = PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            parser.set_language(&language()).ok()?;
            *slot = Some(parser);
        }
        slot.as_mut()?.parse(text.as_bytes(), None)
    })?;
    Some(inspect(&tree, &text))
}

fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
}

fn normalize_lone_carriage_returns(source: &str) -> Cow<'_, str> {
    let bytes = source.as_bytes();
    let has_lone = bytes.iter().enumerate().any(|(at, &byte)| byte == b'\r' && bytes.get(at + 1) != Some(&b'\n'));
    if !has_lone {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(current) = chars.next() {
        match (current, chars.peek()) {
            ('\r', Some('\n')) => out.push('\r'),
            ('\r', _) => out.push('\n'),
            (other, _) => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// Kind ids of the grammar nodes the crate inspects (comparing ids is cheaper than comparing names).
pub(crate) struct Kinds {
    pub module: u16,
    pub block: u16,
    pub function_definition: u16,
    pub class_definition: u16,
    pub decorated_definition: u16,
    pub expression_statement: u16,
    pub assignment: u16,
    pub augmented_assignment: u16,
    pub string: u16,
    pub string_start: u16,
    pub comment: u16,
    pub identifier: u16,
    pub pattern_list: u16,
    pub tuple_pattern: u16,
    pub list_pattern: u16,
    pub list_splat_pattern: u16,
    pub parenthesized_expression: u16,
    pub tuple: u16,
    pub list: u16,
    /// Compound statements and their clauses other than definitions: they hold blocks of statements.
    pub statement_holders: Vec<u16>,
    pub simple_statements: Vec<u16>,
    pub field_body: u16,
    pub field_definition: u16,
    pub field_name: u16,
    pub field_left: u16,
    pub field_right: u16,
    pub field_type: u16,
}

pub(crate) static KINDS: LazyLock<Kinds> = LazyLock::new(|| {
    let language = language();
    let id = |name: &str| language.id_for_node_kind(name, true);
    let field = |name: &str| language.field_id_for_name(name).map_or(0, |field| field.get());
    Kinds {
        module: id("module"),
        block: id("block"),
        function_definition: id("function_definition"),
        class_definition: id("class_definition"),
        decorated_definition: id("decorated_definition"),
        expression_statement: id("expression_statement"),
        assignment: id("assignment"),
        augmented_assignment: id("augmented_assignment"),
        string: id("string"),
        string_start: language.id_for_node_kind("string_start", true),
        comment: id("comment"),
        identifier: id("identifier"),
        pattern_list: id("pattern_list"),
        tuple_pattern: id("tuple_pattern"),
        list_pattern: id("list_pattern"),
        list_splat_pattern: id("list_splat_pattern"),
        parenthesized_expression: id("parenthesized_expression"),
        tuple: id("tuple"),
        list: id("list"),
        statement_holders: [
            "if_statement",
            "elif_clause",
            "else_clause",
            "for_statement",
            "while_statement",
            "try_statement",
            "except_clause",
            "finally_clause",
            "with_statement",
            "match_statement",
            "case_clause",
        ]
        .into_iter()
        .map(id)
        .collect(),
        simple_statements: [
            "assert_statement",
            "break_statement",
            "continue_statement",
            "delete_statement",
            "exec_statement",
            "expression_statement",
            "future_import_statement",
            "global_statement",
            "import_from_statement",
            "import_statement",
            "nonlocal_statement",
            "pass_statement",
            "print_statement",
            "raise_statement",
            "return_statement",
            "type_alias_statement",
        ]
        .into_iter()
        .map(id)
        .collect(),
        field_body: field("body"),
        field_definition: field("definition"),
        field_name: field("name"),
        field_left: field("left"),
        field_right: field("right"),
        field_type: field("type"),
    }
});

impl Kinds {
    pub(crate) fn is_definition(&self, kind: u16) -> bool {
        kind == self.function_definition || kind == self.class_definition || kind == self.decorated_definition
    }

    pub(crate) fn is_statement_holder(&self, kind: u16) -> bool {
        self.statement_holders.contains(&kind)
    }

    pub(crate) fn is_simple_statement(&self, kind: u16) -> bool {
        self.simple_statements.contains(&kind)
    }
}

/// The child of `node` in field `field_id`, if any.
pub(crate) fn field_child<'tree>(node: Node<'tree>, field_id: u16) -> Option<Node<'tree>> {
    std::num::NonZeroU16::new(field_id).and_then(|field| node.child_by_field_id(field.get()))
}

/// The 1-based line where `node` ends as Python's `ast` reports `end_lineno`: the line of its last token, with
/// comments and zero-width (missing) tokens ignored.
pub(crate) fn last_token_line(node: Node<'_>) -> usize {
    let kinds = &*KINDS;
    let mut current = node;
    loop {
        let mut cursor = current.walk();
        if !cursor.goto_last_child() {
            break;
        }
        let mut found = None;
        loop {
            let child = cursor.node();
            if child.kind_id() != kinds.comment && child.end_byte() > child.start_byte() {
                found = Some(child);
                break;
            }
            if !cursor.goto_previous_sibling() {
                break;
            }
        }
        match found {
            Some(child) => current = child,
            None => break,
        }
    }
    current.end_position().row + 1
}

/// Byte offsets where each line starts, for turning rows into text ranges.
pub(crate) struct LineStarts {
    starts: Vec<usize>,
    len: usize,
}

impl LineStarts {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        starts.extend(text.bytes().enumerate().filter(|&(_, byte)| byte == b'\n').map(|(at, _)| at + 1));
        if starts.last() == Some(&text.len()) && !text.is_empty() {
            starts.pop();
        }
        Self { starts, len: text.len() }
    }

    /// How many lines the text has (a final line without `\n` counts; an empty text has none).
    pub(crate) fn count(&self) -> usize {
        if self.len == 0 { 0 } else { self.starts.len() }
    }

    /// The byte where 0-based `row` starts (the text length past the end).
    pub(crate) fn start(&self, row: usize) -> usize {
        self.starts.get(row).copied().unwrap_or(self.len)
    }

    /// The byte just past 0-based `row`, its line ending included.
    pub(crate) fn end(&self, row: usize) -> usize {
        self.start(row + 1)
    }
}
