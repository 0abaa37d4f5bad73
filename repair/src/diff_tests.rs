use super::*;

fn diff(path: &str, old: &str, new: &str) -> String {
    file_diff(&FileChange { path, old: Some(old), new: Some(new) })
}

#[test]
fn identical_files_give_no_diff() {
    assert_eq!(diff("a.py", "x = 1\n", "x = 1\n"), "");
}

#[test]
fn change_in_the_middle_has_three_lines_of_context_and_a_function_line() {
    let old =
        "import os\n\n\ndef f(x):\n    z = 0\n    a = 1\n    b = 2\n    c = 3\n    d = 4\n    e = 5\n    return x\n";
    let new = old.replace("c = 3", "c = 30");
    insta::assert_snapshot!(diff("pkg/mod.py", old, &new), @r"
    diff --git a/pkg/mod.py b/pkg/mod.py
    --- a/pkg/mod.py
    +++ b/pkg/mod.py
    @@ -5,7 +5,7 @@ def f(x):
         z = 0
         a = 1
         b = 2
    -    c = 3
    +    c = 30
         d = 4
         e = 5
         return x
    ");
}

#[test]
fn missing_final_newline_is_marked_on_both_sides() {
    insta::assert_snapshot!(diff("a.py", "x = 1\ny = 2", "x = 1\ny = 3"), @r"
    diff --git a/a.py b/a.py
    --- a/a.py
    +++ b/a.py
    @@ -1,2 +1,2 @@
     x = 1
    -y = 2
    \ No newline at end of file
    +y = 3
    \ No newline at end of file
    ");
    insta::assert_snapshot!(diff("a.py", "x = 1", "x = 1\n"), @r"
    diff --git a/a.py b/a.py
    --- a/a.py
    +++ b/a.py
    @@ -1 +1 @@
    -x = 1
    \ No newline at end of file
    +x = 1
    ");
}

#[test]
fn new_deleted_and_empty_files() {
    insta::assert_snapshot!(file_diff(&FileChange { path: "n.py", old: None, new: Some("a\nb\n") }), @r"
    diff --git a/n.py b/n.py
    new file mode 100644
    --- /dev/null
    +++ b/n.py
    @@ -0,0 +1,2 @@
    +a
    +b
    ");
    insta::assert_snapshot!(file_diff(&FileChange { path: "d.py", old: Some("a\n"), new: None }), @r"
    diff --git a/d.py b/d.py
    deleted file mode 100644
    --- a/d.py
    +++ /dev/null
    @@ -1 +0,0 @@
    -a
    ");
    insta::assert_snapshot!(diff("e.py", "", "a\n"), @r"
    diff --git a/e.py b/e.py
    --- a/e.py
    +++ b/e.py
    @@ -0,0 +1 @@
    +a
    ");
}

#[test]
fn distant_changes_make_two_hunks_and_close_ones_one() {
    let old: String = (1..=20).map(|n| format!("line{n}\n")).collect();
    let far = old.replace("line2\n", "two\n").replace("line18\n", "eighteen\n");
    let hunks = diff("a.txt", &old, &far).matches("\n@@ ").count();
    assert_eq!(hunks, 2);
    // Six unchanged lines between two changes still make one hunk, as in git.
    let close = old.replace("line2\n", "two\n").replace("line9\n", "nine\n");
    assert_eq!(diff("a.txt", &old, &close).matches("\n@@ ").count(), 1);
    let apart = old.replace("line2\n", "two\n").replace("line10\n", "ten\n");
    assert_eq!(diff("a.txt", &old, &apart).matches("\n@@ ").count(), 2);
}

#[test]
fn function_line_search_stops_at_the_previous_hunk_and_keeps_its_text() {
    let mut old = String::from("class A:\n");
    old.extend((1..=30).map(|n| format!("    x{n} = {n}\n")));
    let new = old.replace("x5 = 5", "x5 = 50").replace("x25 = 25", "x25 = 250");
    let out = diff("a.py", &old, &new);
    let headers: Vec<&str> = out.lines().filter(|line| line.starts_with("@@")).collect();
    assert_eq!(headers, ["@@ -3,7 +3,7 @@ class A:", "@@ -23,7 +23,7 @@ class A:"]);
}

#[test]
fn long_function_lines_are_cut_to_80_bytes() {
    let long = format!("def {}():\n", "f".repeat(100));
    let old = format!("{long}    a = 1\n    b = 2\n    c = 3\n    d = 4\n");
    let new = old.replace("d = 4", "d = 5");
    let out = diff("a.py", &old, &new);
    let header = out.lines().find(|line| line.starts_with("@@")).unwrap_or_default();
    assert_eq!(header, format!("@@ -2,4 +2,4 @@ def {}", "f".repeat(76)));
}

#[test]
fn crlf_lines_are_kept_verbatim() {
    let out = diff("w.py", "a = 1\r\nb = 2\r\n", "a = 1\r\nb = 3\r\n");
    assert!(out.contains("-b = 2\r\n+b = 3\r\n"), "{out:?}");
}

#[test]
fn python_files_name_indented_definitions_as_git_python_rule_does() {
    let mut old = String::from("class A:\n    async  def run(self):\n");
    old.extend((1..=8).map(|n| format!("        x{n} = {n}\n")));
    let new = old.replace("x7 = 7", "x7 = 70");
    let header = |path: &str| {
        let out = diff(path, &old, &new);
        out.lines().find(|line| line.starts_with("@@")).unwrap_or_default().to_owned()
    };
    assert_eq!(header("a.py"), "@@ -6,5 +6,5 @@ async  def run(self):");
    assert_eq!(header("a.txt"), "@@ -6,5 +6,5 @@ class A:");
    assert_eq!(python_function_line("    define = 1\n"), None);
    assert_eq!(python_function_line("\tclass B(A):  \n").as_deref(), Some("class B(A):"));
}
