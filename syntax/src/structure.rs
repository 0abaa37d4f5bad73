//! The structure of one Python file in the Agentless layout: classes with methods, functions, module-level
//! assignments, all with exact 1-based line spans.

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, TreeCursor};

use crate::check::error_count;
use crate::parse::{KINDS, field_child, last_token_line, with_tree};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionInfo {
    pub name: String,
    /// The `def` line, as Python's `ast` reports `lineno` (decorators are above it).
    pub start_line: usize,
    pub end_line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassInfo {
    pub name: String,
    pub start_line: usize,
    pub end_line: usize,
    pub methods: Vec<FunctionInfo>,
}

/// A module-level assignment statement (`x = ...`, `a, b = ...`, `x: int = ...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The names bound by the statement.
    pub names: Vec<String>,
    pub start_line: usize,
    pub end_line: usize,
}

/// The structure of one file. `classes` lists nested classes too (as Agentless does); `functions` lists
/// module-level functions, including `async` and decorated ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStructure {
    pub classes: Vec<ClassInfo>,
    pub functions: Vec<FunctionInfo>,
    #[serde(skip)]
    pub assignments: Vec<Assignment>,
    /// The number of tree-sitter ERROR and MISSING nodes.
    #[serde(skip)]
    pub parse_errors: usize,
}

/// Parse one file's text. Never fails: a file with syntax errors yields what tree-sitter recovered and a
/// non-zero `parse_errors`.
pub fn parse_python(source: &str) -> FileStructure {
    with_tree(source, |tree, text| structure_of(tree.root_node(), text))
        .unwrap_or(FileStructure { parse_errors: 1, ..FileStructure::default() })
}

/// Deepest statement nesting followed; deeper definitions (only in pathological files) are not listed.
const MAX_DEPTH: usize = 400;

/// The structure of a parsed file.
pub(crate) fn structure_of(root: Node<'_>, text: &str) -> FileStructure {
    let mut structure = FileStructure { parse_errors: error_count(root), ..FileStructure::default() };
    let mut cursor = root.walk();
    collect_children(&mut cursor, text, None, 0, &mut structure);
    structure.assignments = module_assignments(root, text);
    structure
}

/// Visits the children of the cursor's node; `class` is the index of the class whose body they are.
fn collect_children(
    cursor: &mut TreeCursor<'_>,
    text: &str,
    class: Option<usize>,
    depth: usize,
    out: &mut FileStructure,
) {
    if depth > MAX_DEPTH || !cursor.goto_first_child() {
        return;
    }
    loop {
        collect_statement(cursor, text, class, depth, out);
        if !cursor.goto_next_sibling() {
            break;
        }
    }
    cursor.goto_parent();
}

fn collect_statement(
    cursor: &mut TreeCursor<'_>,
    text: &str,
    class: Option<usize>,
    depth: usize,
    out: &mut FileStructure,
) {
    let kinds = &*KINDS;
    let node = cursor.node();
    let kind = node.kind_id();
    if kind == kinds.decorated_definition {
        if let Some(definition) = field_child(node, kinds.field_definition) {
            let mut inner = definition.walk();
            collect_statement(&mut inner, text, class, depth + 1, out);
        }
    } else if kind == kinds.function_definition {
        let info = FunctionInfo {
            name: definition_name(node, text),
            start_line: node.start_position().row + 1,
            end_line: last_token_line(node),
        };
        match class.and_then(|index| out.classes.get_mut(index)) {
            Some(owner) => owner.methods.push(info),
            None => out.functions.push(info),
        }
        descend_into_body(node, text, None, depth, out);
    } else if kind == kinds.class_definition {
        out.classes.push(ClassInfo {
            name: definition_name(node, text),
            start_line: node.start_position().row + 1,
            end_line: last_token_line(node),
            methods: Vec::new(),
        });
        let index = out.classes.len() - 1;
        descend_into_body(node, text, Some(index), depth, out);
    } else if kind == kinds.module || kind == kinds.block || node.is_error() || kinds.is_statement_holder(kind) {
        collect_children(cursor, text, None, depth + 1, out);
    }
}

fn descend_into_body(node: Node<'_>, text: &str, class: Option<usize>, depth: usize, out: &mut FileStructure) {
    if let Some(body) = field_child(node, KINDS.field_body) {
        let mut cursor = body.walk();
        collect_children(&mut cursor, text, class, depth + 1, out);
    }
}

fn definition_name(node: Node<'_>, text: &str) -> String {
    field_child(node, KINDS.field_name)
        .and_then(|name| text.get(name.start_byte()..name.end_byte()))
        .unwrap_or_default()
        .to_owned()
}

/// Assignment statements that are direct children of the module.
fn module_assignments(root: Node<'_>, text: &str) -> Vec<Assignment> {
    let kinds = &*KINDS;
    let mut assignments = Vec::new();
    let mut cursor = root.walk();
    if !cursor.goto_first_child() {
        return assignments;
    }
    loop {
        let statement = cursor.node();
        if statement.kind_id() == kinds.expression_statement
            && let Some(inner) = statement.named_child(0)
            && (inner.kind_id() == kinds.assignment || inner.kind_id() == kinds.augmented_assignment)
        {
            let mut names = Vec::new();
            let mut current = Some(inner);
            while let Some(assignment) = current {
                if let Some(left) = field_child(assignment, kinds.field_left) {
                    bound_names(left, text, &mut names);
                }
                current =
                    field_child(assignment, kinds.field_right).filter(|right| right.kind_id() == kinds.assignment);
            }
            assignments.push(Assignment {
                names,
                start_line: statement.start_position().row + 1,
                end_line: last_token_line(statement),
            });
        }
        if !cursor.goto_next_sibling() {
            break;
        }
    }
    assignments
}

/// Names bound by an assignment target: plain names, also inside tuples, lists and starred targets. Attribute and
/// subscript targets bind no name.
fn bound_names(target: Node<'_>, text: &str, out: &mut Vec<String>) {
    let kinds = &*KINDS;
    let kind = target.kind_id();
    if kind == kinds.identifier {
        if let Some(name) = text.get(target.start_byte()..target.end_byte()) {
            out.push(name.to_owned());
        }
    } else if [
        kinds.pattern_list,
        kinds.tuple_pattern,
        kinds.list_pattern,
        kinds.list_splat_pattern,
        kinds.parenthesized_expression,
        kinds.tuple,
        kinds.list,
    ]
    .contains(&kind)
    {
        let mut cursor = target.walk();
        for child in target.named_children(&mut cursor) {
            bound_names(child, text, out);
        }
    }
}

#[cfg(test)]
#[path = "structure_tests.rs"]
mod tests;
