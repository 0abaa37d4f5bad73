//! Listing and pruning on a real engine, with tiny images imported from a one-file tarball (no base image needed):
//! only images of ours are listed, pruning removes the chosen ones children first, skips one still in use, removes
//! orphaned containers of ours, and never touches an image without our labels or tagged outside our repositories.

use std::collections::HashMap;
use std::io::Write as _;

use agentless_sandbox::docker::{
    DockerRuntime, ImageKind, ImageOutcome, Inventory, LABEL_KIND, LABEL_OWNER_PID, LABEL_OWNER_START, LABEL_PROJECT,
    LABEL_REPOSITORY, LABEL_RUN, LastUsed, ProjectImage, PrunePlan, PruneRules, UseSource, WorkerLimits, inventory,
    prune,
};
use agentless_sandbox::environment::TestEnvironment;
use bollard::Docker;
use bollard::models::{ContainerConfig, ContainerCreateBody};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
};
use futures::TryStreamExt;
use pretty_assertions::assert_eq;

use crate::support::REQUIRE_DOCKER;

/// The engine, or `None` (said loudly) when none is reachable and [`REQUIRE_DOCKER`] is unset.
async fn engine() -> Option<Docker> {
    let connected = async { Docker::connect_with_local_defaults()?.negotiate_version().await };
    match connected.await {
        Ok(docker) if docker.ping().await.is_ok() => Some(docker),
        Ok(_) | Err(_) if std::env::var_os(REQUIRE_DOCKER).is_some() => panic!("no Docker engine is reachable"),
        Ok(_) | Err(_) => {
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPING the Docker housekeeping test: no engine is reachable (set {REQUIRE_DOCKER}=1 to fail \
                 instead) ***\n"
            );
            None
        }
    }
}

/// Import a one-file root filesystem as `reference` with `labels`.
async fn import(docker: &Docker, reference: &str, labels: &[(&str, &str)]) {
    let mut builder = tar::Builder::new(Vec::new());
    let contents = reference.as_bytes();
    let mut header = tar::Header::new_gnu();
    header.set_size(contents.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, "hello", contents).unwrap();
    let (repository, tag) = reference.rsplit_once(':').unwrap();
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repository)
        .tag(tag)
        .changes(labels.iter().map(|(name, value)| format!("LABEL {name}={value}")).collect())
        .build();
    let body = bollard::body_full(builder.into_inner().unwrap().into());
    docker.create_image(Some(options), Some(body), None).try_collect::<Vec<_>>().await.unwrap();
}

/// A container created (never started) from `image` with `labels`; returns its id.
async fn create_container(docker: &Docker, image: &str, name: &str, labels: HashMap<String, String>) -> String {
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        cmd: Some(vec!["/hello".to_owned()]),
        labels: Some(labels),
        ..ContainerCreateBody::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    docker.create_container(Some(options), body).await.unwrap().id
}

async fn remove_container(docker: &Docker, id: &str) {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = docker.remove_container(id, Some(options)).await;
}

async fn exists(docker: &Docker, image: &str) -> bool {
    docker.inspect_image(image).await.is_ok()
}

/// The test's images in the inventory: (kind, tag, parent's tag).
fn ours(inventory: &Inventory, repository: &str) -> Vec<(ImageKind, String, Option<String>)> {
    let tag_of = |id: &str| inventory.images.iter().find(|image| image.id == id).map(|image| image.name());
    let mut images: Vec<_> = inventory
        .images
        .iter()
        .filter(|image| image.repository.as_deref() == Some(repository))
        .map(|image| (image.kind, image.name(), image.parent.as_deref().and_then(tag_of)))
        .collect();
    images.sort();
    images
}

#[tokio::test]
async fn list_shows_ours_only_and_prune_removes_the_chosen_ones_children_first() {
    let Some(docker) = engine().await else { return };
    let unique = DockerRuntime::new_run_id();
    let repository = format!("it-housekeeping/{unique}");
    let environment = format!("agentless/project:it-env-{unique}");
    let instance = format!("agentless/project:it-inst-{unique}");
    let unlabelled = format!("agentless/project:it-unlabelled-{unique}");
    let foreign = format!("it-foreign-{unique}:latest");
    import(
        &docker,
        &environment,
        &[(LABEL_KIND, "environment"), (LABEL_REPOSITORY, &repository), (LABEL_PROJECT, "it")],
    )
    .await;
    // The instance is layered on the environment, as `derived_project_image` commits it.
    let build = create_container(&docker, &environment, &format!("it-build-{unique}"), HashMap::new()).await;
    let (instance_repository, instance_tag) = instance.rsplit_once(':').unwrap();
    let commit =
        CommitContainerOptionsBuilder::default().container(&build).repo(instance_repository).tag(instance_tag).build();
    let labels = [(LABEL_KIND, "instance"), (LABEL_REPOSITORY, repository.as_str()), (LABEL_PROJECT, "it")];
    let config = ContainerConfig {
        labels: Some(labels.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()),
        ..ContainerConfig::default()
    };
    docker.commit_container(commit, config).await.unwrap();
    remove_container(&docker, &build).await;
    import(&docker, &unlabelled, &[]).await;
    import(&docker, &foreign, &[(LABEL_KIND, "instance"), (LABEL_REPOSITORY, &repository)]).await;

    // A container created through a runtime that records use stamps the instance (it cannot start: the image has
    // no `sleep`, and that does not matter).
    let stamps = tempfile::tempdir().unwrap();
    let runtime = DockerRuntime::connect(format!("it-housekeeping-{unique}"))
        .await
        .unwrap()
        .recording_image_use(stamps.path().into());
    let image = ProjectImage {
        image: instance.clone(),
        reused: true,
        setup_log: String::new(),
        duration: std::time::Duration::ZERO,
    };
    let _ = runtime.start_worker(&image, &WorkerLimits::default(), &TestEnvironment::default()).await;
    runtime.shutdown().await.unwrap();

    let listed = inventory(&docker, Some(stamps.path())).await.unwrap();
    assert_eq!(
        ours(&listed, &repository),
        [
            (ImageKind::Instance, instance.clone(), Some(environment.clone())),
            (ImageKind::Environment, environment.clone(), None)
        ]
    );
    let names: Vec<String> = listed.images.iter().map(|image| image.name()).collect();
    assert!(!names.contains(&unlabelled) && !names.contains(&foreign), "{names:?}");
    let used = |name: &str| listed.images.iter().find(|image| image.name() == name).map(|image| image.last_used);
    assert!(matches!(used(&instance), Some(LastUsed { source: UseSource::Container, .. })));
    assert!(matches!(used(&environment), Some(LastUsed { source: UseSource::Created, .. })));

    // A container of someone else's keeps the instance, and so the environment under it. It carries a dead run's
    // labels, as images built before commits cleared them pass on, and is still not taken for one of ours.
    let inherited = HashMap::from([
        (LABEL_RUN.to_owned(), format!("it-inherited-{unique}")),
        (LABEL_OWNER_PID.to_owned(), u32::MAX.to_string()),
    ]);
    let user = create_container(&docker, &instance, &format!("it-user-{unique}"), inherited).await;
    // A container of ours whose owner is gone goes.
    let orphan_labels = HashMap::from([
        (LABEL_RUN.to_owned(), format!("it-orphan-{unique}")),
        (LABEL_OWNER_PID.to_owned(), u32::MAX.to_string()),
        (LABEL_OWNER_START.to_owned(), "1".to_owned()),
    ]);
    // (Named as a run names its containers: a run label alone may be one an old image passed on.)
    let orphan =
        create_container(&docker, &environment, &format!("agentless-it-orphan-{unique}-0"), orphan_labels).await;
    let rules = PruneRules { repository: Some(repository.clone()), all: true, ..PruneRules::default() };
    let only_this_test = |mut plan: PrunePlan| {
        plan.containers.retain(|container| container.id == orphan);
        plan
    };
    let now =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap();
    let listed = inventory(&docker, Some(stamps.path())).await.unwrap();
    assert!(!listed.containers.iter().any(|container| container.id == user), "{:?}", listed.containers);
    let plan = only_this_test(PrunePlan::new(&listed, &rules, now));
    assert_eq!(plan.containers.len(), 1);
    assert!(plan.images.is_empty(), "{plan:?}");
    let reasons: Vec<&str> = plan.skipped.iter().map(|skipped| skipped.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [format!("container it-user-{unique} was created from it"), format!("{instance} is layered on it and stays")]
    );
    let report = prune(&docker, &plan, Some(stamps.path())).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.removed_containers.len(), 1);
    assert!(docker.inspect_container(&orphan, None).await.is_err(), "the orphan is removed");
    assert!(exists(&docker, &instance).await && exists(&docker, &environment).await);

    remove_container(&docker, &user).await;
    let listed = inventory(&docker, Some(stamps.path())).await.unwrap();
    let plan = only_this_test(PrunePlan::new(&listed, &rules, now));
    let planned: Vec<String> = plan.images.iter().map(|image| image.name()).collect();
    assert_eq!(planned, [instance.clone(), environment.clone()]);
    let report = prune(&docker, &plan, Some(stamps.path())).await;
    assert!(!report.failed(), "{report:?}");
    let removed = report.images.iter().filter(|outcome| matches!(outcome, ImageOutcome::Removed { .. })).count();
    assert_eq!(removed, 2, "{report:?}");
    assert_eq!(report.reclaimed_bytes(), plan.image_bytes());
    assert!(report.reclaimed_bytes() > 0);
    assert!(!exists(&docker, &instance).await && !exists(&docker, &environment).await);
    assert!(exists(&docker, &unlabelled).await && exists(&docker, &foreign).await, "never another's image");
    assert_eq!(fs_err::read_dir(stamps.path()).unwrap().count(), 0, "the instance's stamp went with it");

    for image in [&unlabelled, &foreign] {
        let options = RemoveImageOptionsBuilder::default().build();
        docker.remove_image(image, Some(options), None).await.unwrap();
    }
}
