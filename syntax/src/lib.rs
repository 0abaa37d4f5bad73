//! Reading a repository snapshot and parsing its Python: structure, skeletons and syntax checks.

mod cache;
pub mod check;
pub mod encoding;
pub mod index;
pub mod normalize;
pub mod outline;
mod parse;
mod scan;
pub mod skeleton;
mod skeleton_writer;
pub mod source;
pub mod structure;

pub use check::syntax_error_count;
pub use encoding::decode_python;
pub use index::{IndexOptions, IndexStats, IndexedFile, RepoIndex};
pub use outline::{scan_skeleton, scan_structure};
pub use skeleton::{Placeholders, SkeletonOptions, skeleton};
pub use source::{RepoSnapshot, SourceError, SourceKind};
pub use structure::{Assignment, ClassInfo, FileStructure, FunctionInfo, parse_python};
