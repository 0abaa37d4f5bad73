//! The Agentless skeleton of a Python file: classes, signatures with decorators and `...` bodies, module- and
//! class-level assignments, long assignments compressed.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkeletonOptions {
    /// Assignments longer than this many lines are compressed (Agentless `--compress_assign_total_lines`, 30).
    pub compress_assign_over: usize,
    /// Lines kept at the start of a compressed assignment (10).
    pub keep_prefix: usize,
    /// Lines kept at the end of a compressed assignment (10).
    pub keep_suffix: usize,
}

impl Default for SkeletonOptions {
    fn default() -> Self {
        Self { compress_assign_over: 30, keep_prefix: 10, keep_suffix: 10 }
    }
}

/// The skeleton of one file's text. A file that does not parse cleanly still gets a skeleton of what was
/// recovered.
pub fn skeleton(source: &str, options: &SkeletonOptions) -> String {
    let _ = (source, options);
    todo!()
}
