//! Canonical text of a Python file for patch deduplication: comments and docstrings removed, formatting
//! canonicalized from the tree-sitter tree (the original uses `ast.unparse`).
