//! A candidate's identity and its patch: the two values repair, validation, selection and the reports share.

mod id;
mod patch;

pub use id::{CandidateId, ParseCandidateIdError};
pub use patch::{EmptyPatchError, Patch};
