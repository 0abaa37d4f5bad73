//! Syntax checks: how many ERROR and MISSING nodes tree-sitter finds in a text.

use tree_sitter::Node;

use crate::parse::with_tree;

/// The number of ERROR and MISSING nodes in `source` parsed as Python.
pub fn syntax_error_count(source: &str) -> usize {
    with_tree(source, |tree, _| error_count(tree.root_node())).unwrap_or(1)
}

/// ERROR and MISSING nodes below `root`, visiting only subtrees that contain an error.
pub(crate) fn error_count(root: Node<'_>) -> usize {
    if !root.has_error() {
        return 0;
    }
    let mut count = 0;
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            count += 1;
        }
        if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::syntax_error_count;

    #[test]
    fn clean_code_has_no_errors() {
        assert_eq!(syntax_error_count("def f(x):\n    return x + 1\n"), 0);
        assert_eq!(syntax_error_count(""), 0);
    }

    #[test]
    fn broken_code_has_errors() {
        assert!(syntax_error_count("def f(x:\n    return x +\n") > 0);
        assert!(syntax_error_count("class A\n    pass\n") > 0);
        assert!(syntax_error_count("x = (1, 2\n") > 0);
    }

    #[test]
    fn parser_is_reused_across_calls() {
        let counts: Vec<usize> = (0..50).map(|n| syntax_error_count(&format!("x{n} = {n}\n"))).collect();
        assert!(counts.iter().all(|&count| count == 0));
    }
}
