//! Structure and skeleton from the scanner's statement tree ([`scan`](crate::scan)): the same rules as
//! [`structure`](crate::structure) and [`skeleton`](crate::skeleton) apply, statement by statement, so for every
//! file the scanner accepts the results are identical to the tree-sitter ones (checked on whole repositories).

use crate::parse::LineStarts;
use crate::scan::{Block, Def, PartKind, Stmt, StmtKind, scan};
use crate::skeleton::SkeletonOptions;
use crate::structure::{Assignment, ClassInfo, FileStructure, FunctionInfo};

/// The structure of `source` read by the scanner, or `None` when the scanner leaves the file to tree-sitter.
pub fn scan_structure(source: &str) -> Option<FileStructure> {
    scan(source).map(|stmts| structure_from(&stmts, source))
}

/// The skeleton of `source` built from the scanner, or `None` when the scanner leaves the file to tree-sitter.
pub fn scan_skeleton(source: &str, options: &SkeletonOptions) -> Option<String> {
    scan(source).map(|stmts| skeleton_from(&stmts, source, options))
}

/// Structure and (with `skeleton`) skeleton of one file from one scan.
pub(crate) fn scan_file(source: &str, skeleton: Option<&SkeletonOptions>) -> Option<(FileStructure, Option<String>)> {
    let stmts = scan(source)?;
    let structure = structure_from(&stmts, source);
    let skeleton = skeleton.map(|options| skeleton_from(&stmts, source, options));
    Some((structure, skeleton))
}

fn slice(text: &str, range: std::ops::Range<usize>) -> String {
    text.get(range).unwrap_or_default().to_owned()
}

pub(crate) fn structure_from(stmts: &[Stmt], text: &str) -> FileStructure {
    let mut structure = FileStructure::default();
    collect(stmts, text, None, &mut structure);
    for stmt in stmts {
        let StmtKind::Simple(parts) = &stmt.kind else { continue };
        for part in parts {
            let names = match &part.kind {
                PartKind::Assign { names, .. } | PartKind::AugAssign { names } => names,
                PartKind::Docstring | PartKind::Other => continue,
            };
            structure.assignments.push(Assignment {
                names: names.iter().map(|range| slice(text, range.clone())).collect(),
                start_line: part.first_row + 1,
                end_line: part.last_row + 1,
            });
        }
    }
    structure
}

fn collect(stmts: &[Stmt], text: &str, class: Option<usize>, out: &mut FileStructure) {
    for stmt in stmts {
        match &stmt.kind {
            StmtKind::Simple(_) => {}
            StmtKind::Def(def) if def.is_class => {
                out.classes.push(ClassInfo {
                    name: slice(text, def.name.clone()),
                    start_line: def.row + 1,
                    end_line: stmt.last_row + 1,
                    methods: Vec::new(),
                });
                let index = out.classes.len() - 1;
                collect(&def.body.stmts, text, Some(index), out);
            }
            StmtKind::Def(def) => {
                let info = FunctionInfo {
                    name: slice(text, def.name.clone()),
                    start_line: def.row + 1,
                    end_line: stmt.last_row + 1,
                };
                match class.and_then(|index| out.classes.get_mut(index)) {
                    Some(owner) => owner.methods.push(info),
                    None => out.functions.push(info),
                }
                collect(&def.body.stmts, text, None, out);
            }
            StmtKind::Compound(clauses) => {
                for clause in clauses {
                    collect(&clause.body.stmts, text, None, out);
                }
            }
        }
    }
}

const INDENT_UNIT: &str = "    ";

pub(crate) fn skeleton_from(stmts: &[Stmt], text: &str, options: &SkeletonOptions) -> String {
    let lines = LineStarts::new(text);
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let writer = Writer { text, lines: &lines, newline, options };
    let mut out = String::with_capacity(text.len() / 3);
    let last_row = lines.count().saturating_sub(1);
    let Some(first) = stmts.first() else {
        out.push_str(text);
        return out;
    };
    writer.push_rows(&mut out, 0, first.first_row);
    let mut previous_end: Option<usize> = None;
    for (index, stmt) in stmts.iter().enumerate() {
        let limit = stmts.get(index + 1).map_or(last_row, |next| next.first_row.saturating_sub(1));
        let owned_end = writer.owned_end(stmt, limit);
        if is_kept_at_module_level(stmt) {
            if let Some(previous_end) = previous_end {
                writer.push_rows(&mut out, previous_end + 1, stmt.first_row);
            }
            writer.render(&mut out, stmt, limit);
        }
        previous_end = Some(owned_end);
    }
    if let Some(previous_end) = previous_end {
        writer.push_rows(&mut out, previous_end + 1, last_row + 1);
    }
    if out.is_empty() && text.ends_with('\n') {
        out.push_str(newline);
    }
    out
}

fn is_kept_at_module_level(stmt: &Stmt) -> bool {
    match &stmt.kind {
        StmtKind::Def(_) => true,
        StmtKind::Simple(parts) => {
            matches!(parts.first().map(|part| &part.kind), Some(PartKind::Assign { typed: false, .. }))
        }
        StmtKind::Compound(_) => false,
    }
}

fn is_docstring_like(stmt: &Stmt) -> bool {
    matches!(&stmt.kind, StmtKind::Simple(parts) if matches!(parts.first().map(|part| &part.kind), Some(PartKind::Docstring)))
}

struct Writer<'a> {
    text: &'a str,
    lines: &'a LineStarts,
    newline: &'a str,
    options: &'a SkeletonOptions,
}

impl Writer<'_> {
    fn push_rows(&self, out: &mut String, from: usize, to: usize) {
        if from >= to {
            return;
        }
        self.push_bytes(out, self.lines.start(from), self.lines.start(to));
    }

    fn push_bytes(&self, out: &mut String, from: usize, to: usize) {
        let Some(slice) = self.text.get(from..to) else { return };
        out.push_str(slice);
        if !slice.is_empty() && !slice.ends_with('\n') {
            out.push_str(self.newline);
        }
    }

    fn text_of(&self, range: Option<std::ops::Range<usize>>) -> &str {
        range.and_then(|range| self.text.get(range)).unwrap_or_default()
    }

    /// The whitespace before byte `start` on row `row`, when only whitespace is there.
    fn indentation_at(&self, row: usize, start: usize) -> Option<&str> {
        let prefix = self.text.get(self.lines.start(row)..start)?;
        prefix.chars().all(|letter| letter == ' ' || letter == '\t').then_some(prefix)
    }

    fn block_indentation(&self, block: &Block) -> Option<&str> {
        let indent = self.text_of(block.indent.clone());
        (!indent.is_empty()).then_some(indent)
    }

    fn owned_end(&self, stmt: &Stmt, limit: usize) -> usize {
        let last = stmt.last_row;
        if stmt.is_simple() {
            return last;
        }
        let Some(indent) = stmt.last_block().and_then(|block| self.block_indentation(block)) else {
            return last;
        };
        (last + 1..=limit)
            .rev()
            .find(|&row| {
                self.text.get(self.lines.start(row)..self.lines.end(row)).is_some_and(|line| line.starts_with(indent))
            })
            .unwrap_or(last)
    }

    fn render(&self, out: &mut String, stmt: &Stmt, limit: usize) {
        match &stmt.kind {
            StmtKind::Def(def) if def.is_class => self.render_class(out, stmt, def, limit),
            StmtKind::Def(def) => self.render_function(out, stmt, def),
            StmtKind::Simple(_) => self.render_simple(out, stmt, self.lines.start(stmt.first_row)),
            StmtKind::Compound(_) => self.render_verbatim(out, stmt, limit),
        }
    }

    fn render_function(&self, out: &mut String, outer: &Stmt, def: &Def) {
        out.push_str(self.text.get(self.lines.start(outer.first_row)..def.colon_end).unwrap_or_default());
        out.push_str(self.newline);
        let indent = match self.block_indentation(&def.body) {
            Some(indent) => indent.to_owned(),
            None => format!("{}{INDENT_UNIT}", self.indentation_at(def.row, def.start).unwrap_or_default()),
        };
        out.push_str(self.options.placeholders.indent(&indent));
        out.push_str("...");
        out.push_str(self.newline);
    }

    fn render_class(&self, out: &mut String, outer: &Stmt, class: &Def, limit: usize) {
        let header_row = class.colon_row;
        out.push_str(self.text.get(self.lines.start(outer.first_row)..class.colon_end).unwrap_or_default());
        out.push_str(self.newline);
        let body_indent = match self.block_indentation(&class.body) {
            Some(indent) => indent.to_owned(),
            None => format!("{}{INDENT_UNIT}", self.indentation_at(class.row, class.start).unwrap_or_default()),
        };
        let stmts = &class.body.stmts;
        let mut previous_end = header_row;
        let mut kept_any = false;
        for (index, stmt) in stmts.iter().enumerate() {
            let stmt_limit = stmts.get(index + 1).map_or(limit, |next| next.first_row.saturating_sub(1));
            let owned_end = self.owned_end(stmt, stmt_limit);
            if !is_docstring_like(stmt) {
                kept_any = true;
                if stmt.first_row == header_row {
                    out.push_str(&body_indent);
                    self.render_simple(out, stmt, stmt.start);
                } else {
                    self.push_rows(out, previous_end + 1, stmt.first_row);
                    self.render(out, stmt, stmt_limit);
                }
            }
            previous_end = owned_end.max(previous_end);
        }
        if !kept_any {
            out.push_str(&body_indent);
            out.push_str("pass");
            out.push_str(self.newline);
        }
    }

    fn render_simple(&self, out: &mut String, stmt: &Stmt, from: usize) {
        let end = self.lines.end(stmt.last_row);
        match self.compressed_rows(stmt) {
            Some((cut_from, cut_to)) => {
                self.push_bytes(out, from, self.lines.start(cut_from));
                let first_cut = self.text.get(self.lines.start(cut_from)..self.lines.end(cut_from)).unwrap_or_default();
                let indent_len = first_cut.len() - first_cut.trim_start_matches([' ', '\t']).len();
                out.push_str(self.options.placeholders.indent(first_cut.get(..indent_len).unwrap_or_default()));
                out.push_str("...");
                out.push_str(self.newline);
                self.push_bytes(out, self.lines.start(cut_to + 1), end);
            }
            None => self.push_bytes(out, from, end),
        }
    }

    fn compressed_rows(&self, stmt: &Stmt) -> Option<(usize, usize)> {
        let StmtKind::Simple(parts) = &stmt.kind else { return None };
        let options = self.options;
        parts.iter().filter(|part| matches!(part.kind, PartKind::Assign { .. })).find_map(|part| {
            let (start, end) = (part.first_row, part.last_row);
            (end - start > options.compress_assign_over
                && start + options.keep_prefix <= end.saturating_sub(options.keep_suffix))
            .then(|| (start + options.keep_prefix, end - options.keep_suffix))
        })
    }

    fn render_verbatim(&self, out: &mut String, stmt: &Stmt, limit: usize) {
        let end_row = self.owned_end(stmt, limit);
        let mut position = self.lines.start(stmt.first_row);
        let mut splices = Vec::new();
        self.collect_splices(stmt, limit, &mut splices);
        for (from_row, to_row, rendered) in splices {
            let from = self.lines.start(from_row);
            if from < position {
                continue;
            }
            out.push_str(self.text.get(position..from).unwrap_or_default());
            out.push_str(&rendered);
            position = self.lines.end(to_row);
        }
        self.push_bytes(out, position, self.lines.end(end_row));
    }

    fn collect_splices(&self, holder: &Stmt, limit: usize, splices: &mut Vec<(usize, usize, String)>) {
        let StmtKind::Compound(clauses) = &holder.kind else { return };
        for (index, clause) in clauses.iter().enumerate() {
            let clause_limit = clauses.get(index + 1).map_or(limit, |next| next.first_row.saturating_sub(1));
            let stmts = &clause.body.stmts;
            for (position, stmt) in stmts.iter().enumerate() {
                let stmt_limit = stmts.get(position + 1).map_or(clause_limit, |next| next.first_row.saturating_sub(1));
                match &stmt.kind {
                    StmtKind::Def(_) => {
                        let mut rendered = String::new();
                        self.render(&mut rendered, stmt, stmt_limit);
                        let end = self.owned_end(stmt, stmt_limit);
                        splices.push((stmt.first_row, end, rendered));
                    }
                    StmtKind::Simple(_) => {
                        if self.compressed_rows(stmt).is_some() {
                            let mut rendered = String::new();
                            self.render_simple(&mut rendered, stmt, self.lines.start(stmt.first_row));
                            splices.push((stmt.first_row, stmt.last_row, rendered));
                        }
                    }
                    StmtKind::Compound(_) => self.collect_splices(stmt, stmt_limit, splices),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "outline_tests.rs"]
mod tests;
