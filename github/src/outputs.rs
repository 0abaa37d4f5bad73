//! The step's outputs (`GITHUB_OUTPUT`) and summary (`GITHUB_STEP_SUMMARY`), both appended to the files Actions
//! names.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The action's outputs; those that are `None` are not written, which workflows read as empty.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepOutputs {
    pub patch_path: Option<PathBuf>,
    pub pr_url: Option<String>,
    pub branch: Option<String>,
    pub cost_usd: Option<f64>,
}

impl StepOutputs {
    /// The lines for `GITHUB_OUTPUT`: `name=value`, or the `name<<DELIMITER` form for a value with a line break.
    pub fn render(&self) -> String {
        let values = [
            ("patch-path", self.patch_path.as_ref().map(|path| path.display().to_string())),
            ("pr-url", self.pr_url.clone()),
            ("branch", self.branch.clone()),
            ("cost", self.cost_usd.map(|cost| format!("{cost:.4}"))),
        ];
        let mut text = String::new();
        for (name, value) in values {
            let Some(value) = value else { continue };
            if value.contains('\n') || value.contains('\r') {
                let delimiter = format!("agentless_{:016x}", fastrand::u64(..));
                text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
            } else {
                text.push_str(&format!("{name}={value}\n"));
            }
        }
        text
    }
}

/// Appends `text` to the file at `path`, creating it if needed.
pub fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = fs_err::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn outputs_use_the_heredoc_form_only_for_line_breaks() {
        let outputs = StepOutputs {
            patch_path: Some("/runs/7/fix.patch".into()),
            pr_url: None,
            branch: Some("agentless/issue-7".to_owned()),
            cost_usd: Some(0.25),
        };
        assert_eq!(outputs.render(), "patch-path=/runs/7/fix.patch\nbranch=agentless/issue-7\ncost=0.2500\n");
        let odd = StepOutputs { branch: Some("a\nb".to_owned()), ..StepOutputs::default() };
        let rendered = odd.render();
        let (head, rest) = rendered.split_once('\n').unwrap();
        let delimiter = head.strip_prefix("branch<<").unwrap();
        assert_eq!(rest, format!("a\nb\n{delimiter}\n"));
    }

    #[test]
    fn appending_keeps_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        append(&path, "a=1\n").unwrap();
        append(&path, "b=2\n").unwrap();
        assert_eq!(fs_err::read_to_string(&path).unwrap(), "a=1\nb=2\n");
    }
}
