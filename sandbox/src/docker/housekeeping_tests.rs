use super::*;
use crate::docker::LABEL_RUN;
use crate::docker::project_image::COMMENT_PROJECT_IMAGE;
use pretty_assertions::assert_eq;

const DAY: i64 = 86_400;
const NOW: i64 = 100 * DAY;

fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

fn found(id: &str, layers: &[&str], size: u64, labels: HashMap<String, String>, comment: &str) -> FoundImage {
    FoundImage {
        id: id.to_owned(),
        parent_id: String::new(),
        tags: vec![format!("agentless/project:{id}")],
        labels,
        size,
        created: NOW - 30 * DAY,
        layers: layers.iter().map(|layer| (*layer).to_owned()).collect(),
        comment: comment.to_owned(),
        containers: Vec::new(),
    }
}

/// A base image, an environment image on it and two instance images on that, as the SWE-bench backend builds them.
fn swebench_images() -> Vec<ImageRecord> {
    let kind = |kind: ImageKind, repository: &str| {
        let mut pairs = vec![(LABEL_KIND, kind.label()), (LABEL_REPOSITORY, repository), (LABEL_VERSION, "3.0")];
        if kind != ImageKind::Base {
            pairs.push((LABEL_PROJECT, "hash"));
        }
        labels(&pairs)
    };
    let images = vec![
        found("base", &["a"], 500, kind(ImageKind::Base, ""), ""),
        found("env", &["a", "b"], 800, kind(ImageKind::Environment, "astropy/astropy"), COMMENT_PROJECT_IMAGE),
        found("old", &["a", "b", "c"], 810, kind(ImageKind::Instance, "astropy/astropy"), COMMENT_DERIVED_IMAGE),
        found("new", &["a", "b", "d"], 805, kind(ImageKind::Instance, "astropy/astropy"), COMMENT_DERIVED_IMAGE),
    ];
    describe(images, |id| match id {
        "old" => Some(NOW - 10 * DAY),
        "new" => Some(NOW - DAY),
        _ => None,
    })
}

fn plan_names(plan: &PrunePlan) -> (Vec<&str>, Vec<String>) {
    (
        plan.images.iter().map(|image| image.id.as_str()).collect(),
        plan.skipped.iter().map(|skipped| format!("{}: {}", skipped.image.id, skipped.reason)).collect(),
    )
}

#[test]
fn parents_own_sizes_and_last_use_come_from_the_layers_and_stamps() {
    let images = swebench_images();
    let described: Vec<String> = images
        .iter()
        .map(|image| {
            format!(
                "{} {:?} parent={:?} own={} used={}@{:?}",
                image.id,
                image.kind,
                image.parent,
                image.own_size,
                (image.last_used.at - NOW) / DAY,
                image.last_used.source
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            "base Base parent=None own=500 used=-30@Created",
            "env Environment parent=Some(\"base\") own=300 used=-30@Created",
            "old Instance parent=Some(\"env\") own=10 used=-10@Container",
            "new Instance parent=Some(\"env\") own=5 used=-1@Container",
        ]
    );
}

#[test]
fn images_built_before_the_kind_label_get_their_kind_inferred() {
    // As an older agentless built them: base labels only, project hashes, and the base's labels inherited.
    let base = labels(&[(LABEL_BASE, "3.9")]);
    let project = labels(&[(LABEL_BASE, "3.9"), (LABEL_PROJECT, "h"), (LABEL_RUN, "1-2")]);
    let images = describe(
        vec![
            found("base", &["a"], 1, base, ""),
            found("apt", &["a", "b"], 2, project.clone(), COMMENT_SYSTEM_IMAGE),
            found("env", &["a", "b", "c"], 3, project.clone(), COMMENT_PROJECT_IMAGE),
            found("inst", &["a", "b", "c", "d"], 4, project.clone(), COMMENT_DERIVED_IMAGE),
            found("run", &["a", "e"], 5, project, COMMENT_PROJECT_IMAGE),
        ],
        |_| None,
    );
    let kinds: Vec<(ImageKind, bool, Option<String>)> =
        images.iter().map(|image| (image.kind, image.kind_labelled, image.version.clone())).collect();
    assert_eq!(
        kinds,
        [
            (ImageKind::Base, false, Some("3.9".to_owned())),
            (ImageKind::SystemPackages, false, None),
            (ImageKind::Environment, false, None),
            (ImageKind::Instance, false, None),
            (ImageKind::Project, false, None),
        ]
    );
    // An older agentless's instance on a newer environment inherits the environment's kind label: not taken.
    let environment = labels(&[(LABEL_KIND, "environment"), (LABEL_PROJECT, "h"), (LABEL_REPOSITORY, "r")]);
    let images = describe(
        vec![
            found("env", &["a"], 1, environment.clone(), COMMENT_PROJECT_IMAGE),
            found("inst", &["a", "b"], 2, environment, COMMENT_DERIVED_IMAGE),
        ],
        |_| None,
    );
    assert_eq!(
        (images[1].kind, images[1].kind_labelled, images[1].repository.clone()),
        (ImageKind::Instance, false, None)
    );
}

#[test]
fn only_labelled_images_in_our_repositories_are_ours() {
    let ours = labels(&[(LABEL_PROJECT, "h")]);
    let tags = |tags: &[&str]| tags.iter().map(|tag| (*tag).to_owned()).collect::<Vec<_>>();
    assert!(built_here(&ours, &tags(&["agentless/project:abc"])));
    assert!(built_here(&labels(&[(LABEL_BASE, "3.9")]), &tags(&["agentless/python:3.9"])));
    assert!(built_here(&ours, &[]), "an untagged image of ours (its tag moved to a rebuild) is ours");
    assert!(!built_here(&HashMap::new(), &tags(&["agentless/project:abc"])), "no label of ours");
    assert!(!built_here(&ours, &tags(&["someone/app:latest"])), "built by someone else from ours");
    assert!(!built_here(&ours, &tags(&["agentless/project:abc", "mine:1"])), "tagged by someone else too");
    assert!(!built_here(&ours, &tags(&["agentless/projectx:abc"])));
}

#[test]
fn a_bare_prune_removes_all_but_base_images_children_first() {
    let inventory = Inventory { images: swebench_images(), containers: Vec::new() };
    let plan = PrunePlan::new(&inventory, &PruneRules::default(), NOW);
    assert_eq!(plan_names(&plan), (vec!["new", "old", "env"], Vec::new()));
    assert_eq!(plan.image_bytes(), 315);
    let all = PrunePlan::new(&inventory, &PruneRules { all: true, ..PruneRules::default() }, NOW);
    assert_eq!(plan_names(&all).0, ["new", "old", "env", "base"]);
    let kept = PrunePlan::new(&inventory, &PruneRules { keep_environments: true, ..PruneRules::default() }, NOW);
    assert_eq!(plan_names(&kept), (vec!["new", "old"], Vec::new()));
    let other = PruneRules { repository: Some("django/django".to_owned()), ..PruneRules::default() };
    assert_eq!(plan_names(&PrunePlan::new(&inventory, &other, NOW)), (Vec::new(), Vec::new()));
}

#[test]
fn older_than_goes_by_the_latest_use_of_the_image_and_those_layered_on_it() {
    let inventory = Inventory { images: swebench_images(), containers: Vec::new() };
    let week = PruneRules { older_than: Some(Duration::from_secs(7 * 86_400)), all: true, ..PruneRules::default() };
    // `old` was used 10 days ago; `new` yesterday keeps `env` and `base` (last used by it), which were built long ago.
    assert_eq!(plan_names(&PrunePlan::new(&inventory, &week, NOW)), (vec!["old"], Vec::new()));
    let hours = PruneRules { older_than: Some(Duration::from_secs(3600)), all: true, ..PruneRules::default() };
    assert_eq!(plan_names(&PrunePlan::new(&inventory, &hours, NOW)).0, ["new", "old", "env", "base"]);
}

#[test]
fn an_image_in_use_is_skipped_and_so_are_the_images_under_it() {
    let mut images = swebench_images();
    images[3].containers = vec!["someones-container".to_owned(), "orphan".to_owned()];
    images[2].containers = vec!["orphan".to_owned()];
    let orphan = ContainerRecord {
        id: "c1".to_owned(),
        name: "orphan".to_owned(),
        image: "agentless/project:old".to_owned(),
        state: "exited".to_owned(),
        run_id: "1-2".to_owned(),
        owner_pid: Some(1),
        owner_alive: false,
    };
    let alive = ContainerRecord { name: "live".to_owned(), owner_alive: true, ..orphan.clone() };
    let inventory = Inventory { images, containers: vec![orphan, alive] };
    let plan = PrunePlan::new(&inventory, &PruneRules { all: true, ..PruneRules::default() }, NOW);
    assert_eq!(plan.containers.iter().map(|container| container.name.as_str()).collect::<Vec<_>>(), ["orphan"]);
    assert_eq!(
        plan_names(&plan),
        (
            vec!["old"],
            vec![
                "new: container someones-container was created from it".to_owned(),
                "env: agentless/project:new is layered on it and stays".to_owned(),
                "base: agentless/project:env is layered on it and stays".to_owned(),
            ]
        )
    );
}
