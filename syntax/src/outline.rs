//! Structure and skeleton from the scanner's statement tree ([`scan`](crate::scan)): the same rules as
//! [`structure`](crate::structure) and [`skeleton`](crate::skeleton) apply, statement by statement, so for every
//! file the scanner accepts the results are identical to the tree-sitter ones (checked on whole repositories).

use crate::scan::{Block, Def, PartKind, Stmt, StmtKind, scan};
use crate::skeleton::SkeletonOptions;
use crate::skeleton_writer::{ModuleStatements, SkeletonWriter, Splice};
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

pub(crate) fn skeleton_from(stmts: &[Stmt], text: &str, options: &SkeletonOptions) -> String {
    let walker = ScanSkeleton { writer: SkeletonWriter::new(text, options) };
    walker.writer.module(&walker, stmts)
}

fn is_docstring_like(stmt: &Stmt) -> bool {
    matches!(&stmt.kind, StmtKind::Simple(parts) if matches!(parts.first().map(|part| &part.kind), Some(PartKind::Docstring)))
}

/// The skeleton of the scanner's statements.
struct ScanSkeleton<'a> {
    writer: SkeletonWriter<'a>,
}

impl ModuleStatements<Stmt> for ScanSkeleton<'_> {
    fn first_row(&self, stmt: &Stmt) -> usize {
        stmt.first_row
    }

    fn owned_end(&self, stmt: &Stmt, limit: usize) -> usize {
        let block_indent =
            if stmt.is_simple() { None } else { stmt.last_block().and_then(|block| self.block_indentation(block)) };
        self.writer.owned_end(stmt.last_row, block_indent, limit)
    }

    fn is_kept_at_module_level(&self, stmt: &Stmt) -> bool {
        match &stmt.kind {
            StmtKind::Def(_) => true,
            StmtKind::Simple(parts) => {
                matches!(parts.first().map(|part| &part.kind), Some(PartKind::Assign { typed: false, .. }))
            }
            StmtKind::Compound(_) => false,
        }
    }

    fn render(&self, out: &mut String, stmt: &Stmt, limit: usize) {
        match &stmt.kind {
            StmtKind::Def(def) if def.is_class => self.render_class(out, stmt, def, limit),
            StmtKind::Def(def) => self.render_function(out, stmt, def),
            StmtKind::Simple(_) => self.render_simple(out, stmt, self.writer.lines.start(stmt.first_row)),
            StmtKind::Compound(_) => self.render_verbatim(out, stmt, limit),
        }
    }
}

impl ScanSkeleton<'_> {
    fn block_indentation(&self, block: &Block) -> Option<&str> {
        let indent = block.indent.clone().and_then(|range| self.writer.text.get(range)).unwrap_or_default();
        (!indent.is_empty()).then_some(indent)
    }

    fn render_function(&self, out: &mut String, outer: &Stmt, def: &Def) {
        self.writer.push_header(out, outer.first_row, def.colon_end);
        let indent = self.writer.body_indentation(self.block_indentation(&def.body), def.row, def.start);
        self.writer.push_placeholder(out, &indent);
    }

    fn render_class(&self, out: &mut String, outer: &Stmt, class: &Def, limit: usize) {
        let header_row = class.colon_row;
        self.writer.push_header(out, outer.first_row, class.colon_end);
        let body_indent = self.writer.body_indentation(self.block_indentation(&class.body), class.row, class.start);
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
                    self.writer.push_rows(out, previous_end + 1, stmt.first_row);
                    self.render(out, stmt, stmt_limit);
                }
            }
            previous_end = owned_end.max(previous_end);
        }
        if !kept_any {
            self.writer.push_pass(out, &body_indent);
        }
    }

    fn render_simple(&self, out: &mut String, stmt: &Stmt, from: usize) {
        self.writer.push_simple(out, from, stmt.last_row, self.compressed_rows(stmt));
    }

    fn compressed_rows(&self, stmt: &Stmt) -> Option<(usize, usize)> {
        let StmtKind::Simple(parts) = &stmt.kind else { return None };
        parts
            .iter()
            .filter(|part| matches!(part.kind, PartKind::Assign { .. }))
            .find_map(|part| self.writer.compressed_rows(part.first_row, part.last_row))
    }

    fn render_verbatim(&self, out: &mut String, stmt: &Stmt, limit: usize) {
        let end_row = self.owned_end(stmt, limit);
        let mut splices = Vec::new();
        self.collect_splices(stmt, limit, &mut splices);
        self.writer.push_spliced(out, stmt.first_row, end_row, splices);
    }

    fn collect_splices(&self, holder: &Stmt, limit: usize, splices: &mut Vec<Splice>) {
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
                            self.render_simple(&mut rendered, stmt, self.writer.lines.start(stmt.first_row));
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
