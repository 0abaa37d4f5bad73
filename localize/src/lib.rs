//! Localization, as in Agentless v1.5: from an issue and a repository snapshot to the files to look at, the
//! related classes, functions and variables in them, and samples of edit locations resolved to line spans.
//!
//! Stages (each model request names its stage):
//! 1. `localize.file` and `localize.irrelevant`, sent together: the model picks files from the repository tree,
//!    and names folders that are safe to ignore.
//! 2. Retrieval (BM25 by default, no model) over the files outside those folders; the model's and retrieval's
//!    top files are voted together (`combine.py`).
//! 3. `localize.related`: skeletons of the top files; the model names classes, functions and variables. Retried
//!    at temperature 1.0 while nothing it names resolves to real lines.
//! 4. `localize.edit`: the numbered code around those elements; the model names edit locations, in several
//!    samples, each resolved to spans ±`context_window` lines.
//!
//! Prompt length is estimated as characters / 4 against a 128,000-token context (the original counts with
//! tiktoken); files are dropped from the end of a prompt while it is too long.
//!
//! When the budget runs out, no further request is sent and what was found so far is returned with
//! [`Locations::stopped`] set; any other model error is a [`LocalizeError`] naming the stage.

pub mod answers;
mod combine;
mod error;
mod locations;
pub mod retrieval;
pub mod spans;
pub mod tree;

use std::collections::{HashMap, HashSet};

use agentless_model::{ChatRequest, Completion, LanguageModel, ModelError};
use agentless_prompts::Template;
use agentless_syntax::{Placeholders, RepoSnapshot, SkeletonOptions, SourceError, skeleton};
use tracing::{info, warn};

pub use combine::combine_files;
pub use error::LocalizeError;
pub use locations::{EditArtifact, FileArtifact, FileSpans, Locations, RelatedArtifact, Trajectory};
pub use tree::TestPaths;

use crate::answers::{FileLocs, extract_code_blocks, locs_for_files, parse_file_list, parse_folder_list};
use crate::retrieval::Corpus;
use crate::spans::SourceFile;

pub const STAGE_FILE: &str = "localize.file";
pub const STAGE_IRRELEVANT: &str = "localize.irrelevant";
pub const STAGE_RELATED: &str = "localize.related";
pub const STAGE_EDIT: &str = "localize.edit";

/// The context the prompts must fit in, in tokens (the original's `MAX_CONTEXT_LENGTH`).
pub const MAX_CONTEXT_TOKENS: usize = 128_000;
/// The token estimate: characters per token.
const CHARS_PER_TOKEN: usize = 4;
const FILE_MAX_TOKENS: u32 = 300;
const IRRELEVANT_MAX_TOKENS: u32 = 2048;
const LOCATION_MAX_TOKENS: u32 = 300;
/// The temperature of every retry.
const RETRY_TEMPERATURE: f32 = 1.0;

/// The issue to localize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Written as `instance_id`.
    pub id: String,
    pub text: String,
}

/// How files are retrieved besides the model's pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retrieval {
    /// BM25 over file chunks, locally.
    Bm25,
    /// Cosine similarity of embeddings of the same chunks, from the model client's embedder (its cache, ledger and
    /// budget).
    Embeddings,
    /// The model's pick only (the irrelevant-folder request is skipped too).
    Off,
}

#[derive(Debug, Clone)]
pub struct LocalizeOptions {
    /// Files kept from the model's file-level answer (the prompt asks for at most 5).
    pub max_model_files: usize,
    /// Files taken from each source when combining, and files shown in the later stages.
    pub top_n: usize,
    /// Lines shown (and spanned) around each location.
    pub context_window: usize,
    /// Edit-location samples, asked in one request.
    pub edit_samples: u32,
    pub edit_temperature: f32,
    /// Retries at temperature 1.0 when no location resolves (related elements and edit locations each).
    pub related_retries: u32,
    /// Ask the model for irrelevant folders and leave them out of retrieval.
    pub filter_irrelevant: bool,
    pub retrieval: Retrieval,
    /// How skeletons are printed in the related-elements prompt (the original's column-0 `...` by default).
    pub skeleton: SkeletonOptions,
    /// Which paths are tests, left out of the tree (the original's any-component rule by default).
    pub test_paths: TestPaths,
}

impl Default for LocalizeOptions {
    fn default() -> Self {
        Self {
            max_model_files: 5,
            top_n: 3,
            context_window: 10,
            edit_samples: 4,
            edit_temperature: 0.8,
            related_retries: 4,
            filter_irrelevant: true,
            retrieval: Retrieval::Bm25,
            skeleton: SkeletonOptions { placeholders: Placeholders::ColumnZero, ..SkeletonOptions::default() },
            test_paths: TestPaths::AnyComponent,
        }
    }
}

/// Localize `issue` in `snapshot`. Running out of budget ends the run early with `Ok` (see
/// [`Locations::stopped`]).
pub async fn localize(
    model: &dyn LanguageModel,
    snapshot: &RepoSnapshot,
    issue: &Issue,
    options: &LocalizeOptions,
) -> Result<Locations, LocalizeError> {
    let mut run = Run {
        model,
        issue,
        options,
        repo_name: snapshot.name(),
        system: Template::System.render(&[])?,
        locations: Locations { instance_id: issue.id.clone(), ..Locations::default() },
    };
    run.find_files(snapshot).await?;
    if run.locations.stopped.is_some() || run.locations.found_files.is_empty() {
        return Ok(run.locations);
    }
    let top_files: Vec<String> = run.locations.found_files.iter().take(options.top_n).cloned().collect();
    let mut sources: HashMap<String, SourceFile> = HashMap::new();
    for path in &top_files {
        let text = read_source(snapshot, path)?;
        sources.insert(path.clone(), SourceFile::new(text));
    }
    run.find_related(&top_files, &sources).await?;
    if run.locations.stopped.is_none() {
        run.find_edit_locations(&top_files, &sources).await?;
    }
    Ok(run.locations)
}

struct Run<'a> {
    model: &'a dyn LanguageModel,
    issue: &'a Issue,
    options: &'a LocalizeOptions,
    repo_name: &'a str,
    system: String,
    locations: Locations,
}

impl Run<'_> {
    /// `attempt` tells retries of the same prompt apart in the cache, so a retry gets a fresh answer.
    fn request(
        &self,
        stage: &str,
        prompt: String,
        temperature: f32,
        max_tokens: u32,
        samples: u32,
        attempt: u32,
    ) -> ChatRequest {
        ChatRequest {
            stage: stage.to_owned(),
            system: self.system.clone(),
            prompt,
            temperature,
            max_tokens,
            samples,
            sample_key: attempt,
        }
    }

    /// Send `request` unless the run has stopped; `None` when it has, or when the budget runs out now.
    async fn ask(&mut self, stage: &'static str, request: &ChatRequest) -> Result<Option<Completion>, LocalizeError> {
        if self.locations.stopped.is_some() {
            return Ok(None);
        }
        let result = self.model.complete(request).await;
        self.settle(stage, result)
    }

    fn settle(
        &mut self,
        stage: &'static str,
        result: Result<Completion, ModelError>,
    ) -> Result<Option<Completion>, LocalizeError> {
        match result {
            Ok(completion) => Ok(Some(completion)),
            Err(error) => {
                let reason = error.into_stop_reason().map_err(|source| LocalizeError::Model { stage, source })?;
                self.stop(stage, &reason);
                Ok(None)
            }
        }
    }

    /// Stop asking the model (the budget is spent), keeping the first reason.
    fn stop(&mut self, stage: &str, reason: &str) {
        warn!(stage, %reason, "stopping localization");
        self.locations.stopped.get_or_insert_with(|| format!("{stage}: {reason}"));
    }

    /// File-level and irrelevant-folder requests (together), retrieval, and the combined file list.
    async fn find_files(&mut self, snapshot: &RepoSnapshot) -> Result<(), LocalizeError> {
        let shown = tree::shown_files(snapshot, self.options.test_paths);
        let structure = tree::render_tree(&shown);
        let problem = self.issue.text.as_str();
        let vars = [("problem_statement", problem), ("structure", structure.trim())];
        let file_request = self.request(STAGE_FILE, Template::FileLevel.render(&vars)?, 0.0, FILE_MAX_TOKENS, 1, 0);
        let wants_irrelevant = self.options.filter_irrelevant && !matches!(self.options.retrieval, Retrieval::Off);
        let irrelevant_request = match wants_irrelevant {
            true => {
                let prompt = Template::IrrelevantFolders.render(&vars)?;
                Some(self.request(STAGE_IRRELEVANT, prompt, 0.0, IRRELEVANT_MAX_TOKENS, 1, 0))
            }
            false => None,
        };
        let (file_result, irrelevant_result) = futures::join!(self.model.complete(&file_request), async {
            match &irrelevant_request {
                Some(request) => Some(self.model.complete(request).await),
                None => None,
            }
        });

        if let Some(completion) = self.settle(STAGE_FILE, file_result)? {
            let answer = completion.samples.first().cloned().unwrap_or_default();
            let candidates: HashSet<&str> = shown.iter().copied().collect();
            self.locations.model_found_files =
                parse_file_list(&answer, &candidates, self.repo_name, self.options.max_model_files);
            self.locations.additional_artifact_loc_file = Some(FileArtifact { raw_output_files: answer });
            self.locations.file_traj = Some(trajectory(&file_request, completion));
        }
        if let (Some(request), Some(result)) = (&irrelevant_request, irrelevant_result)
            && let Some(completion) = self.settle(STAGE_IRRELEVANT, result)?
        {
            let answer = completion.samples.first().map(String::as_str).unwrap_or_default();
            self.locations.irrelevant_folders = parse_folder_list(answer);
            self.locations.irrelevant_traj = Some(trajectory(request, completion));
        }
        info!(files = ?self.locations.model_found_files, irrelevant = ?self.locations.irrelevant_folders, "model picks");

        let irrelevant = &self.locations.irrelevant_folders;
        let candidates: Vec<&str> = shown
            .iter()
            .copied()
            .filter(|path| !irrelevant.iter().any(|prefix| path.starts_with(prefix.as_str())))
            .collect();
        self.locations.retrieval_found_files = match &self.options.retrieval {
            Retrieval::Off => Vec::new(),
            Retrieval::Bm25 => run_blocking(|| Corpus::build(snapshot, &candidates).map(|c| c.rank_bm25(problem)))?,
            Retrieval::Embeddings if self.locations.stopped.is_some() => Vec::new(),
            Retrieval::Embeddings => {
                let embedder = self.model.embedder().ok_or(LocalizeError::NoEmbedder)?;
                let corpus = run_blocking(|| Corpus::build(snapshot, &candidates))?;
                match corpus.rank_embeddings(embedder, problem).await {
                    Ok(files) => files,
                    Err(error) => {
                        let reason = error.into_stop_reason().map_err(LocalizeError::Embedding)?;
                        self.stop("localize.retrieval", &reason);
                        Vec::new()
                    }
                }
            }
        };
        self.locations.found_files =
            combine_files(&self.locations.model_found_files, &self.locations.retrieval_found_files, self.options.top_n);
        info!(retrieval = ?self.locations.retrieval_found_files.iter().take(self.options.top_n).collect::<Vec<_>>(),
            combined = ?self.locations.found_files, "files");
        Ok(())
    }

    /// Related elements from the skeletons of the top files, retried at temperature 1.0 while none resolves.
    async fn find_related(
        &mut self,
        top_files: &[String],
        sources: &HashMap<String, SourceFile>,
    ) -> Result<(), LocalizeError> {
        let mut contents = Vec::with_capacity(top_files.len());
        for path in top_files {
            let text = sources.get(path).map(SourceFile::text).unwrap_or_default();
            let skeleton = skeleton(text, &self.options.skeleton);
            contents.push(Template::SkeletonFile.render(&[("path", path), ("skeleton", &skeleton)])?);
        }
        let render = |contents: &[String]| {
            let file_contents = contents.concat();
            Template::RelatedElements
                .render(&[("problem_statement", self.issue.text.as_str()), ("file_contents", &file_contents)])
        };
        let prompt = fit_prompt(STAGE_RELATED, &mut contents, render)?;
        let mut temperature = 0.0;
        for attempt in 0..=self.options.related_retries {
            let request = self.request(STAGE_RELATED, prompt.clone(), temperature, LOCATION_MAX_TOKENS, 1, attempt);
            let Some(completion) = self.ask(STAGE_RELATED, &request).await? else { return Ok(()) };
            let answer = completion.samples.first().cloned().unwrap_or_default();
            let found = locs_for_files(&extract_code_blocks(&answer), top_files, self.repo_name);
            let resolves =
                found.iter().any(|(file, locs)| sources.get(file).is_some_and(|s| !s.resolve(locs).is_empty()));
            self.locations.found_related_locs = found;
            self.locations.additional_artifact_loc_related = vec![RelatedArtifact { raw_output_loc: answer }];
            self.locations.related_loc_traj.push(trajectory(&request, completion));
            if resolves {
                return Ok(());
            }
            info!(temperature, "no related location resolves; retrying");
            temperature = RETRY_TEMPERATURE;
        }
        warn!("no related location resolved after {} retries", self.options.related_retries);
        Ok(())
    }

    /// Edit-location samples from the numbered code around the related elements, each resolved to spans.
    async fn find_edit_locations(
        &mut self,
        top_files: &[String],
        sources: &HashMap<String, SourceFile>,
    ) -> Result<(), LocalizeError> {
        let window = self.options.context_window;
        let mut contents = Vec::new();
        for (path, locs) in &self.locations.found_related_locs {
            let Some(source) = sources.get(path) else { continue };
            let spans = source.context_spans(locs, window);
            if !spans.is_empty() {
                let code = source.render_segments(&spans, true);
                contents.push(Template::CodeFile.render(&[("path", path), ("code", &code)])?);
            }
        }
        if contents.is_empty() {
            // The original still asks, showing no code (`localize_line_from_coarse_function_locs`).
            warn!("no related location resolves: edit locations are asked for without code");
        }
        let render = |contents: &[String]| {
            let file_contents = contents.concat();
            Template::EditLocations
                .render(&[("problem_statement", self.issue.text.as_str()), ("file_contents", &file_contents)])
        };
        let prompt = fit_prompt(STAGE_EDIT, &mut contents, render)?;
        let mut temperature = self.options.edit_temperature;
        let samples = self.options.edit_samples;
        for attempt in 0..=self.options.related_retries {
            let request = self.request(STAGE_EDIT, prompt.clone(), temperature, LOCATION_MAX_TOKENS, samples, attempt);
            let Some(completion) = self.ask(STAGE_EDIT, &request).await? else { return Ok(()) };
            let found: Vec<FileLocs> = completion
                .samples
                .iter()
                .map(|answer| locs_for_files(&extract_code_blocks(answer), top_files, self.repo_name))
                .collect();
            let spans: Vec<FileSpans> = found
                .iter()
                .map(|sample| {
                    sample
                        .iter()
                        .filter_map(|(file, locs)| {
                            let spans = sources.get(file)?.context_spans(locs, window);
                            (!spans.is_empty())
                                .then(|| (file.clone(), spans.into_iter().map(|s| s.to_pair()).collect()))
                        })
                        .collect()
                })
                .collect();
            let resolves = spans.iter().any(|sample| !sample.is_empty());
            self.locations.found_edit_locs = found;
            self.locations.edit_spans = spans;
            self.locations.additional_artifact_loc_edit_location =
                vec![EditArtifact { raw_output_loc: completion.samples.clone() }];
            self.locations.edit_loc_traj.push(trajectory(&request, completion));
            if resolves {
                return Ok(());
            }
            info!(temperature, "no edit location resolves in any sample; retrying");
            temperature = RETRY_TEMPERATURE;
        }
        warn!("no edit location resolved after {} retries", self.options.related_retries);
        Ok(())
    }
}

/// A file's text, decoded as its PEP 263 declaration says or as UTF-8; a file that cannot be decoded is named in a
/// warning and read with replacement characters.
pub(crate) fn read_source(snapshot: &RepoSnapshot, path: &str) -> Result<String, SourceError> {
    match snapshot.read_text(path) {
        Ok(text) => Ok(text),
        Err(SourceError::NotUtf8 { .. }) => {
            warn!(%path, "not UTF-8 nor in the encoding it declares: read with replacement characters");
            Ok(String::from_utf8_lossy(&snapshot.read(path)?).into_owned())
        }
        Err(error) => Err(error),
    }
}

/// Render the prompt from `contents`, dropping files from the end while it is estimated too long.
fn fit_prompt(
    stage: &'static str,
    contents: &mut Vec<String>,
    render: impl Fn(&[String]) -> Result<String, agentless_prompts::PromptError>,
) -> Result<String, LocalizeError> {
    loop {
        let prompt = render(contents)?;
        let estimated_tokens = prompt.chars().count() / CHARS_PER_TOKEN;
        if estimated_tokens < MAX_CONTEXT_TOKENS {
            return Ok(prompt);
        }
        if contents.len() <= 1 {
            return Err(LocalizeError::PromptTooLong { stage, estimated_tokens, limit: MAX_CONTEXT_TOKENS });
        }
        contents.pop();
        info!(stage, files = contents.len(), "prompt too long; dropping the last file");
    }
}

fn trajectory(request: &ChatRequest, completion: Completion) -> Trajectory {
    Trajectory {
        stage: request.stage.clone(),
        temperature: request.temperature,
        prompt: request.prompt.clone(),
        response: completion.samples,
        usage: completion.usage,
        cost_usd: completion.cost_usd,
        from_cache: completion.from_cache,
    }
}

/// Run CPU-bound work (reading and ranking files) off the async scheduler's back when it can move other tasks
/// away (a multi-threaded runtime); inline otherwise.
fn run_blocking<T>(work: impl FnOnce() -> T) -> T {
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_threaded { tokio::task::block_in_place(work) } else { work() }
}
