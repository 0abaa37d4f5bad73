//! `agentless localize`: run the localization phase and write `locations.json`.

use std::io::Write;

use agentless_localize::{Issue, Locations, localize};
use agentless_pipeline::RunDir;
use agentless_syntax::RepoSnapshot;
use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;

use crate::ExitStatus;
use crate::args::{GlobalArgs, IssueArgs, LocalizeArgs};
use crate::config::FileConfig;
use crate::model::usage_line;
use crate::preset::LOCAL;
use crate::settings::{embedding_model, localize_options, model_recipe};

pub async fn run(args: LocalizeArgs, global: &GlobalArgs, progress: &ProgressBar) -> Result<ExitStatus> {
    let snapshot = RepoSnapshot::open(&args.repo.repo, args.repo.rev.as_deref())?;
    let (config, _) = FileConfig::load(global.config.as_deref(), Some(&args.repo.repo))?;
    let issue = read_issue(&args.issue, &snapshot)?;
    // Like `run`: on one's own repository, only conventional test paths are hidden.
    let options = localize_options(args.edit_samples, args.top_n, args.retrieval, LOCAL.test_paths, &config)?;
    let mut recipe = model_recipe(&args.model, &config)?;
    recipe.options.embeddings = embedding_model(options.retrieval, &config)?;
    let setup = recipe.build()?;
    let out = RunDir::new(&args.out, false);
    fs_err::create_dir_all(&args.out)?;

    progress.set_message("localize");
    let locations = localize(&setup.client, &snapshot, &issue, &options)
        .await
        .with_context(|| format!("localization of `{}` failed", issue.id))?;
    out.write_json(RunDir::LOCATIONS, &locations)?;
    let path = out.path(RunDir::LOCATIONS);
    progress.finish_and_clear();

    let mut stdout = std::io::stdout().lock();
    print_summary(&mut stdout, &locations, &setup.ledger.total())?;
    writeln!(stdout, "wrote {}", path.display())?;
    // Finding nothing, or stopping before the end (the budget ran out), is a failure to report, not an error.
    Ok(if locations.found_files.is_empty() || locations.stopped.is_some() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// The issue from `--issue FILE`, or from stdin for `--issue -`.
pub fn read_issue(args: &IssueArgs, snapshot: &RepoSnapshot) -> Result<Issue> {
    let from_stdin = args.issue.as_os_str() == "-";
    let text = if from_stdin {
        std::io::read_to_string(std::io::stdin().lock()).context("cannot read the issue from stdin")?
    } else {
        fs_err::read_to_string(&args.issue).context("cannot read the issue")?
    };
    if text.trim().is_empty() {
        if from_stdin {
            bail!("the issue read from stdin is empty");
        }
        bail!("the issue file `{}` is empty", args.issue.display());
    }
    let id = args.instance_id.clone().unwrap_or_else(|| snapshot.name().to_owned());
    Ok(Issue { id, text })
}

fn print_summary(out: &mut impl Write, locations: &Locations, totals: &agentless_model::StageTotals) -> Result<()> {
    let list = |files: &[String]| if files.is_empty() { "(none)".to_owned() } else { files.join(", ") };
    writeln!(out, "files by the model      {}", list(&locations.model_found_files))?;
    writeln!(out, "files by retrieval      {}", list(&locations.retrieval_found_files))?;
    writeln!(out, "irrelevant folders      {}", list(&locations.irrelevant_folders))?;
    writeln!(out, "combined                {}", list(&locations.found_files))?;
    for (file, locs) in &locations.found_related_locs {
        let joined: Vec<&str> =
            locs.iter().flat_map(|loc| loc.lines()).filter(|line| !line.trim().is_empty()).collect();
        if !joined.is_empty() {
            writeln!(out, "related in {file}: {}", joined.join("; "))?;
        }
    }
    for (index, sample) in locations.edit_spans.iter().enumerate() {
        let spans: Vec<String> = sample
            .iter()
            .flat_map(|(file, spans)| spans.iter().map(move |[start, end]| format!("{file}:{start}-{end}")))
            .collect();
        writeln!(out, "edit sample {}           {}", index + 1, list(&spans))?;
    }
    if let Some(reason) = &locations.stopped {
        writeln!(out, "stopped early           {reason}")?;
    }
    writeln!(out, "model                   {}", usage_line(totals))?;
    Ok(())
}
