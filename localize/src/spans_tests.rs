use pretty_assertions::assert_eq;

use super::*;

const SHAPES: &str = r#"import math

ORIGIN = (0, 0)
WIDTH, HEIGHT = 640, 480


class Shape:
    """A shape."""

    def area(self):
        return 0

    def describe(self):
        return f"{self.area()}"


class Circle(Shape):
    def __init__(self, radius):
        self.radius = radius

    def area(self):
        return math.pi * self.radius**2


def scale(shape, factor):
    return shape


def only_here(self):
    pass


ORIGIN = (1, 1)
"#;

fn shapes() -> SourceFile {
    SourceFile::new(SHAPES.to_owned())
}

fn span(start: usize, end: usize) -> LineSpan {
    LineSpan { start, end }
}

#[test]
fn loc_lines_are_read_leniently() {
    let parse = |line: &str| LocLine::parse(line).map(|loc| loc.render());
    assert_eq!(parse("function: Shape.area"), Some("function: Shape.area".to_owned()));
    assert_eq!(parse("- function: `Shape.area()`"), Some("function: Shape.area".to_owned()));
    assert_eq!(parse("  * **Class:** Circle"), Some("class: Circle".to_owned()));
    assert_eq!(parse("1. method: describe"), Some("function: describe".to_owned()));
    assert_eq!(parse("lines: 10-12"), Some("line: 10-12".to_owned()));
    assert_eq!(parse("variable: WIDTH, HEIGHT"), Some("variable: WIDTH, HEIGHT".to_owned()));
    assert_eq!(parse("shapes.py"), None);
    assert_eq!(parse("function:"), None);
    assert_eq!(parse("Note: the bug is here"), None);
}

#[test]
fn classes_functions_methods_and_variables_resolve_like_agentless() {
    let file = shapes();
    assert_eq!(file.resolve(&["class: Circle"]), vec![span(17, 22)]);
    assert_eq!(file.resolve(&["function: scale"]), vec![span(25, 26)]);
    assert_eq!(file.resolve(&["function: Circle.area"]), vec![span(21, 22)]);
    // `class: C.m` is a method.
    assert_eq!(file.resolve(&["class: Shape.describe"]), vec![span(13, 14)]);
    // A bare method name: of the current class, else the only method of that name.
    assert_eq!(file.resolve(&["class: Circle\nfunction: area"]), vec![span(17, 22), span(21, 22)]);
    assert_eq!(file.resolve(&["function: describe"]), vec![span(13, 14)]);
    assert_eq!(file.resolve(&["function: area"]), vec![], "two classes have `area`");
    // The current class does not carry over to the next string.
    assert_eq!(file.resolve(&["class: Circle", "function: area"]), vec![span(17, 22)]);
    // A module path in front of a function falls back to the function.
    assert_eq!(file.resolve(&["function: shapes.scale"]), vec![span(25, 26)]);
    // The last binding of a global wins; tuple targets bind every name.
    assert_eq!(file.resolve(&["variable: ORIGIN"]), vec![span(33, 33)]);
    assert_eq!(file.resolve(&["variable: WIDTH HEIGHT"]), vec![span(4, 4), span(4, 4)]);
    assert_eq!(file.resolve(&["line: 11\nline: 5-7\nline: 999\nline: abc"]), vec![span(11, 11), span(5, 7)]);
    assert_eq!(file.resolve(&["class: Missing\nfunction: Missing.m\nvariable: nothing"]), vec![]);
}

#[test]
fn context_spans_are_widened_clipped_and_merged() {
    let file = shapes();
    assert_eq!(file.line_count(), 33);
    assert_eq!(file.context_spans(&["line: 2\nline: 32"], 3), vec![span(1, 5), span(29, 33)]);
    assert_eq!(file.context_spans(&["function: Shape.area\nfunction: Shape.describe"], 1), vec![span(9, 15)]);
    // Touching spans join too.
    assert_eq!(file.context_spans(&["line: 10\nline: 12"], 0), vec![span(10, 10), span(12, 12)]);
    assert_eq!(file.context_spans(&["line: 10\nline: 11"], 0), vec![span(10, 11)]);
    assert_eq!(file.context_spans(&["class: Nope"], 10), vec![]);
}

#[test]
fn merging_sorts_and_joins_overlaps() {
    let merged = merge_spans(vec![span(20, 30), span(1, 5), span(4, 9), span(10, 12), span(25, 26)]);
    assert_eq!(merged, vec![span(1, 12), span(20, 30)]);
    assert_eq!(merge_spans(Vec::new()), vec![]);
}

#[test]
fn segments_are_numbered_with_gaps_marked() {
    let file = shapes();
    let rendered = file.render_segments(&file.context_spans(&["function: scale\nline: 1"], 1), true);
    insta::assert_snapshot!(rendered, @r"
    1|import math
    2|
    ...
    24|
    25|def scale(shape, factor):
    26|    return shape
    27|
    ...
    ");
    let bare = file.render_segments(&[span(32, 33)], false);
    assert_eq!(bare, "...\n\nORIGIN = (1, 1)");
}
