//! Location strings (`class: C`, `function: C.m`, `variable: V`, `line: N`) resolved to line spans of one file,
//! widened by a context window, merged, and rendered as code segments the way Agentless shows them.
//!
//! Resolution follows Agentless's `transfer_arb_locs_to_locs`:
//! - `class: C` is the whole class and makes `C` the current class of the rest of that location string;
//!   `class: C.m` is read as `function: C.m`.
//! - `function: f` is a module-level function; failing that, a method `f` of the current class; failing that,
//!   the one method named `f` in the file (none if several classes have one).
//! - `function: C.m` is method `m` of class `C`. Longer paths (`pkg.C.m`) use their last two names; when that
//!   is not a method, the last name is looked up as a bare `function:`.
//! - `variable: a b` is the last module-level assignment binding each name.
//! - `line: N` is line `N`; `line: N-M` (a lenient addition) lines `N` to `M`.
//!
//! Deliberate differences from the original: a `line:` outside the file resolves to nothing (the original clips
//! it to the last line and counts it as valid); merged spans also join when they touch (the original only
//! joins overlapping ones, then prints `...` between two adjacent segments); and `...` is printed before the
//! first segment only when it starts after line 1 (the original also prints it when the window was clipped to
//! line 1 exactly).

use agentless_syntax::{ClassInfo, FileStructure, FunctionInfo, parse_python};

/// An inclusive range of 1-based line numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineSpan {
    pub start: usize,
    pub end: usize,
}

impl LineSpan {
    /// `[start, end]`, the shape written to `locations.json`.
    pub fn to_pair(self) -> [usize; 2] {
        [self.start, self.end]
    }
}

/// The kinds of location a model may name, as they appear before the colon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocKind {
    Class,
    Function,
    Variable,
    Line,
}

impl LocKind {
    fn keyword(self) -> &'static str {
        match self {
            LocKind::Class => "class",
            LocKind::Function => "function",
            LocKind::Variable => "variable",
            LocKind::Line => "line",
        }
    }
}

/// One location line, normalized: `function: Money.rounded` from `- **Function:** \`Money.rounded()\``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocLine {
    pub kind: LocKind,
    pub target: String,
}

impl LocLine {
    /// Read one line leniently: list markers, emphasis and backticks go, the keyword is case-insensitive
    /// (`method:` counts as `function:`, `lines:` as `line:`), call parentheses after a name go. `None` when
    /// the line is not a location.
    pub fn parse(line: &str) -> Option<Self> {
        let cleaned = strip_list_marker(line.trim()).replace(['`', '*'], "");
        let (keyword, rest) = cleaned.split_once(':')?;
        let kind = match keyword.trim().to_ascii_lowercase().as_str() {
            "class" => LocKind::Class,
            "function" | "method" | "def" => LocKind::Function,
            "variable" | "var" => LocKind::Variable,
            "line" | "lines" => LocKind::Line,
            _ => return None,
        };
        let rest = rest.trim();
        let target = match kind {
            LocKind::Class | LocKind::Function => rest.split(['(', ' ', ':']).next().unwrap_or_default().to_owned(),
            LocKind::Variable | LocKind::Line => rest.to_owned(),
        };
        (!target.is_empty()).then_some(Self { kind, target })
    }

    /// The line as stored in `locations.json`: `keyword: target`.
    pub fn render(&self) -> String {
        format!("{}: {}", self.kind.keyword(), self.target)
    }
}

/// Drop a leading `-`, `*`, `+`, `1.` or `1)` list marker.
pub(crate) fn strip_list_marker(line: &str) -> &str {
    if let Some(rest) = line.strip_prefix(['-', '*', '+'])
        && (rest.is_empty() || rest.starts_with(' '))
    {
        return rest.trim_start();
    }
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0
        && let Some(rest) = line[digits..].strip_prefix(['.', ')'])
        && (rest.is_empty() || rest.starts_with(' '))
    {
        return rest.trim_start();
    }
    line
}

/// A file's text and structure: what location strings are resolved against, and what segments are cut from.
#[derive(Debug, Clone)]
pub struct SourceFile {
    text: String,
    line_count: usize,
    structure: FileStructure,
}

impl SourceFile {
    /// Parse `text` (the structure comes from `agentless_syntax::parse_python`).
    pub fn new(text: String) -> Self {
        let structure = parse_python(&text);
        Self::with_structure(text, structure)
    }

    pub fn with_structure(text: String, structure: FileStructure) -> Self {
        let line_count = text.lines().count();
        Self { text, line_count, structure }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn structure(&self) -> &FileStructure {
        &self.structure
    }

    /// The number of lines, as Python's `splitlines()` counts them.
    pub fn line_count(&self) -> usize {
        self.line_count
    }

    /// The spans named by location strings, in order, unwidened. Each string is one block of lines (as in
    /// `found_related_locs[file]`); the current class starts empty in every block.
    pub fn resolve<S: AsRef<str>>(&self, locs: &[S]) -> Vec<LineSpan> {
        let mut spans = Vec::new();
        for block in locs {
            let mut current_class: Option<&ClassInfo> = None;
            for loc in block.as_ref().lines().filter_map(LocLine::parse) {
                match loc.kind {
                    LocKind::Class if !loc.target.contains('.') => {
                        if let Some(class) = self.class_named(&loc.target) {
                            spans.push(LineSpan { start: class.start_line, end: class.end_line });
                            current_class = Some(class);
                        }
                    }
                    LocKind::Class | LocKind::Function => {
                        if let Some(function) = self.function_named(&loc.target, current_class) {
                            spans.push(LineSpan { start: function.start_line, end: function.end_line });
                        }
                    }
                    LocKind::Variable => spans.extend(
                        loc.target
                            .split(|c: char| c.is_whitespace() || c == ',')
                            .filter(|name| !name.is_empty())
                            .filter_map(|name| self.assignment_of(name)),
                    ),
                    LocKind::Line => spans.extend(self.line_range(&loc.target)),
                }
            }
        }
        spans
    }

    /// [`SourceFile::resolve`], each span widened by `context_window` lines on both sides (clipped to the file),
    /// sorted and merged.
    pub fn context_spans<S: AsRef<str>>(&self, locs: &[S], context_window: usize) -> Vec<LineSpan> {
        let widened = self.resolve(locs).into_iter().map(|span| LineSpan {
            start: span.start.saturating_sub(context_window).max(1),
            end: (span.end + context_window).min(self.line_count),
        });
        merge_spans(widened.collect())
    }

    /// The lines of `spans` (sorted, disjoint) as Agentless's `line_wrap_content` prints them: `N|code` when
    /// `numbered`, bare lines otherwise, and a `...` line for every gap, including before the first segment and
    /// after the last when they do not reach the ends of the file.
    pub fn render_segments(&self, spans: &[LineSpan], numbered: bool) -> String {
        let lines: Vec<&str> = self.text.lines().collect();
        let mut out: Vec<String> = Vec::new();
        let mut next_line = 1;
        for span in spans {
            if span.start > next_line {
                out.push("...".to_owned());
            }
            let end = span.end.min(lines.len());
            for number in span.start.max(1)..=end {
                let code = lines.get(number - 1).copied().unwrap_or_default();
                out.push(if numbered { format!("{number}|{code}") } else { code.to_owned() });
            }
            next_line = end + 1;
        }
        if next_line <= lines.len() {
            out.push("...".to_owned());
        }
        out.join("\n")
    }

    fn class_named(&self, name: &str) -> Option<&ClassInfo> {
        self.structure.classes.iter().find(|class| class.name == name)
    }

    /// A dotted name is `Class.method` (its last two parts), falling back to its last part as a bare name.
    fn function_named<'a>(&'a self, target: &str, current_class: Option<&'a ClassInfo>) -> Option<&'a FunctionInfo> {
        let mut parts = target.rsplit('.');
        let name = parts.next().unwrap_or_default();
        if let Some(class_name) = parts.next()
            && let Some(method) = self.class_named(class_name).and_then(|class| method_of(class, name))
        {
            return Some(method);
        }
        self.structure
            .functions
            .iter()
            .find(|function| function.name == name)
            .or_else(|| current_class.and_then(|class| method_of(class, name)))
            .or_else(|| {
                let mut methods = self.structure.classes.iter().filter_map(|class| method_of(class, name));
                let first = methods.next();
                first.filter(|_| methods.next().is_none())
            })
    }

    /// The last module-level assignment binding `name` (a later binding replaces an earlier one, as in the
    /// original's dictionary of globals).
    fn assignment_of(&self, name: &str) -> Option<LineSpan> {
        self.structure
            .assignments
            .iter()
            .rev()
            .find(|assignment| assignment.names.iter().any(|bound| bound == name))
            .map(|assignment| LineSpan { start: assignment.start_line, end: assignment.end_line })
    }

    /// `N` or `N-M` (the first word), kept only when it starts inside the file.
    fn line_range(&self, target: &str) -> Option<LineSpan> {
        let word = target.split_whitespace().next()?.trim_end_matches([',', '.']);
        let (start, end) = match word.split_once(['-', '–']) {
            Some((start, end)) => (start.trim().parse().ok()?, end.trim().parse().ok()?),
            None => {
                let line = word.parse().ok()?;
                (line, line)
            }
        };
        (start >= 1 && start <= self.line_count && end >= start)
            .then(|| LineSpan { start, end: end.min(self.line_count) })
    }
}

fn method_of<'a>(class: &'a ClassInfo, name: &str) -> Option<&'a FunctionInfo> {
    class.methods.iter().find(|method| method.name == name)
}

/// Sort spans and merge those that overlap or touch.
pub fn merge_spans(mut spans: Vec<LineSpan>) -> Vec<LineSpan> {
    spans.sort_unstable();
    let mut merged: Vec<LineSpan> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end + 1 => last.end = last.end.max(span.end),
            Some(_) | None => merged.push(span),
        }
    }
    merged
}

#[cfg(test)]
#[path = "spans_tests.rs"]
mod tests;
