//! Canonical text of a Python file for patch deduplication: comments and docstrings removed, formatting
//! canonicalized from the tree-sitter tree (the original uses `ast.unparse`).
//!
//! Every statement goes on its own line, indented four spaces per block; the tokens of a statement are joined
//! with canonical spacing (brackets joined across lines, continuation backslashes gone). Beyond layout, these
//! differences that Python's `ast` does not see are erased too:
//! - comments, and every statement that is only a string (docstrings); a block left empty gets `pass`;
//! - the quoting of plain and bytes strings (`"a"`, `'a'`, `"""a"""`, `u'a'` all become `'a'`, chosen as
//!   Python's `repr` chooses), and implicit concatenation (`'a' 'b'` is `'ab'`); f-strings are kept as written;
//! - trailing commas in calls, definitions, literals and imports (not in a one-element tuple);
//! - redundant parentheses around atoms, conditions, returned and assigned values, and call arguments;
//!   the parentheses of `from x import (a, b)` and the empty ones of `class A():`.
//!
//! Text that does not parse cleanly is returned unchanged, as the original falls back to the raw code.

use std::collections::BTreeMap;

use tree_sitter::Node;

use crate::parse::with_tree;

/// Nodes that hold an indented block of statements (or clauses that do).
const COMPOUND_STATEMENTS: [&str; 15] = [
    "function_definition",
    "class_definition",
    "decorated_definition",
    "if_statement",
    "elif_clause",
    "else_clause",
    "for_statement",
    "while_statement",
    "try_statement",
    "except_clause",
    "except_group_clause",
    "finally_clause",
    "with_statement",
    "match_statement",
    "case_clause",
];

/// Expressions whose surrounding parentheses never matter.
const ATOMS: [&str; 17] = [
    "identifier",
    "attribute",
    "call",
    "subscript",
    "string",
    "concatenated_string",
    "parenthesized_expression",
    "list",
    "dictionary",
    "set",
    "tuple",
    "list_comprehension",
    "dictionary_comprehension",
    "set_comprehension",
    "true",
    "false",
    "none",
];

/// Parents in which a parenthesized expression may lose its parentheses unless it is a `yield` or a `:=`.
const PARENTHESES_OPTIONAL_IN: [&str; 8] = [
    "if_statement",
    "elif_clause",
    "while_statement",
    "return_statement",
    "assignment",
    "augmented_assignment",
    "argument_list",
    "keyword_argument",
];

/// Parents whose trailing comma carries no meaning.
const TRAILING_COMMA_OPTIONAL_IN: [&str; 8] = [
    "argument_list",
    "parameters",
    "lambda_parameters",
    "list",
    "dictionary",
    "set",
    "import_from_statement",
    "list_pattern",
];

const INDENT: &str = "    ";

/// The canonical text of `source`, or `source` unchanged when it has syntax errors.
pub fn normalize_python(source: &str) -> String {
    with_tree(source, |tree, text| {
        let root = tree.root_node();
        (!root.has_error()).then(|| {
            let mut renderer = Renderer { text, out: String::with_capacity(text.len()) };
            renderer.statements(root, 0);
            renderer.out
        })
    })
    .flatten()
    .unwrap_or_else(|| source.to_owned())
}

/// Agentless's `is_just_new_function`: `new` keeps every function and method of `old` unchanged and adds at
/// least one. Functions are keyed by name (module level and nested in functions) or `Class.method` (methods of
/// every class, nested classes included); their text includes decorators. `false` when either side does not
/// parse cleanly.
pub fn is_just_new_function(old: &str, new: &str) -> bool {
    let (Some(old), Some(new)) = (functions_of(old), functions_of(new)) else { return false };
    old.iter().all(|(name, text)| new.get(name) == Some(text)) && new.len() > old.len()
}

fn functions_of(source: &str) -> Option<BTreeMap<String, String>> {
    with_tree(source, |tree, text| {
        let root = tree.root_node();
        (!root.has_error()).then(|| {
            let mut functions = BTreeMap::new();
            collect_functions(root, text, false, &mut functions);
            functions
        })
    })
    .flatten()
}

fn collect_functions(node: Node<'_>, text: &str, in_class: bool, out: &mut BTreeMap<String, String>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "function_definition" => {
                if !in_class {
                    out.insert(name_of(child, text), definition_text(child, text));
                }
                collect_functions(child, text, in_class, out);
            }
            "class_definition" => {
                let class = name_of(child, text);
                if let Some(body) = child.child_by_field_name("body") {
                    let mut body_cursor = body.walk();
                    for item in body.named_children(&mut body_cursor) {
                        let function = match item.kind() {
                            "decorated_definition" => item.child_by_field_name("definition"),
                            _ => Some(item),
                        };
                        if let Some(function) = function.filter(|function| function.kind() == "function_definition") {
                            out.insert(format!("{class}.{}", name_of(function, text)), definition_text(function, text));
                        }
                    }
                }
                collect_functions(child, text, true, out);
            }
            _ => collect_functions(child, text, in_class, out),
        }
    }
}

fn name_of(node: Node<'_>, text: &str) -> String {
    node.child_by_field_name("name").map(|name| source_of(name, text).to_owned()).unwrap_or_default()
}

/// A function's text with its decorators.
fn definition_text(function: Node<'_>, text: &str) -> String {
    let node = function.parent().filter(|parent| parent.kind() == "decorated_definition").unwrap_or(function);
    source_of(node, text).to_owned()
}

fn source_of<'t>(node: Node<'_>, text: &'t str) -> &'t str {
    text.get(node.byte_range()).unwrap_or_default()
}

/// One token of a statement, with the node kinds the spacing rules look at.
struct Token<'k> {
    text: String,
    kind: &'k str,
    parent: &'k str,
    /// A comma that may go when a closing bracket follows.
    optional_comma: bool,
}

struct Renderer<'t> {
    text: &'t str,
    out: String,
}

impl Renderer<'_> {
    /// The statements below `node` (a module or a block) at `depth`; returns whether any was written.
    fn statements(&mut self, node: Node<'_>, depth: usize) -> bool {
        let mut wrote = false;
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            wrote |= self.statement(child, depth);
        }
        wrote
    }

    fn statement(&mut self, node: Node<'_>, depth: usize) -> bool {
        match node.kind() {
            "comment" | "line_continuation" => false,
            "expression_statement" if is_string_statement(node) => false,
            kind if COMPOUND_STATEMENTS.contains(&kind) => {
                self.compound(node, depth);
                true
            }
            _ => {
                let mut tokens = Vec::new();
                self.tokens(node, &mut tokens);
                self.line(depth, &tokens);
                true
            }
        }
    }

    /// A compound statement: header tokens up to its block, the block one level deeper (`pass` when nothing of
    /// it is left), clauses and decorators at the same level.
    fn compound(&mut self, node: Node<'_>, depth: usize) {
        let mut header = Vec::new();
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            match child.kind() {
                "comment" | "line_continuation" => {}
                "block" => {
                    self.line(depth, &header);
                    header.clear();
                    if !self.statements(child, depth + 1) {
                        self.line(depth + 1, &[plain_token("pass")]);
                    }
                }
                "decorator" => {
                    let mut tokens = Vec::new();
                    self.tokens(child, &mut tokens);
                    self.line(depth, &tokens);
                }
                kind if COMPOUND_STATEMENTS.contains(&kind) => {
                    self.line(depth, &header);
                    header.clear();
                    self.compound(child, depth);
                }
                _ => self.tokens(child, &mut header),
            }
        }
        self.line(depth, &header);
    }

    /// The tokens of an expression or simple statement, strings canonicalized, optional parentheses dropped.
    fn tokens<'k>(&self, node: Node<'k>, out: &mut Vec<Token<'k>>) {
        let kind = node.kind();
        let parent = node.parent().map_or("", |parent| parent.kind());
        match kind {
            "comment" | "line_continuation" => {}
            "string" => out.push(Token { text: self.string(node), kind, parent, optional_comma: false }),
            "concatenated_string" => match self.concatenated(node) {
                Some(text) => out.push(Token { text, kind: "string", parent, optional_comma: false }),
                None => self.children_tokens(node, out),
            },
            "parenthesized_expression" => match optional_parentheses_inner(node) {
                Some(inner) => self.tokens(inner, out),
                None => self.children_tokens(node, out),
            },
            "argument_list" if parent == "class_definition" && node.named_child_count() == 0 => {}
            "(" | ")" if parent == "import_from_statement" => {}
            _ if node.child_count() == 0 => {
                let optional_comma = kind == "," && comma_is_optional(node);
                out.push(Token { text: source_of(node, self.text).to_owned(), kind, parent, optional_comma });
            }
            _ => self.children_tokens(node, out),
        }
    }

    fn children_tokens<'k>(&self, node: Node<'k>, out: &mut Vec<Token<'k>>) {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.tokens(child, out);
        }
    }

    fn string(&self, node: Node<'_>) -> String {
        let source = source_of(node, self.text);
        match StringLiteral::parse(source) {
            Some(literal) => literal.render(),
            None => source.to_owned(),
        }
    }

    /// Adjacent plain (or bytes) strings merged into one literal; `None` when a part is an f-string or cannot be
    /// decoded, or bytes and text are mixed.
    fn concatenated(&self, node: Node<'_>) -> Option<String> {
        let mut cursor = node.walk();
        let mut merged: Option<StringLiteral> = None;
        for part in node.named_children(&mut cursor) {
            if part.kind() != "string" {
                continue;
            }
            let literal = StringLiteral::parse(source_of(part, self.text))?;
            merged = Some(match merged {
                None => literal,
                Some(mut so_far) if so_far.bytes == literal.bytes => {
                    so_far.value.push_str(&literal.value);
                    so_far
                }
                Some(_) => return None,
            });
        }
        merged.map(|literal| literal.render())
    }

    fn line(&mut self, depth: usize, tokens: &[Token<'_>]) {
        if tokens.is_empty() {
            return;
        }
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
        let mut previous: Option<&Token<'_>> = None;
        for (index, token) in tokens.iter().enumerate() {
            let next = tokens.get(index + 1);
            if token.optional_comma && next.is_none_or(|next| matches!(next.text.as_str(), ")" | "]" | "}")) {
                continue;
            }
            if let Some(previous) = previous
                && space_between(previous, token)
            {
                self.out.push(' ');
            }
            self.out.push_str(&token.text);
            previous = Some(token);
        }
        self.out.push('\n');
    }
}

fn plain_token(text: &str) -> Token<'static> {
    Token { text: text.to_owned(), kind: "", parent: "", optional_comma: false }
}

/// A statement that is nothing but a string (a docstring, or a string used as a comment).
fn is_string_statement(node: Node<'_>) -> bool {
    let mut cursor = node.walk();
    let mut parts = node.named_children(&mut cursor).filter(|child| child.kind() != "comment");
    matches!(parts.next().map(|part| part.kind()), Some("string" | "concatenated_string")) && parts.next().is_none()
}

/// The expression inside parentheses that may be dropped.
fn optional_parentheses_inner(node: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = node.walk();
    let mut inner = node.named_children(&mut cursor).filter(|child| child.kind() != "comment");
    let expression = inner.next()?;
    if inner.next().is_some() {
        return None;
    }
    let parent = node.parent().map_or("", |parent| parent.kind());
    let optional = ATOMS.contains(&expression.kind())
        || (PARENTHESES_OPTIONAL_IN.contains(&parent) && !matches!(expression.kind(), "yield" | "named_expression"));
    optional.then_some(expression)
}

fn comma_is_optional(comma: Node<'_>) -> bool {
    let Some(parent) = comma.parent() else { return false };
    match parent.kind() {
        "tuple" | "tuple_pattern" => parent.named_child_count() > 1,
        kind => TRAILING_COMMA_OPTIONAL_IN.contains(&kind),
    }
}

/// Whether canonical text puts a space between two tokens.
fn space_between(previous: &Token<'_>, next: &Token<'_>) -> bool {
    let (before, after) = (previous.text.as_str(), next.text.as_str());
    if after == "." {
        return before == "from";
    }
    if before == "." {
        return after == "import";
    }
    if matches!(after, "," | ")" | "]" | "}" | ":" | ";") || matches!(before, "(" | "[" | "{") {
        return false;
    }
    if matches!(after, "(" | "[")
        && matches!(
            next.parent,
            "argument_list" | "parameters" | "subscript" | "generator_expression" | "type_parameter"
        )
        && (matches!(previous.kind, "identifier" | "string") || matches!(before, ")" | "]"))
    {
        return false;
    }
    if previous.parent == "unary_operator" && matches!(before, "-" | "+" | "~") {
        return false;
    }
    if matches!(before, "*" | "**")
        && matches!(
            previous.parent,
            "list_splat" | "dictionary_splat" | "list_splat_pattern" | "dictionary_splat_pattern"
        )
    {
        return false;
    }
    if before == "@" && previous.parent == "decorator" {
        return false;
    }
    if (before == "=" && matches!(previous.parent, "keyword_argument" | "default_parameter"))
        || (after == "=" && matches!(next.parent, "keyword_argument" | "default_parameter"))
    {
        return false;
    }
    !(before == ":" && previous.parent == "slice")
}

/// A plain or bytes string literal decoded to its value.
struct StringLiteral {
    bytes: bool,
    value: String,
}

impl StringLiteral {
    /// `None` for f-strings (and t-strings) and for escapes other than the simple ones.
    fn parse(source: &str) -> Option<Self> {
        let quote_at = source.find(['\'', '"'])?;
        let prefix = source[..quote_at].to_ascii_lowercase();
        if prefix.contains(['f', 't']) {
            return None;
        }
        let rest = &source[quote_at..];
        let delimiter = ["'''", "\"\"\"", "'", "\""].into_iter().find(|quote| rest.starts_with(quote))?;
        let body = rest.strip_prefix(delimiter)?.strip_suffix(delimiter)?;
        let value = match prefix.contains('r') {
            true => body.to_owned(),
            false => unescape(body)?,
        };
        Some(Self { bytes: prefix.contains('b'), value })
    }

    /// The literal as Python's `repr` writes it: single quotes unless the value has a `'` and no `"`.
    fn render(&self) -> String {
        let quote = match self.value.contains('\'') && !self.value.contains('"') {
            true => '"',
            false => '\'',
        };
        let mut out = String::with_capacity(self.value.len() + 3);
        if self.bytes {
            out.push('b');
        }
        out.push(quote);
        for c in self.value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c == quote => {
                    out.push('\\');
                    out.push(c);
                }
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push(quote);
        out
    }
}

/// The value of a non-raw string body; `None` for escapes beyond `\\ \' \" \n \r \t` and line continuations.
fn unescape(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '\n' => {}
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
