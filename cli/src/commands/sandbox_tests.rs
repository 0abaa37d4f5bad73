use super::*;
use agentless_sandbox::docker::{ImageKind, LastUsed, SkippedImage};

const NOW: i64 = 1_000_000_000;

fn image(kind: ImageKind, tag: &str, repository: Option<&str>, own_size: u64, used: Option<i64>) -> ImageRecord {
    ImageRecord {
        id: format!("sha256:{tag}0123456789"),
        tags: vec![format!("agentless/project:{tag}")],
        kind,
        kind_labelled: kind != ImageKind::Project,
        repository: repository.map(str::to_owned),
        version: repository.map(|_| "3.0".to_owned()),
        size: 600_000_000 + own_size,
        own_size,
        parent: None,
        created: NOW - 3 * 86_400,
        last_used: match used {
            Some(at) => LastUsed { at, source: UseSource::Container },
            None => LastUsed { at: NOW - 3 * 86_400, source: UseSource::Created },
        },
        containers: Vec::new(),
    }
}

fn container(name: &str, alive: bool) -> ContainerRecord {
    ContainerRecord {
        id: format!("{name}-id"),
        name: name.to_owned(),
        image: "agentless/project:inst".to_owned(),
        state: if alive { "running" } else { "exited" }.to_owned(),
        run_id: "4242-abc".to_owned(),
        owner_pid: Some(4242),
        owner_alive: alive,
    }
}

fn listed() -> Inventory {
    Inventory {
        images: vec![
            image(ImageKind::Instance, "inst", Some("django/django"), 12_345_678, Some(NOW - 7200)),
            image(ImageKind::Environment, "env", Some("django/django"), 250_000_000, None),
            image(ImageKind::Project, "old", None, 900, None),
            ImageRecord {
                tags: vec!["agentless/python:3.9".to_owned()],
                version: Some("3.9".to_owned()),
                ..image(ImageKind::Base, "base", None, 560_000_000, Some(NOW - 30))
            },
        ],
        containers: vec![container("agentless-4242-abc-0", true), container("agentless-17-def-3", false)],
    }
}

#[test]
fn list_shows_a_table_of_images_one_of_containers_and_totals() {
    insta::assert_snapshot!(render_inventory(&listed(), NOW));
}

#[test]
fn prune_says_what_it_would_do_and_what_it_did() {
    let listed = listed();
    let plan = PrunePlan {
        containers: vec![listed.containers[1].clone()],
        images: vec![listed.images[0].clone()],
        skipped: vec![SkippedImage {
            image: listed.images[1].clone(),
            reason: "container someone was created from it".to_owned(),
        }],
    };
    let report = PruneReport {
        removed_containers: vec![listed.containers[1].clone()],
        failed_containers: Vec::new(),
        images: vec![
            ImageOutcome::Skipped { image: listed.images[1].clone(), reason: "in use".to_owned() },
            ImageOutcome::Removed { image: listed.images[0].clone() },
            ImageOutcome::Failed { image: listed.images[2].clone(), error: "engine said no".to_owned() },
        ],
    };
    insta::assert_snapshot!(format!("{}\n{}", render_plan(&plan), render_report(&report)));
    assert!(report.failed());
}
