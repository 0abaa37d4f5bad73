"""Prints, as JSON, the structure CPython's `ast` sees in each file given: the reference for our tree-sitter one."""
import ast
import json
import sys


def span(node):
    return {"name": node.name, "start_line": node.lineno, "end_line": node.end_lineno}


def names(target):
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in names(element)]
    if isinstance(target, ast.Starred):
        return names(target.value)
    return []


def structure(source):
    tree = ast.parse(source)
    defs = (ast.FunctionDef, ast.AsyncFunctionDef)
    methods = set()
    classes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            direct = [child for child in node.body if isinstance(child, defs)]
            methods.update(id(child) for child in direct)
            classes.append((node, [span(child) for child in direct]))
    classes.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
    functions = [node for node in ast.walk(tree) if isinstance(node, defs) and id(node) not in methods]
    functions.sort(key=lambda node: (node.lineno, node.col_offset))
    assignments = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            bound = [name for target in node.targets for name in names(target)]
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            bound = names(node.target)
        else:
            continue
        assignments.append({"names": bound, "start_line": node.lineno, "end_line": node.end_lineno})
    return {
        "classes": [dict(span(node), methods=found) for node, found in classes],
        "functions": [span(node) for node in functions],
        "assignments": assignments,
    }


result = {}
for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        source = handle.read()
    try:
        result[path] = structure(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # Not valid Python for this interpreter (the callers decide what that means).
        result[path] = None
json.dump(result, sys.stdout)
