//! `agentless localize`: run the localization phase and write `locations.json`.

use std::io::Write;
use std::path::Path;

use agentless_localize::{Issue, LocalizeOptions, Locations, Retrieval, localize};
use agentless_syntax::RepoSnapshot;
use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;

use crate::ExitStatus;
use crate::args::{GlobalArgs, IssueArgs, LocalizeArgs, RetrievalKind};
use std::sync::Arc;

use agentless_model::{EmbedderOptions, ModelClient, ModelSpec, OpenAiEmbedder};

use crate::config::FileConfig;
use crate::model::{self, usage_line};

pub async fn run(args: LocalizeArgs, global: &GlobalArgs, progress: &ProgressBar) -> Result<ExitStatus> {
    let snapshot = RepoSnapshot::open(&args.repo.repo, args.repo.rev.as_deref())?;
    let (config, _) = FileConfig::load(global.config.as_deref(), Some(&args.repo.repo))?;
    let issue = read_issue(&args.issue, &snapshot)?;
    let setup = model::build(&args.model, &config)?;
    let options = localize_options(args.edit_samples, args.top_n, args.retrieval, &config, &setup.client)?;
    fs_err::create_dir_all(&args.out)?;

    progress.set_message("localize");
    let locations = localize(&setup.client, &snapshot, &issue, &options)
        .await
        .with_context(|| format!("localization of `{}` failed", issue.id))?;
    let path = args.out.join("locations.json");
    write_json(&path, &locations)?;
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

pub fn read_issue(args: &IssueArgs, snapshot: &RepoSnapshot) -> Result<Issue> {
    let text = fs_err::read_to_string(&args.issue).context("cannot read the issue")?;
    if text.trim().is_empty() {
        bail!("the issue file `{}` is empty", args.issue.display());
    }
    let id = args.instance_id.clone().unwrap_or_else(|| snapshot.name().to_owned());
    Ok(Issue { id, text })
}

/// The embedding model of `--retrieval embeddings` (sharing the chat client's cache, ledger and budget) unless `[localize] embedding_model` names another (any provider
/// that serves OpenAI-compatible `/v1/embeddings`).
pub const DEFAULT_EMBEDDING_MODEL: &str = "openai:text-embedding-3-small";

pub fn localize_options(
    edit_samples: Option<u32>,
    top_n: Option<usize>,
    retrieval: Option<RetrievalKind>,
    file: &FileConfig,
    chat: &ModelClient,
) -> Result<LocalizeOptions> {
    let config = &file.localize;
    let defaults = LocalizeOptions::default();
    let retrieval = match retrieval.or(match config.retrieval.as_deref() {
        None => None,
        Some("bm25") => Some(RetrievalKind::Bm25),
        Some("embeddings") => Some(RetrievalKind::Embeddings),
        Some("off") => Some(RetrievalKind::Off),
        Some(other) => bail!("localize.retrieval must be bm25, embeddings or off, not `{other}`"),
    }) {
        None => defaults.retrieval,
        Some(RetrievalKind::Bm25) => Retrieval::Bm25,
        Some(RetrievalKind::Off) => Retrieval::Off,
        Some(RetrievalKind::Embeddings) => {
            let spec_text = config.embedding_model.as_deref().unwrap_or(DEFAULT_EMBEDDING_MODEL);
            let spec: ModelSpec = spec_text.parse()?;
            let provider = file.provider(&spec.provider)?;
            // The chat client's cache and ledger: embeddings are cached, counted, priced and budgeted with the chat.
            let options =
                EmbedderOptions { cache_dir: chat.cache_dir().map(Path::to_path_buf), price: file.price(&spec.model) };
            let embedder = OpenAiEmbedder::new(&provider, &spec.model, options, chat.ledger().clone())
                .with_context(|| format!("cannot set up the embedding model `{spec_text}`"))?;
            Retrieval::Embeddings(Arc::new(embedder))
        }
    };
    Ok(LocalizeOptions {
        max_model_files: config.max_model_files.unwrap_or(defaults.max_model_files),
        top_n: top_n.or(config.top_n).unwrap_or(defaults.top_n),
        context_window: config.context_window.unwrap_or(defaults.context_window),
        edit_samples: edit_samples.or(config.edit_samples).unwrap_or(defaults.edit_samples),
        edit_temperature: config.edit_temperature.unwrap_or(defaults.edit_temperature),
        related_retries: config.related_retries.unwrap_or(defaults.related_retries),
        filter_irrelevant: config.filter_irrelevant.unwrap_or(defaults.filter_irrelevant),
        retrieval,
        skeleton: defaults.skeleton,
    })
}

/// Write pretty JSON atomically (temp file, then rename), so an interrupted run never leaves half a file.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    fs_err::write(&tmp, text)?;
    fs_err::rename(&tmp, path)?;
    Ok(())
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
