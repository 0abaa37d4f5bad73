//! Reading a repository snapshot and parsing its Python: structure, skeletons and syntax checks.

pub mod check;
pub mod index;
pub mod skeleton;
pub mod source;
pub mod structure;

pub use check::syntax_error_count;
pub use index::{IndexOptions, IndexStats, RepoIndex};
pub use skeleton::{SkeletonOptions, skeleton};
pub use source::{RepoSnapshot, SourceError, SourceKind};
pub use structure::{Assignment, ClassInfo, FileStructure, FunctionInfo, parse_python};
pub mod normalize;
