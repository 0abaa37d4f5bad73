use pretty_assertions::assert_eq;

use super::*;

#[test]
fn canonical_text_of_a_small_module() {
    let source = r#""""Module docstring."""
import os  # comment
from pkg import (a,
    b,)


class A(Base, metaclass = M):
    """Doc."""

    x = [1, 2,
         3,]

    @property
    def f(self, y = 1, *args, **kwargs) -> int:
        # why
        if (y):  return - y
        elif not(y): z = d[ 1 : 2 ]
        else:
            pass
        return f( * args, key = "v" )
"#;
    insta::assert_snapshot!(normalize_python(source), @r"
    import os
    from pkg import a, b
    class A(Base, metaclass=M):
        x = [1, 2, 3]
        @property
        def f(self, y=1, *args, **kwargs) -> int:
            if y:
                return -y
            elif not y:
                z = d[1:2]
            else:
                pass
            return f(*args, key='v')
    ");
}

#[test]
fn formatting_comments_and_docstrings_do_not_matter() {
    let one = "def f(a, b):\n    '''Add.'''\n    return (a +\n            b)  # sum\n";
    let two = "def f(a,b):\n    \"\"\"Adds two numbers.\n\n    More.\n    \"\"\"\n\n    # note\n    return a + b\n";
    let three = "def f(\n    a,\n    b,\n):\n    return a + \\\n        b\n";
    assert_eq!(normalize_python(one), normalize_python(two));
    assert_eq!(normalize_python(one), normalize_python(three));
    assert_eq!(normalize_python(one), "def f(a, b):\n    return a + b\n");
}

#[test]
fn meaning_still_matters() {
    let pairs = [
        ("x = a * (b + c)\n", "x = a * b + c\n"),
        ("x = (1,)\n", "x = (1)\n"),
        ("x = 'a'\n", "x = 'b'\n"),
        ("if a:\n    b()\nc()\n", "if a:\n    b()\n    c()\n"),
        ("x = f'{a}'\n", "x = f'{b}'\n"),
        ("x = r'\\d'\n", "x = '\\d'\n"),
    ];
    for (left, right) in pairs {
        assert_ne!(normalize_python(left), normalize_python(right), "{left:?} vs {right:?}");
    }
}

#[test]
fn strings_are_quoted_as_repr_does() {
    assert_eq!(normalize_python("x = \"a\"\n"), "x = 'a'\n");
    assert_eq!(normalize_python("x = \"it's\"\n"), "x = \"it's\"\n");
    assert_eq!(normalize_python("x = u'a' \"b\"\n"), "x = 'ab'\n");
    assert_eq!(normalize_python("x = b\"\\n\"\n"), "x = b'\\n'\n");
    assert_eq!(normalize_python("x = '''a\nb'''\n"), "x = 'a\\nb'\n");
    assert_eq!(normalize_python("x = r'\\d' + '\\\\d'\n"), "x = '\\\\d' + '\\\\d'\n");
    // Escapes beyond the simple ones are kept as written.
    assert_eq!(normalize_python("x = \"\\x41\"\n"), "x = \"\\x41\"\n");
}

#[test]
fn a_block_left_empty_gets_pass() {
    assert_eq!(normalize_python("class E(Exception):\n    \"\"\"Doc.\"\"\"\n"), "class E(Exception):\n    pass\n");
}

#[test]
fn one_element_tuples_and_yield_keep_what_they_need() {
    assert_eq!(normalize_python("x = (1,)\n"), "x = (1,)\n");
    assert_eq!(normalize_python("def g():\n    return (yield x)\n"), "def g():\n    return (yield x)\n");
    assert_eq!(normalize_python("class A():\n    pass\n"), "class A:\n    pass\n");
}

#[test]
fn broken_code_is_returned_unchanged() {
    let broken = "def f(:\n  # keep\n";
    assert_eq!(normalize_python(broken), broken);
}

#[test]
fn just_new_functions() {
    let old = "def f():\n    return 1\nclass A:\n    def m(self):\n        return 2\n";
    let added_function = format!("{old}def g():\n    return 3\n");
    let added_method = old.replace("        return 2\n", "        return 2\n    def n(self):\n        return 4\n");
    let changed = old.replace("return 1", "return 5");
    let changed_and_added = format!("{changed}def g():\n    return 3\n");
    let removed = "class A:\n    def m(self):\n        return 2\ndef g():\n    return 3\n";
    let global_only = format!("{old}X = 1\n");
    assert!(is_just_new_function(old, &added_function));
    assert!(is_just_new_function(old, &added_method));
    assert!(!is_just_new_function(old, &changed));
    assert!(!is_just_new_function(old, &changed_and_added));
    assert!(!is_just_new_function(old, removed));
    assert!(!is_just_new_function(old, &global_only));
    assert!(!is_just_new_function(old, "def f(:\n"));
}
