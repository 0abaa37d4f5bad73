//! `Patch`: a diff that changes something; "no patch" is `Option<Patch>::None`, never an empty string.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A unified diff with at least one non-blank character. Serialized as its text; an empty or blank text does not
/// deserialize (a missing patch is `null`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Patch(String);

impl Patch {
    /// The patch, or `None` when `text` is empty or only whitespace.
    pub fn new(text: String) -> Option<Self> {
        (!text.trim().is_empty()).then_some(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Patch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// The text of a deserialized patch was empty or blank.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an empty patch is written `null`, not as an empty string")]
pub struct EmptyPatchError;

impl TryFrom<String> for Patch {
    type Error = EmptyPatchError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(text).ok_or(EmptyPatchError)
    }
}

impl From<Patch> for String {
    fn from(patch: Patch) -> Self {
        patch.0
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn blank_text_is_no_patch() {
        assert_eq!(Patch::new(String::new()), None);
        assert_eq!(Patch::new(" \n\t".to_owned()), None);
        assert_eq!(Patch::new("+x\n".to_owned()).map(Patch::into_string).as_deref(), Some("+x\n"));
    }

    #[test]
    fn none_is_null_in_json_and_an_empty_string_is_refused() {
        let none: Option<Patch> = None;
        assert_eq!(serde_json::to_string(&none).unwrap(), "null");
        assert_eq!(serde_json::from_str::<Option<Patch>>("null").unwrap(), None);
        assert!(serde_json::from_str::<Option<Patch>>("\"\"").is_err());
        let patch = Patch::new("+x\n".to_owned());
        assert_eq!(serde_json::from_str::<Option<Patch>>(&serde_json::to_string(&patch).unwrap()).unwrap(), patch);
    }
}
