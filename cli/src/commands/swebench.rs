//! `agentless swebench`: `eval` (grade predictions as the SWE-bench harness does), `infer` (the pipeline per
//! instance into predictions.jsonl, resumable and shardable), `merge` (join shards) and `clone` (fetch the
//! repositories, for users with network).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use agentless_pipeline::{CancellationToken, Event, report};
use agentless_sandbox::docker::{DockerRuntime, WorkerLimits, host_pip_cert};
use agentless_swebench::clone::clone_steps;
use agentless_swebench::infer::PREDICTIONS_FILE;
use agentless_swebench::infer::{InferObserver, InferTally, InstanceDone, PredictionsFile, error_chain, merge_shards};
use agentless_swebench::predictions::{EMPTY_MODEL_NAME, PredictionSource, Predictions};
use agentless_swebench::replay::{
    AgentlessResults, Agreement, ComparedInstance, ReplayDepth, compare_predictions, read_predictions,
};
use agentless_swebench::runner::{Backend, EvalOptions, InstanceOutcome, RepoStore, UpstreamSpecs, evaluate};
use agentless_swebench::{DataDir, Dataset, DatasetName, Instance};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::ExitStatus;
use crate::args::{
    GlobalArgs, ReplayThroughArg, SandboxKind, SwebenchArgs, SwebenchCloneArgs, SwebenchCommand, SwebenchCompareArgs,
    SwebenchDatasetArgs, SwebenchEvalArgs, SwebenchInferArgs, SwebenchMergeArgs,
};
use crate::commands::run::show_event;
use crate::config::FileConfig;
use crate::env::EnvVars;
use crate::model::{thousands, usage_line};
use crate::preset::Preset;
use crate::settings::{InferSettings, eval_run_id};

pub async fn run(
    args: SwebenchArgs,
    global: &GlobalArgs,
    progress: &ProgressBar,
    cancel: &CancellationToken,
) -> Result<ExitStatus> {
    match args.command {
        SwebenchCommand::Eval(args) => eval(*args, progress, cancel).await,
        SwebenchCommand::Infer(args) => infer(*args, global, progress, cancel).await,
        SwebenchCommand::Merge(args) => merge(&args),
        SwebenchCommand::Clone(args) => clone(&args).await,
        SwebenchCommand::Compare(args) => compare(&args),
    }
}

/// The dataset and the instances picked with `--instances` (all when none).
fn load_dataset(args: &SwebenchDatasetArgs) -> Result<(Dataset, Vec<Instance>)> {
    let dataset = load_named_or_file(&args.dataset, args.data_dir.as_deref())?;
    let instances = pick_instances(&dataset.instances, &args.instances)?;
    Ok((dataset, instances))
}

/// A dataset file, or a named dataset from `--data-dir` (else the first `shared/data` above the current folder).
fn load_named_or_file(spec: &str, data_dir: Option<&Path>) -> Result<Dataset> {
    let path = Path::new(spec);
    if DatasetName::from_str(spec).is_err() && path.is_file() {
        return Ok(Dataset::load_file(path)?);
    }
    let data_dir = match data_dir {
        Some(path) => DataDir::new(path),
        None => DataDir::discover(&std::env::current_dir()?).with_context(|| {
            format!(
                "pass --data-dir DIR or set {} to the folder holding the datasets",
                EnvVars::AGENTLESS_SWEBENCH_DATA
            )
        })?,
    };
    Ok(Dataset::load(spec, &data_dir)?)
}

/// The instances `--instances` names, in the dataset's order; each value may hold several ids separated by spaces
/// (a quoted list), commas are split by clap.
fn pick_instances(instances: &[Instance], given: &[String]) -> Result<Vec<Instance>> {
    let ids: Vec<String> = given.iter().flat_map(|value| value.split_whitespace()).map(str::to_owned).collect();
    if ids.is_empty() {
        return Ok(instances.to_vec());
    }
    let unknown: Vec<&String> =
        ids.iter().filter(|id| !instances.iter().any(|instance| &instance.instance_id == *id)).collect();
    if !unknown.is_empty() {
        bail!("not in the dataset: {}", unknown.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", "));
    }
    Ok(instances.iter().filter(|instance| ids.contains(&instance.instance_id)).cloned().collect())
}

async fn eval(args: SwebenchEvalArgs, progress: &ProgressBar, cancel: &CancellationToken) -> Result<ExitStatus> {
    let started = Instant::now();
    let (dataset, instances) = load_dataset(&args.dataset)?;
    let source = PredictionSource::parse(&args.predictions);
    let predictions = Predictions::load(&source, &instances)?;
    let unknown = predictions.unknown_ids(&dataset.instances);
    if !unknown.is_empty() {
        bail!("predictions for instances not in the dataset: {}", unknown.join(", "));
    }
    // A predictions file covers what it covers; --instances narrows it.
    let instances: Vec<Instance> = if args.dataset.instances.is_empty() {
        match source {
            PredictionSource::File(_) => {
                instances.into_iter().filter(|instance| predictions.get(&instance.instance_id).is_some()).collect()
            }
            PredictionSource::Gold | PredictionSource::Empty => instances,
        }
    } else {
        instances
    };
    let backend = match args.sandbox {
        SandboxKind::Local => Backend::Local,
        SandboxKind::Docker => Backend::docker(
            DockerRuntime::connect(DockerRuntime::new_run_id())
                .await?
                .building_missing_base_images(crate::config::default_cache_dir().join("rootfs"))
                .recording_image_use(crate::settings::image_use_folder(&crate::config::default_cache_dir())),
            WorkerLimits::default(),
            host_pip_cert().await,
        ),
    };
    let backend = Arc::new(backend);
    let run_id = eval_run_id(args.run_id.as_deref(), &args.out, SystemTime::now());
    if args.run_id.is_none() {
        eprintln!("run id: {run_id} (--run-id names the next one)");
    }
    let options = EvalOptions {
        out: args.out.clone(),
        run_id,
        workers: args.instance_workers,
        timeout: Duration::from_secs(args.test_timeout),
        run_empty_patches: args.run_empty || args.predictions == EMPTY_MODEL_NAME,
    };
    let repos = RepoStore::new(&args.repos);
    let total = instances.len();
    if DatasetName::from_str(&args.dataset.dataset).is_ok_and(|name| name == DatasetName::LiteS) {
        eprintln!("{}", DatasetName::LITE_S_NOTE);
    }
    eprintln!("evaluating {} on {} instances of {}", args.predictions, total, dataset.name);
    let tally = std::sync::Mutex::new((0usize, 0usize));
    progress.set_message(format!("0/{total} done"));
    let on_done = |id: &str, outcome: &InstanceOutcome, elapsed: Duration| {
        let mut tally = tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tally.0 += 1;
        tally.1 += usize::from(matches!(outcome, InstanceOutcome::Graded(report) if report.resolved));
        let (done, resolved) = *tally;
        progress.suspend(|| {
            eprintln!("[{done}/{total}] {id}: {} ({:.0} s)", outcome.verdict(), elapsed.as_secs_f64());
        });
        progress.set_message(format!("{done}/{total} done, {resolved} resolved"));
    };
    let evaluation = evaluate(
        &dataset,
        &instances,
        &predictions,
        &repos,
        Arc::clone(&backend),
        Arc::new(UpstreamSpecs),
        &options,
        &on_done,
    );
    let evaluation = tokio::select! {
        evaluation = evaluation => evaluation,
        () = cancel.cancelled() => Err(std::io::Error::other("interrupted").into()),
    };
    if let Backend::Docker(docker) = backend.as_ref()
        && let Err(error) = docker.runtime.shutdown().await
    {
        tracing::warn!("could not remove the run's containers: {error}");
    }
    let evaluation = evaluation?;
    progress.finish_and_clear();
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{}", evaluation.table)?;
    stdout.flush()?;
    eprintln!(
        "resolved {}/{} in {:.0} s; summary: {}",
        evaluation.summary.resolved_instances,
        evaluation.summary.total_instances,
        started.elapsed().as_secs_f64(),
        evaluation.summary_path.display()
    );
    Ok(if evaluation.summary.error_instances == 0 { ExitStatus::Success } else { ExitStatus::Failure })
}

async fn infer(
    args: SwebenchInferArgs,
    global: &GlobalArgs,
    progress: &ProgressBar,
    cancel: &CancellationToken,
) -> Result<ExitStatus> {
    let (config, _) = FileConfig::load(global.config.as_deref(), None)?;
    let mut settings = InferSettings::resolve(&args, &config)?;
    eprintln!("{}", Preset::named(args.preset).describe());
    let (dataset, mut instances) = load_dataset(&args.dataset)?;
    if let Some(subset) = &args.subset {
        let keep: BTreeSet<String> = load_named_or_file(subset, args.dataset.data_dir.as_deref())?
            .instances
            .into_iter()
            .map(|instance| instance.instance_id)
            .collect();
        instances.retain(|instance| keep.contains(&instance.instance_id));
    }
    if let Some(shard) = &args.shard {
        instances = shard.select(instances);
    }
    fs_err::create_dir_all(&args.out)?;
    let predictions = PredictionsFile::in_folder(&args.out);
    let (pending, finished) = predictions.pending(&instances)?;
    let lite_s = |name: &str| DatasetName::from_str(name).is_ok_and(|name| name == DatasetName::LiteS);
    if lite_s(&args.dataset.dataset) || args.subset.as_deref().is_some_and(lite_s) {
        eprintln!("{}", DatasetName::LITE_S_NOTE);
    }
    eprintln!(
        "{} instances of {}: {finished} finished earlier, {} to do",
        instances.len(),
        dataset.name,
        pending.len()
    );
    if let Some(results) = &args.agentless_results {
        let wanted: BTreeSet<String> = pending.iter().map(|instance| instance.instance_id.clone()).collect();
        let depth = match args.replay_through {
            ReplayThroughArg::Localize => ReplayDepth::Localize,
            ReplayThroughArg::Repair => ReplayDepth::Repair,
            ReplayThroughArg::Validate => ReplayDepth::Validate,
        };
        let replay = AgentlessResults::load(results, depth, &wanted)
            .with_context(|| format!("cannot replay the Agentless results in {}", results.display()))?;
        eprintln!("{}", replay.describe());
        settings.infer.replay = Some(Arc::new(replay));
    }
    // Checks the model once, before any instance starts.
    settings.pipeline.model.build()?;
    let total = pending.len();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {prefix} · {msg}") {
        progress.set_style(style);
    }
    progress.set_prefix(format!("0/{total} · {}", tally_summary(&InferTally::default())));
    let observer = InferProgress { progress, total };
    let summary = agentless_swebench::infer::infer(
        pending,
        &RepoStore::new(&args.repos),
        &settings.pipeline.pipeline,
        &settings.pipeline.model,
        &settings.infer,
        &observer,
        cancel,
    )
    .await?;
    if summary.not_started > 0 {
        eprintln!(
            "the budget of ${:.2} is spent: {} instance(s) not started; rerun with a larger --max-cost to go on",
            settings.pipeline.model.max_cost.unwrap_or_default(),
            summary.not_started
        );
    }
    progress.finish_and_clear();
    eprintln!("{}", tally_summary(&summary.tally));
    eprintln!("model: {}", usage_line(&summary.tally.totals));
    eprintln!("predictions: {}", predictions.path().display());
    Ok(if summary.tally.failures == 0 { ExitStatus::Success } else { ExitStatus::Failure })
}

/// An inference run on the progress line and stderr.
struct InferProgress<'a> {
    progress: &'a ProgressBar,
    total: usize,
}

impl InferObserver for InferProgress<'_> {
    fn event(&self, event: Event<'_>) {
        show_event(self.progress)(event);
    }

    fn instance_done(&self, done: &InstanceDone<'_>) {
        let InstanceDone { instance_id, result, elapsed, tally } = done;
        let line = match result {
            Ok(outcome) => report::one_line(&outcome.report),
            Err(error) => format!("error: {}", error_chain(*error)),
        };
        let total = self.total;
        self.progress.set_prefix(format!("{}/{total} · {}", tally.done, tally_summary(tally)));
        self.progress.suspend(|| {
            eprintln!("[{}/{total}] {instance_id}: {line} ({:.0} s)", tally.done, elapsed.as_secs_f64());
        });
    }
}

fn tally_summary(tally: &InferTally) -> String {
    format!(
        "{} done: {} with a patch, {} validated by a reproduction test, {} failed · {} tokens · ${:.2}",
        tally.done,
        tally.patches,
        tally.validated,
        tally.failures,
        thousands(tally.totals.usage.prompt_tokens + tally.totals.usage.completion_tokens),
        tally.totals.cost_usd
    )
}

fn merge(args: &SwebenchMergeArgs) -> Result<ExitStatus> {
    let (merged, counts) = merge_shards(&args.shards, &args.out)?;
    for count in counts {
        eprintln!("{}: {} predictions", count.path.display(), count.predictions);
    }
    eprintln!("{} predictions in {}", merged.len(), args.out.display());
    Ok(ExitStatus::Success)
}

/// Our predictions against theirs: the table (or JSON lines) on stdout, the counts on stderr.
fn compare(args: &SwebenchCompareArgs) -> Result<ExitStatus> {
    let ours_path = if args.ours.is_dir() { args.ours.join(PREDICTIONS_FILE) } else { args.ours.clone() };
    let ours = read_predictions(&ours_path)?;
    let theirs = read_predictions(&args.theirs)?;
    let compared = compare_predictions(&ours, &theirs);
    let mut stdout = std::io::stdout().lock();
    if args.json {
        for row in &compared {
            writeln!(stdout, "{}", serde_json::to_string(row)?)?;
        }
    } else {
        write!(stdout, "{}", comparison_table(&compared))?;
    }
    stdout.flush()?;
    let mut counts: std::collections::BTreeMap<Agreement, usize> = std::collections::BTreeMap::new();
    for row in &compared {
        *counts.entry(row.agreement).or_default() += 1;
    }
    let counts: Vec<String> =
        counts.iter().map(|(agreement, count)| format!("{count} {}", agreement.as_str())).collect();
    eprintln!(
        "{} instances of {} compared with {}: {}",
        compared.len(),
        ours_path.display(),
        args.theirs.display(),
        if counts.is_empty() { "none".to_owned() } else { counts.join(", ") }
    );
    Ok(ExitStatus::Success)
}

/// One row per instance: the agreement and how many lines each patch removes and adds.
fn comparison_table(compared: &[ComparedInstance]) -> String {
    let width = compared.iter().map(|row| row.instance_id.len()).chain(["instance".len()]).max().unwrap_or_default();
    let mut table = format!("{:<width$}  {:<13}  {:>4}  {:>6}  same text\n", "instance", "agreement", "ours", "theirs");
    for row in compared {
        table.push_str(&format!(
            "{:<width$}  {:<13}  {:>4}  {:>6}  {}\n",
            row.instance_id,
            row.agreement.as_str(),
            row.ours_changed_lines,
            row.theirs_changed_lines,
            if row.identical_text { "yes" } else { "no" }
        ));
    }
    table
}

async fn clone(args: &SwebenchCloneArgs) -> Result<ExitStatus> {
    let (_, instances) = load_dataset(&args.dataset)?;
    fs_err::create_dir_all(&args.repos)?;
    let mut failed = Vec::new();
    for step in clone_steps(&RepoStore::new(&args.repos), &instances) {
        if step.exists {
            eprintln!("{}: exists, skipped", step.target.display());
            continue;
        }
        writeln!(std::io::stdout(), "{}", step.command())?;
        if !args.dry_run && !step.run().await.context("cannot run git")? {
            failed.push(step.repo);
        }
    }
    if !failed.is_empty() {
        bail!("cloning failed for {}", failed.join(", "));
    }
    Ok(ExitStatus::Success)
}
