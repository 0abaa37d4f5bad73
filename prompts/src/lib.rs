//! The prompt templates of every stage, kept as files under `prompts/templates/`, and their rendering.
//!
//! Templates use `{{name}}` placeholders. Rendering fails when a placeholder has no value or a value has no
//! placeholder, so a renamed variable can never silently drop part of a prompt.

use std::fmt;

/// One template file under `prompts/templates/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    /// The system message sent with every request.
    System,
    /// File-level localization: the issue and the repository tree; the model names up to 5 files.
    FileLevel,
    /// The irrelevant-folder filter: the issue and the tree; the model names folders to drop.
    IrrelevantFolders,
    /// One file's skeleton inside the related-elements prompt.
    SkeletonFile,
    /// Related elements: the issue and the skeletons of the top files.
    RelatedElements,
    /// One file's numbered code segments inside the edit-location prompt.
    CodeFile,
    /// Edit locations: the issue and the code around the related elements.
    EditLocations,
    /// Repair: the issue and the code around the edit locations; SEARCH/REPLACE edits come back.
    Repair,
    /// A standalone test that prints `Issue reproduced`, `Issue resolved` or `Other issues`.
    ReproductionTest,
    /// The passing tests the fix may legitimately change, to leave out of the regression run.
    RegressionSelect,
}

impl Template {
    pub const ALL: [Template; 10] = [
        Template::System,
        Template::FileLevel,
        Template::IrrelevantFolders,
        Template::SkeletonFile,
        Template::RelatedElements,
        Template::CodeFile,
        Template::EditLocations,
        Template::Repair,
        Template::ReproductionTest,
        Template::RegressionSelect,
    ];

    /// The file name under `prompts/templates/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Template::System => "system.txt",
            Template::FileLevel => "file_level.txt",
            Template::IrrelevantFolders => "irrelevant_folders.txt",
            Template::SkeletonFile => "skeleton_file.txt",
            Template::RelatedElements => "related_elements.txt",
            Template::CodeFile => "code_file.txt",
            Template::EditLocations => "edit_locations.txt",
            Template::Repair => "repair.txt",
            Template::ReproductionTest => "reproduction_test.txt",
            Template::RegressionSelect => "regression_select.txt",
        }
    }

    /// The template text as shipped.
    pub fn source(self) -> &'static str {
        match self {
            Template::System => include_str!("../templates/system.txt"),
            Template::FileLevel => include_str!("../templates/file_level.txt"),
            Template::IrrelevantFolders => include_str!("../templates/irrelevant_folders.txt"),
            Template::SkeletonFile => include_str!("../templates/skeleton_file.txt"),
            Template::RelatedElements => include_str!("../templates/related_elements.txt"),
            Template::CodeFile => include_str!("../templates/code_file.txt"),
            Template::EditLocations => include_str!("../templates/edit_locations.txt"),
            Template::Repair => include_str!("../templates/repair.txt"),
            Template::ReproductionTest => include_str!("../templates/reproduction_test.txt"),
            Template::RegressionSelect => include_str!("../templates/regression_select.txt"),
        }
    }

    /// Whether the rendering is trimmed of the blank lines around it, as the original `.strip()`s these messages.
    /// Fragments are pasted into another prompt byte for byte, and the original sends its related-elements and
    /// edit-location messages unstripped (`FL.py`: `template.format(...)` with no `.strip()`), so those keep the
    /// newline before and after the text.
    fn is_stripped(self) -> bool {
        match self {
            Template::SkeletonFile | Template::CodeFile | Template::RelatedElements | Template::EditLocations => false,
            Template::System
            | Template::FileLevel
            | Template::IrrelevantFolders
            | Template::Repair
            | Template::ReproductionTest
            | Template::RegressionSelect => true,
        }
    }

    /// Fill every `{{name}}` with its value. Values are inserted verbatim and never re-scanned.
    pub fn render(self, vars: &[(&str, &str)]) -> Result<String, PromptError> {
        let source = self.source();
        let mut out = String::with_capacity(source.len() + vars.iter().map(|(_, v)| v.len()).sum::<usize>());
        let mut used = vec![false; vars.len()];
        let mut rest = source;
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(PromptError::Unclosed { template: self });
            };
            let name = &after[..close];
            let Some(index) = vars.iter().position(|(key, _)| *key == name) else {
                return Err(PromptError::MissingValue { template: self, name: name.to_owned() });
            };
            used[index] = true;
            out.push_str(vars[index].1);
            rest = &after[close + 2..];
        }
        out.push_str(rest);
        if let Some(index) = used.iter().position(|was_used| !was_used) {
            return Err(PromptError::UnusedValue { template: self, name: vars[index].0.to_owned() });
        }
        if self.is_stripped() { Ok(out.trim_matches(is_python_space).to_owned()) } else { Ok(out) }
    }
}

/// Python's `str.isspace`, which `.strip()` uses: Rust's whitespace plus the four separators U+001C..U+001F.
fn is_python_space(letter: char) -> bool {
    letter.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&letter)
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "prompts/templates/{}", self.file_name())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PromptError {
    #[error("{template} has a `{{{{` with no closing `}}}}`")]
    Unclosed { template: Template },
    #[error("{template} needs a value for `{name}`")]
    MissingValue { template: Template, name: String },
    #[error("{template} has no placeholder `{name}`")]
    UnusedValue { template: Template, name: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_has_balanced_placeholders() {
        for template in Template::ALL {
            let source = template.source();
            assert_eq!(source.matches("{{").count(), source.matches("}}").count(), "{template}");
        }
    }

    #[test]
    fn values_are_not_rescanned() {
        let out = Template::SkeletonFile.render(&[("path", "a.py"), ("skeleton", "x = '{{path}}'")]).unwrap();
        insta::assert_snapshot!(out, @r"
        ### File: a.py ###
        ```python
        x = '{{path}}'
        ```
        ");
    }

    #[test]
    fn missing_and_unused_values_are_errors() {
        assert_eq!(
            Template::SkeletonFile.render(&[("path", "a.py")]),
            Err(PromptError::MissingValue { template: Template::SkeletonFile, name: "skeleton".into() })
        );
        assert_eq!(
            Template::System.render(&[("path", "a.py")]),
            Err(PromptError::UnusedValue { template: Template::System, name: "path".into() })
        );
    }

    #[test]
    fn messages_are_trimmed() {
        let out = Template::System.render(&[]).unwrap();
        assert_eq!(out, "You are a helpful assistant.");
        let out = Template::ReproductionTest.render(&[("problem_statement", "x")]).unwrap();
        assert!(out.starts_with("We are") && out.ends_with("```python...```."), "{out}");
    }

    #[test]
    fn trimming_follows_python_strip() {
        let out = Template::FileLevel.render(&[("problem_statement", "x"), ("structure", "y")]).unwrap();
        assert!(!out.ends_with('\n'));
        let out = Template::RegressionSelect.render(&[("problem_statement", "x"), ("passing_tests", "")]).unwrap();
        assert!(out.ends_with("Return only the selected tests."));
        assert!(is_python_space('\u{1f}') && is_python_space('\u{a0}') && !is_python_space('\u{200b}'));
    }

    #[test]
    fn location_messages_keep_their_surrounding_newlines_as_the_original_sends_them() {
        let vars = [("problem_statement", "x"), ("file_contents", "y")];
        for template in [Template::RelatedElements, Template::EditLocations] {
            let out = template.render(&vars).unwrap();
            assert!(out.starts_with("\nPlease ") && out.ends_with(" wrapped with ```.\n"), "{template}: {out:?}");
        }
    }
}
