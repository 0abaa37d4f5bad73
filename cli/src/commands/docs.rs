//! `agentless completions` and `agentless man`: shell completion scripts and manual pages, generated from the clap
//! definitions in `args.rs`.

use std::io::Write as _;

use anyhow::{Context, Result};
use clap::CommandFactory as _;

use crate::ExitStatus;
use crate::args::{Cli, CompletionsArgs, ManArgs};

/// The completion script of `args.shell` on stdout.
pub fn completions(args: &CompletionsArgs) -> Result<ExitStatus> {
    let mut command = Cli::command();
    let name = command.get_name().to_owned();
    // Into memory first: clap_complete panics when its writer fails, and a closed stdout must end quietly.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitStatus::Success)
}

/// agentless.1 on stdout, or a page per command (agentless-swebench-eval.1, …) written into `args.dir`.
pub fn man(args: &ManArgs) -> Result<ExitStatus> {
    let command = Cli::command();
    match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            std::io::stdout().lock().write_all(&page)?;
        }
        Some(dir) => {
            fs_err::create_dir_all(dir)?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write the manual pages into `{}`", dir.display()))?;
            eprintln!("wrote the manual pages into {}", dir.display());
        }
    }
    Ok(ExitStatus::Success)
}
