use super::*;

#[test]
fn classes_methods_functions_and_assignments_have_exact_spans() {
    let source = "\
import os

LIMIT: int = 3
a, (b, c) = 1, (2, 3)


@decorated
class Outer:
    class Inner:
        def deep(self):
            pass

    async def fetch(self):
        return 1


async def main():
    x = 1
    return x
";
    let structure = parse_python(source);
    assert_eq!(structure.parse_errors, 0);
    let classes: Vec<(&str, usize, usize, Vec<&str>)> = structure
        .classes
        .iter()
        .map(|class| {
            let methods = class.methods.iter().map(|method| method.name.as_str()).collect();
            (class.name.as_str(), class.start_line, class.end_line, methods)
        })
        .collect();
    // The decorator is above `class Outer` (line 8, as `ast` reports); the nested class is listed too.
    assert_eq!(classes, [("Outer", 8, 14, vec!["fetch"]), ("Inner", 9, 11, vec!["deep"])]);
    assert_eq!(structure.functions, [FunctionInfo { name: "main".to_owned(), start_line: 17, end_line: 19 }]);
    let assigned: Vec<(Vec<&str>, usize)> = structure
        .assignments
        .iter()
        .map(|assignment| (assignment.names.iter().map(String::as_str).collect(), assignment.start_line))
        .collect();
    assert_eq!(assigned, [(vec!["LIMIT"], 3), (vec!["a", "b", "c"], 4)], "function locals are not module assignments");
}

#[test]
fn syntax_errors_are_counted_and_what_parses_is_kept() {
    let structure = parse_python("def good():\n    pass\n\ndef bad(:\n    pass\n");
    assert!(structure.parse_errors > 0);
    assert_eq!(structure.functions.first().map(|function| function.name.as_str()), Some("good"));
}
