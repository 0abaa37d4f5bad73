//! Local clones of the benchmark's repositories (`<root>/<owner>__<name>`, bare or not): whether a commit is there
//! and a file at a commit (read through `agentless_syntax::RepoSnapshot`, like every other read of a repository at
//! a revision), and with the `git` CLI the whole tree at a commit as sandbox files (symbolic links and modes
//! included, which a snapshot leaves out) and `git describe`. Never the network.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use agentless_sandbox::ProjectFiles;
use agentless_sandbox::scm_version::PRETEND_VERSION;
use agentless_syntax::{RepoSnapshot, SourceError};

use super::RunnerError;
use crate::environment::RepoFiles;

/// The folder of local clones given with `--repos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoStore {
    root: PathBuf,
}

/// `owner/name` → `owner__name` (SWE-bench's instance-id prefix).
pub fn clone_folder_name(repo: &str) -> String {
    repo.replace('/', "__")
}

impl RepoStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the clone of `repo` is expected.
    pub fn clone_path(&self, repo: &str) -> PathBuf {
        self.root.join(clone_folder_name(repo))
    }

    /// The clone of `repo`, checked to hold `commit`.
    pub fn open(&self, repo: &str, commit: &str) -> Result<RepoClone, RunnerError> {
        let path = self.clone_path(repo);
        let missing = || RunnerError::RepositoryMissing { repo: repo.to_owned(), path: path.clone() };
        if !path.exists() {
            return Err(missing());
        }
        let git_dir = git_output(&path, &["rev-parse", "--absolute-git-dir"]).map_err(|_| missing())?;
        let clone = RepoClone { repo: repo.to_owned(), path: path.clone(), git_dir: PathBuf::from(git_dir.trim()) };
        if !clone.has_commit(commit) {
            return Err(RunnerError::CommitMissing { repo: repo.to_owned(), commit: commit.to_owned(), path });
        }
        Ok(clone)
    }
}

/// One local clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoClone {
    repo: String,
    path: PathBuf,
    git_dir: PathBuf,
}

impl RepoClone {
    pub fn has_commit(&self, commit: &str) -> bool {
        self.at(commit).is_ok()
    }

    /// The clone's files at `commit`, read from git objects.
    fn at(&self, commit: &str) -> Result<RepoSnapshot, SourceError> {
        RepoSnapshot::open(&self.git_dir, Some(commit))
    }

    /// Every file of the tree at `commit` (modes and symbolic links as git has them), read through a throwaway
    /// index so the clone is left untouched.
    pub fn snapshot(&self, commit: &str) -> Result<ProjectFiles, RunnerError> {
        let scratch = tempfile::Builder::new().prefix("agentless-swebench-tree-").tempdir()?;
        let tree = scratch.path().join("tree");
        fs_err::create_dir_all(&tree)?;
        let index = scratch.path().join("index");
        let git = |args: &[&str]| -> Result<(), RunnerError> {
            let output = std::process::Command::new("git")
                .arg("-c")
                .arg("safe.directory=*")
                .arg("--git-dir")
                .arg(&self.git_dir)
                .arg("--work-tree")
                .arg(&tree)
                .args(args)
                .env("GIT_INDEX_FILE", &index)
                .stdin(Stdio::null())
                .output()?;
            if output.status.success() {
                return Ok(());
            }
            Err(RunnerError::Git {
                repo: self.repo.clone(),
                command: format!("git {}", args.join(" ")),
                output: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        };
        git(&["read-tree", commit])?;
        git(&["checkout-index", "--all", "--force"])?;
        fs_err::remove_file(&index)?;
        ProjectFiles::from_folder(&tree).map_err(RunnerError::from)
    }

    /// The setup line passing the version setuptools-scm would compute at `commit` in a full clone
    /// ([`agentless_sandbox::scm_version::described_version`]) on as `SETUPTOOLS_SCM_PRETEND_VERSION` (empty
    /// without one): SWE-bench installs from a full clone, where setuptools-scm reads the version from git tags, and
    /// a sandbox's checkout has no history.
    pub fn scm_version_prelude(&self, commit: &str) -> String {
        agentless_sandbox::scm_version::described_version(&self.git_dir, commit).map_or_else(String::new, |version| {
            format!("export {PRETEND_VERSION}={}", crate::environment::shell_quote(&version))
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl RepoFiles for RepoClone {
    fn read(&self, commit: &str, path: &str) -> Option<String> {
        let bytes = self.at(commit).and_then(|snapshot| snapshot.read(path)).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// `git -C dir args…` stdout, or its stderr as the error.
fn git_output(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = std::process::Command::new("git")
        .arg("-c")
        .arg("safe.directory=*")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| error.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}
