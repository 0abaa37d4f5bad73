//! What this tool leaves in the engine and how it goes away: the images it built (known by its labels and its
//! repositories, never another's), its containers, when each image was last used (a stamp per image id touched when
//! a container is created from it), and pruning them by rules, children before parents.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
};
use serde::Serialize;

use super::project_image::{COMMENT_DERIVED_IMAGE, COMMENT_SYSTEM_IMAGE};
use super::{
    ENGINE_CALL_DEADLINE, LABEL_BASE, LABEL_KIND, LABEL_PROJECT, LABEL_REPOSITORY, LABEL_VERSION, docker_error,
    owner_of,
};
use crate::SandboxError;

/// What an image of ours is; the label [`LABEL_KIND`] spells it. Declared children first: the order images are
/// removed in when nothing else tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageKind {
    /// A project image layered on an environment image (a SWE-bench instance: the base commit installed).
    Instance,
    /// A project image of `agentless run`: a base (or system-packages) image plus the checkout and its virtualenv.
    Project,
    /// A project image other images are layered on (a SWE-bench environment: one per repository and version).
    Environment,
    /// Debian packages installed on a base image, shared by the project images that need the same ones.
    SystemPackages,
    /// `agentless/python:X.Y`, imported from a Debian root filesystem.
    Base,
}

impl ImageKind {
    pub const ALL: [ImageKind; 5] =
        [ImageKind::Instance, ImageKind::Project, ImageKind::Environment, ImageKind::SystemPackages, ImageKind::Base];

    /// The value of [`LABEL_KIND`].
    pub fn label(self) -> &'static str {
        match self {
            ImageKind::Instance => "instance",
            ImageKind::Project => "project",
            ImageKind::Environment => "environment",
            ImageKind::SystemPackages => "system-packages",
            ImageKind::Base => "base",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.label() == text)
    }

    /// Kept by [`PruneRules::keep_environments`]: the layers that are slow to build and shared.
    fn is_shared_layer(self) -> bool {
        match self {
            ImageKind::Environment | ImageKind::SystemPackages | ImageKind::Base => true,
            ImageKind::Instance | ImageKind::Project => false,
        }
    }
}

/// The labels that make an image self-describing: its kind, the repository it holds, the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLabels {
    pub kind: ImageKind,
    pub repository: Option<String>,
    pub version: Option<String>,
}

impl ImageLabels {
    /// A kind alone (no repository, no version).
    pub fn new(kind: ImageKind) -> Self {
        Self { kind, repository: None, version: None }
    }

    /// The labels on the image. Every one is set (empty when unknown), so none is inherited from the parent image.
    pub(crate) fn to_map(&self) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_KIND.to_owned(), self.kind.label().to_owned()),
            (LABEL_REPOSITORY.to_owned(), self.repository.clone().unwrap_or_default()),
            (LABEL_VERSION.to_owned(), self.version.clone().unwrap_or_default()),
        ])
    }
}

/// When an image was last used, in seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LastUsed {
    pub at: i64,
    /// `container`: a container was last created from it then (its stamp); `created`: no container was recorded
    /// since the stamps exist, and this is when the image was built.
    pub source: UseSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UseSource {
    Container,
    Created,
}

/// One image this tool built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRecord {
    pub id: String,
    /// `repository:tag`; empty for an image whose tag moved to a newer build.
    pub tags: Vec<String>,
    pub kind: ImageKind,
    /// The kind is its [`LABEL_KIND`]; `false`: inferred for an image built before that label existed (from its
    /// labels, its commit comment and the images layered on it).
    pub kind_labelled: bool,
    pub repository: Option<String>,
    pub version: Option<String>,
    /// The engine's size of the image: every layer, the parent images' included.
    pub size: u64,
    /// `size` minus the size of the image it is layered on: what removing it frees once nothing is layered on it.
    pub own_size: u64,
    /// The id of the image of ours it is layered on.
    pub parent: Option<String>,
    /// Seconds since the epoch.
    pub created: i64,
    pub last_used: LastUsed,
    /// Containers (anyone's) created from it, by name.
    pub containers: Vec<String>,
}

impl ImageRecord {
    /// The first tag, or the short id.
    pub fn name(&self) -> String {
        self.tags.first().cloned().unwrap_or_else(|| short_id(&self.id).to_owned())
    }
}

/// One container of ours (it carries [`super::LABEL_RUN`] and the name its run gave it, see [`super::run_of`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: String,
    pub run_id: String,
    pub owner_pid: Option<u32>,
    /// The process that created it still runs (same pid and start time): it is never pruned.
    pub owner_alive: bool,
}

/// Our images and containers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    pub images: Vec<ImageRecord>,
    pub containers: Vec<ContainerRecord>,
}

impl Inventory {
    /// Bytes of all our images together (own layers, so shared layers count once).
    pub fn total_size(&self) -> u64 {
        self.images.iter().map(|image| image.own_size).sum()
    }
}

/// The repositories our images are tagged in; an image tagged elsewhere is not ours, whatever its labels.
const OUR_REPOSITORIES: [&str; 2] = [super::base_image::IMAGE_REPOSITORY, super::project_image::IMAGE_REPOSITORY];

/// Our images (newest first) and containers. `image_use` is the folder of last-use stamps (see
/// [`record_image_use`]); without it every image shows its creation time.
pub async fn inventory(docker: &Docker, image_use: Option<&Path>) -> Result<Inventory, SandboxError> {
    let options = ListContainersOptionsBuilder::default().all(true).build();
    let all_containers = super::answered(
        ENGINE_CALL_DEADLINE,
        || "listing containers".to_owned(),
        docker.list_containers(Some(options)),
    )
    .await?
    .map_err(|source| docker_error("listing containers", source))?;
    let mut users: HashMap<String, Vec<String>> = HashMap::new();
    let mut containers = Vec::new();
    for container in all_containers {
        let name = container.names.unwrap_or_default().first().map(|name| name.trim_start_matches('/').to_owned());
        let id = container.id.unwrap_or_default();
        let name = name.unwrap_or_else(|| short_id(&id).to_owned());
        if let Some(image_id) = &container.image_id {
            users.entry(image_id.clone()).or_default().push(name.clone());
        }
        let labels = container.labels.unwrap_or_default();
        let Some(run_id) = super::run_of(&name, &labels).map(str::to_owned) else { continue };
        let (owner_pid, owner_alive) = owner_of(&labels);
        containers.push(ContainerRecord {
            id,
            name,
            image: container.image.unwrap_or_default(),
            state: container.state.map(|state| state.to_string()).unwrap_or_default(),
            run_id,
            owner_pid,
            owner_alive,
        });
    }

    let list = docker.list_images(Some(ListImagesOptionsBuilder::default().build()));
    let images = super::answered(ENGINE_CALL_DEADLINE, || "listing images".to_owned(), list)
        .await?
        .map_err(|source| docker_error("listing images", source))?;
    let mut found = Vec::new();
    for summary in images {
        let tags: Vec<String> = summary.repo_tags.into_iter().filter(|tag| tag != "<none>:<none>").collect();
        if !built_here(&summary.labels, &tags) {
            continue;
        }
        let inspect = docker.inspect_image(&summary.id);
        let inspected = super::answered(ENGINE_CALL_DEADLINE, || format!("inspecting image {}", summary.id), inspect)
            .await?
            .map_err(|source| docker_error(format!("inspecting image {}", summary.id), source))?;
        found.push(FoundImage {
            parent_id: summary.parent_id,
            layers: inspected.root_fs.and_then(|root| root.layers).unwrap_or_default(),
            comment: inspected.comment.unwrap_or_default(),
            containers: users.remove(&summary.id).unwrap_or_default(),
            id: summary.id,
            tags,
            labels: summary.labels,
            size: u64::try_from(summary.size).unwrap_or_default(),
            created: summary.created,
        });
    }
    let mut images = describe(found, |id| stamp_time(image_use?, id));
    images.sort_by_key(|image| (Reverse(image.created), image.id.clone()));
    Ok(Inventory { images, containers })
}

/// An image of ours as the engine lists it, before its kind and parent are worked out.
struct FoundImage {
    id: String,
    /// The engine's parent (set for committed images by the classic image store).
    parent_id: String,
    tags: Vec<String>,
    labels: HashMap<String, String>,
    size: u64,
    created: i64,
    layers: Vec<String>,
    comment: String,
    containers: Vec<String>,
}

/// One of our labels, and no tag outside our repositories (an image someone built from ours inherits the labels).
fn built_here(labels: &HashMap<String, String>, tags: &[String]) -> bool {
    let labelled = [LABEL_KIND, LABEL_BASE, LABEL_PROJECT].into_iter().any(|label| labels.contains_key(label));
    labelled
        && tags.iter().all(|tag| {
            OUR_REPOSITORIES
                .iter()
                .any(|repository| tag.strip_prefix(repository).is_some_and(|tag| tag.starts_with(':')))
        })
}

/// Parents (the engine's parent when it is ours, else the image whose layers are the longest strict prefix of this
/// one's), own sizes, kinds and last use.
fn describe(found: Vec<FoundImage>, stamp: impl Fn(&str) -> Option<i64>) -> Vec<ImageRecord> {
    let parents: Vec<Option<usize>> = found
        .iter()
        .map(|image| {
            let engine_parent =
                found.iter().position(|other| !image.parent_id.is_empty() && other.id == image.parent_id);
            engine_parent.or_else(|| {
                found
                    .iter()
                    .enumerate()
                    .filter(|(_, other)| {
                        other.layers.len() < image.layers.len() && image.layers.starts_with(&other.layers)
                    })
                    .max_by_key(|(_, other)| other.layers.len())
                    .map(|(index, _)| index)
            })
        })
        .collect();
    // A kind label counts when the parent does not carry the same one: an image built by an older agentless on a
    // newer parent inherits the parent's labels.
    let labelled_kinds: Vec<Option<ImageKind>> = found
        .iter()
        .zip(&parents)
        .map(|(image, parent)| {
            let kind = image.labels.get(LABEL_KIND)?;
            let inherited = parent.is_some_and(|parent| found[parent].labels.get(LABEL_KIND) == Some(kind));
            if inherited { None } else { ImageKind::parse(kind) }
        })
        .collect();
    let has_derived_child: HashSet<usize> = found
        .iter()
        .zip(&parents)
        .filter(|(image, _)| image.comment == COMMENT_DERIVED_IMAGE)
        .filter_map(|(_, parent)| *parent)
        .collect();
    found
        .iter()
        .enumerate()
        .map(|(index, image)| {
            let labelled = labelled_kinds[index];
            let kind = labelled.unwrap_or_else(|| {
                if !image.labels.contains_key(LABEL_PROJECT) {
                    ImageKind::Base
                } else if image.comment == COMMENT_SYSTEM_IMAGE {
                    ImageKind::SystemPackages
                } else if image.comment == COMMENT_DERIVED_IMAGE {
                    ImageKind::Instance
                } else if has_derived_child.contains(&index) {
                    ImageKind::Environment
                } else {
                    ImageKind::Project
                }
            });
            let label = |name: &str| image.labels.get(name).filter(|value| !value.is_empty()).cloned();
            let (repository, version) = match (labelled, kind) {
                (Some(_), _) => (label(LABEL_REPOSITORY), label(LABEL_VERSION)),
                (None, ImageKind::Base) => (None, label(LABEL_BASE)),
                (None, _) => (None, None),
            };
            let parent = parents[index].map(|parent| &found[parent]);
            let last_used = match stamp(&image.id) {
                Some(at) => LastUsed { at, source: UseSource::Container },
                None => LastUsed { at: image.created, source: UseSource::Created },
            };
            ImageRecord {
                id: image.id.clone(),
                tags: image.tags.clone(),
                kind,
                kind_labelled: labelled.is_some(),
                repository,
                version,
                size: image.size,
                own_size: image.size.saturating_sub(parent.map_or(0, |parent| parent.size)),
                parent: parent.map(|parent| parent.id.clone()),
                created: image.created,
                last_used,
                containers: image.containers.clone(),
            }
        })
        .collect()
}

/// Which images [`PrunePlan::new`] removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneRules {
    /// Only images last used (theirs or an image layered on them) longer ago than this.
    pub older_than: Option<Duration>,
    /// Keep environment, system-packages and base images.
    pub keep_environments: bool,
    /// Base images too (without it they are kept: rebuilding one takes minutes of debootstrap).
    pub all: bool,
    /// Only images holding this repository (base and system-packages images hold none).
    pub repository: Option<String>,
}

/// What a prune removes, in order, and what it leaves although the rules chose it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PrunePlan {
    /// Our containers whose owner process is gone.
    pub containers: Vec<ContainerRecord>,
    /// Children before parents.
    pub images: Vec<ImageRecord>,
    pub skipped: Vec<SkippedImage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedImage {
    pub image: ImageRecord,
    pub reason: String,
}

impl PrunePlan {
    /// The plan for `inventory` under `rules` at `now` (seconds since the epoch). An image chosen by the rules is
    /// skipped while a container that stays was created from it, or an image that stays is layered on it.
    pub fn new(inventory: &Inventory, rules: &PruneRules, now: i64) -> Self {
        let containers: Vec<ContainerRecord> =
            inventory.containers.iter().filter(|container| !container.owner_alive).cloned().collect();
        let removed_containers: HashSet<&str> = containers.iter().map(|container| container.name.as_str()).collect();
        let by_id: HashMap<&str, &ImageRecord> =
            inventory.images.iter().map(|image| (image.id.as_str(), image)).collect();
        let ancestors = |image: &ImageRecord| {
            std::iter::successors(image.parent.as_deref().and_then(|id| by_id.get(id).copied()), |image| {
                image.parent.as_deref().and_then(|id| by_id.get(id).copied())
            })
        };
        // An image is as recently used as the most recently used image layered on it.
        let mut latest_use: HashMap<&str, i64> = HashMap::new();
        for image in &inventory.images {
            for used in std::iter::once(image).chain(ancestors(image)) {
                let latest = latest_use.entry(used.id.as_str()).or_insert(used.last_used.at);
                *latest = (*latest).max(image.last_used.at);
            }
        }
        let cutoff = rules.older_than.map(|age| now.saturating_sub(i64::try_from(age.as_secs()).unwrap_or(i64::MAX)));
        let chosen = |image: &ImageRecord| {
            (rules.all || image.kind != ImageKind::Base)
                && !(rules.keep_environments && image.kind.is_shared_layer())
                && rules.repository.as_ref().is_none_or(|repository| image.repository.as_ref() == Some(repository))
                && cutoff.is_none_or(|cutoff| latest_use.get(image.id.as_str()).is_some_and(|at| *at < cutoff))
        };
        let mut removing: Vec<&ImageRecord> = inventory.images.iter().filter(|image| chosen(image)).collect();
        let mut skipped = Vec::new();
        loop {
            let staying: HashSet<&str> = inventory
                .images
                .iter()
                .filter(|image| !removing.iter().any(|removed| removed.id == image.id))
                .map(|image| image.id.as_str())
                .collect();
            let reason = |image: &ImageRecord| {
                if let Some(container) =
                    image.containers.iter().find(|container| !removed_containers.contains(container.as_str()))
                {
                    return Some(format!("container {container} was created from it"));
                }
                let child = inventory.images.iter().find(|child| {
                    child.parent.as_deref() == Some(image.id.as_str()) && staying.contains(child.id.as_str())
                })?;
                Some(format!("{} is layered on it and stays", child.name()))
            };
            let before = removing.len();
            removing.retain(|image| match reason(image) {
                Some(reason) => {
                    skipped.push(SkippedImage { image: (*image).clone(), reason });
                    false
                }
                None => true,
            });
            if removing.len() == before {
                break;
            }
        }
        let depth = |image: &ImageRecord| ancestors(image).count();
        removing.sort_by_key(|image| (Reverse(depth(image)), image.kind, image.id.clone()));
        Self { containers, images: removing.into_iter().cloned().collect(), skipped }
    }

    /// Bytes the images of the plan free (their own layers).
    pub fn image_bytes(&self) -> u64 {
        self.images.iter().map(|image| image.own_size).sum()
    }
}

/// What happened to one image of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum ImageOutcome {
    Removed {
        image: ImageRecord,
    },
    /// Chosen but left: in use, or the engine refused for a reason of the same sort (a conflict).
    Skipped {
        image: ImageRecord,
        reason: String,
    },
    Failed {
        image: ImageRecord,
        error: String,
    },
}

/// What [`prune`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    pub removed_containers: Vec<ContainerRecord>,
    pub failed_containers: Vec<(ContainerRecord, String)>,
    /// The plan's skipped images first, then its images in order.
    pub images: Vec<ImageOutcome>,
}

impl PruneReport {
    /// Bytes freed by the removed images (their own layers, from the engine's sizes).
    pub fn reclaimed_bytes(&self) -> u64 {
        self.images
            .iter()
            .map(|outcome| match outcome {
                ImageOutcome::Removed { image } => image.own_size,
                ImageOutcome::Skipped { .. } | ImageOutcome::Failed { .. } => 0,
            })
            .sum()
    }

    /// Some container or image could not be removed (skipped ones are not failures).
    pub fn failed(&self) -> bool {
        !self.failed_containers.is_empty()
            || self.images.iter().any(|outcome| matches!(outcome, ImageOutcome::Failed { .. }))
    }
}

/// Carry out `plan`: its containers (forced: their owners are gone), then its images in order, each by its tags (the
/// last one removes it) or by id when it has none, never forced; a refusal for a conflict skips the image, any other
/// error fails it, and the rest go on. The images' stamps in `image_use` go with them.
pub async fn prune(docker: &Docker, plan: &PrunePlan, image_use: Option<&Path>) -> PruneReport {
    let mut report = PruneReport::default();
    for container in &plan.containers {
        let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        let removal = docker.remove_container(&container.id, Some(options));
        match super::answered(ENGINE_CALL_DEADLINE, || format!("removing container {}", container.id), removal).await {
            Ok(Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })) => {
                report.removed_containers.push(container.clone());
            }
            Ok(Err(error)) => report.failed_containers.push((container.clone(), error.to_string())),
            Err(stalled) => report.failed_containers.push((container.clone(), stalled.to_string())),
        }
    }
    report.images.extend(
        plan.skipped
            .iter()
            .map(|skipped| ImageOutcome::Skipped { image: skipped.image.clone(), reason: skipped.reason.clone() }),
    );
    for image in &plan.images {
        let references = if image.tags.is_empty() { vec![image.id.clone()] } else { image.tags.clone() };
        let mut outcome = ImageOutcome::Removed { image: image.clone() };
        for reference in references {
            let options = RemoveImageOptionsBuilder::default().force(false).noprune(false).build();
            match docker.remove_image(&reference, Some(options), None).await {
                Ok(_) => {}
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {}
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, message }) => {
                    outcome = ImageOutcome::Skipped { image: image.clone(), reason: message };
                    break;
                }
                Err(error) => {
                    outcome = ImageOutcome::Failed { image: image.clone(), error: error.to_string() };
                    break;
                }
            }
        }
        if let (ImageOutcome::Removed { .. }, Some(folder)) = (&outcome, image_use) {
            let _ = fs_err::remove_file(stamp_path(folder, &image.id));
        }
        report.images.push(outcome);
    }
    report
}

/// Touch the last-use stamp of `image` in `folder` (the image id is its name); a failure is only logged, a stamp is
/// a convenience.
pub(crate) async fn record_image_use(docker: &Docker, folder: &Path, image: &str) {
    let recorded = async {
        let inspect = docker.inspect_image(image);
        let id = super::answered(ENGINE_CALL_DEADLINE, || format!("inspecting {image}"), inspect)
            .await
            .map_err(|error| error.to_string())?
            .map_err(|error| error.to_string())?
            .id
            .unwrap_or_default();
        fs_err::create_dir_all(folder).map_err(|error| error.to_string())?;
        fs_err::write(stamp_path(folder, &id), image).map_err(|error| error.to_string())
    };
    if let Err(error) = recorded.await {
        tracing::debug!(%error, image, "could not record the image's use");
    }
}

fn stamp_path(folder: &Path, image_id: &str) -> std::path::PathBuf {
    folder.join(image_id.trim_start_matches("sha256:"))
}

/// The modification time of the stamp of `image_id`, in seconds since the epoch.
fn stamp_time(folder: &Path, image_id: &str) -> Option<i64> {
    let modified = fs_err::metadata(stamp_path(folder, image_id)).ok()?.modified().ok()?;
    i64::try_from(modified.duration_since(UNIX_EPOCH).ok()?.as_secs()).ok()
}

/// The first 12 hex digits of an id, as `docker` shows them.
pub fn short_id(id: &str) -> &str {
    let hex = id.trim_start_matches("sha256:");
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
#[path = "housekeeping_tests.rs"]
mod tests;
