//! Cloning the benchmark's repositories into a [`RepoStore`]: the one place this crate reaches the network, and
//! only when a user asks (`agentless swebench clone`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::Instance;
use crate::runner::RepoStore;

/// One repository a dataset needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneStep {
    pub repo: String,
    pub url: String,
    pub target: PathBuf,
    /// A clone is already there (it is left alone).
    pub exists: bool,
}

impl CloneStep {
    /// The command, as a person would type it.
    pub fn command(&self) -> String {
        format!("git clone --bare {} {}", self.url, self.target.display())
    }

    /// Run `git clone --bare`; `Ok(false)` when git ran and failed.
    pub async fn run(&self) -> Result<bool, std::io::Error> {
        let status =
            tokio::process::Command::new("git").args(["clone", "--bare", &self.url]).arg(&self.target).status().await?;
        Ok(status.success())
    }
}

/// The repositories of `instances`, once each, in name order.
pub fn clone_steps(store: &RepoStore, instances: &[Instance]) -> Vec<CloneStep> {
    let repos: BTreeSet<&str> = instances.iter().map(|instance| instance.repo.as_str()).collect();
    repos
        .into_iter()
        .map(|repo| {
            let target = store.clone_path(repo);
            CloneStep {
                repo: repo.to_owned(),
                url: format!("https://github.com/{repo}.git"),
                exists: target.exists(),
                target,
            }
        })
        .collect()
}
