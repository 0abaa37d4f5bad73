//! Applying a candidate diff: `git apply`, then `git apply --reject`, then `patch --fuzz=5` (the order the
//! SWE-bench harness uses), recording which one worked or what each said.

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ExecRequest, Sandbox, SandboxError};

const APPLY_TIMEOUT: Duration = Duration::from_secs(120);
const APPLY_OUTPUT_CAP: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchMethod {
    GitApply,
    GitApplyReject,
    PatchFuzz,
}

impl PatchMethod {
    const ORDER: [PatchMethod; 3] = [PatchMethod::GitApply, PatchMethod::GitApplyReject, PatchMethod::PatchFuzz];

    fn argv(self, patch_path: &str) -> Vec<String> {
        let argv: &[&str] = match self {
            PatchMethod::GitApply => &["git", "apply", "--verbose"],
            PatchMethod::GitApplyReject => &["git", "apply", "--verbose", "--reject"],
            PatchMethod::PatchFuzz => &["patch", "--batch", "--fuzz=5", "-p1", "--no-backup-if-mismatch", "-i"],
        };
        argv.iter().map(|arg| (*arg).to_owned()).chain([patch_path.to_owned()]).collect()
    }
}

/// One try at applying the patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchAttempt {
    pub method: PatchMethod,
    pub command: String,
    pub exit_code: i32,
    /// stdout then stderr.
    pub output: String,
}

/// Which method applied the patch (`None`: none did, and the checkout was reset), and every attempt made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchOutcome {
    pub method: Option<PatchMethod>,
    pub attempts: Vec<PatchAttempt>,
}

impl PatchOutcome {
    pub fn applied(&self) -> bool {
        self.method.is_some()
    }

    /// Every attempt as `$ command`, its exit code and output.
    pub fn log(&self) -> String {
        let mut log = String::new();
        for attempt in &self.attempts {
            let _ = writeln!(log, "$ {}\n(exit code {})", attempt.command, attempt.exit_code);
            log.push_str(&attempt.output);
            if !attempt.output.ends_with('\n') {
                log.push('\n');
            }
        }
        log
    }
}

/// Apply the diff stored at `patch_path` (outside the checkout) with the fallbacks; a partial application is
/// undone with [`Sandbox::reset_checkout`] before the next method, and after the last.
pub(crate) async fn apply_with_fallbacks(
    sandbox: &dyn Sandbox,
    patch_path: &str,
) -> Result<PatchOutcome, SandboxError> {
    let mut attempts = Vec::new();
    for method in PatchMethod::ORDER {
        let argv = method.argv(patch_path);
        let mut request = ExecRequest::new(argv.clone(), APPLY_TIMEOUT);
        request.output_cap = APPLY_OUTPUT_CAP;
        let output = sandbox.exec(&request).await?;
        let applied = output.success();
        attempts.push(PatchAttempt {
            method,
            command: argv.join(" "),
            exit_code: output.exit_code,
            output: format!("{}{}", output.stdout, output.stderr),
        });
        if applied {
            return Ok(PatchOutcome { method: Some(method), attempts });
        }
        let atomic = match method {
            PatchMethod::GitApply => true,
            PatchMethod::GitApplyReject | PatchMethod::PatchFuzz => false,
        };
        if !atomic {
            sandbox.reset_checkout().await?;
        }
    }
    Ok(PatchOutcome { method: None, attempts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_lists_every_attempt() {
        let outcome = PatchOutcome {
            method: Some(PatchMethod::PatchFuzz),
            attempts: vec![
                PatchAttempt {
                    method: PatchMethod::GitApply,
                    command: "git apply --verbose /p".to_owned(),
                    exit_code: 1,
                    output: "error: patch failed: a.py:1".to_owned(),
                },
                PatchAttempt {
                    method: PatchMethod::PatchFuzz,
                    command: "patch -i /p".to_owned(),
                    exit_code: 0,
                    output: "patching file a.py\n".to_owned(),
                },
            ],
        };
        assert!(outcome.applied());
        insta::assert_snapshot!(outcome.log(), @r"
        $ git apply --verbose /p
        (exit code 1)
        error: patch failed: a.py:1
        $ patch -i /p
        (exit code 0)
        patching file a.py
        ");
    }
}
