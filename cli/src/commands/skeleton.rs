//! `agentless skeleton`: print the Agentless skeleton of files of a snapshot.

use std::io::Write;

use agentless_syntax::{RepoSnapshot, SkeletonOptions, skeleton};
use anyhow::{Result, bail};

use crate::ExitStatus;
use crate::args::SkeletonArgs;

pub async fn run(args: SkeletonArgs) -> Result<ExitStatus> {
    let snapshot = RepoSnapshot::open(&args.repo.repo, args.repo.rev.as_deref())?;
    let mut texts = Vec::with_capacity(args.paths.len());
    for path in &args.paths {
        let path = path.trim_start_matches("./");
        if !path.ends_with(".py") {
            bail!("`{path}` is not a Python file: skeletons are made of `.py` files");
        }
        if !snapshot.contains(path) {
            bail!("`{path}` is not a file of `{}`", args.repo.repo.display());
        }
        texts.push((path, snapshot.read_text(path)?));
    }
    let mut stdout = std::io::stdout().lock();
    let several = texts.len() > 1;
    for (path, text) in texts {
        if several {
            writeln!(stdout, "### {path}")?;
        }
        let rendered = skeleton(&text, &SkeletonOptions::default());
        write!(stdout, "{rendered}")?;
        if !rendered.ends_with('\n') {
            writeln!(stdout)?;
        }
        if several {
            writeln!(stdout)?;
        }
    }
    Ok(ExitStatus::Success)
}
