//! The house reads from top to bottom: the crate graph drawn in CONTRIBUTING.md is the one `cargo metadata` sees,
//! the workspace members are listed users-first, no front-end depends on another, and every input of the GitHub
//! Action is used and documented.

use std::collections::{BTreeMap, BTreeSet};

use agentless_tests::workspace_root;

/// Crate folder → the folders of the workspace crates it depends on (normal dependencies only).
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The front-ends users run; only the binary may reach the others.
const FRONT_ENDS: [&str; 3] = ["cli", "github", "swebench"];
const BINARY: &str = "cli";
/// The stages in the order data flows through them: a later stage may read an earlier one's artifacts.
const STAGES: [&str; 3] = ["localize", "repair", "validate"];

fn cargo_graph() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let folder_of: BTreeMap<String, String> = packages
        .iter()
        .map(|package| {
            let manifest = std::path::Path::new(package["manifest_path"].as_str().unwrap());
            let folder = manifest.parent().unwrap().strip_prefix(workspace_root()).unwrap();
            (package["name"].as_str().unwrap().to_owned(), folder.display().to_string())
        })
        .collect();
    packages
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dependency| dependency["kind"].is_null())
                .filter_map(|dependency| folder_of.get(dependency["name"].as_str().unwrap()).cloned())
                .collect();
            (folder_of[package["name"].as_str().unwrap()].clone(), dependencies)
        })
        .collect()
}

/// The ```crate-graph block of CONTRIBUTING.md: `crate → dependency, dependency`.
fn drawn_graph() -> Graph {
    let text = fs_err::read_to_string(workspace_root().join("CONTRIBUTING.md")).unwrap();
    let block = text.split("```crate-graph\n").nth(1).expect("CONTRIBUTING.md has a ```crate-graph block");
    let block = &block[..block.find("```").expect("the crate-graph block is closed")];
    block
        .lines()
        .map(|line| {
            let (name, dependencies) = line.split_once('→').unwrap_or_else(|| panic!("no arrow in `{line}`"));
            let dependencies = dependencies.split(',').map(str::trim).filter(|name| !name.is_empty());
            (name.trim().to_owned(), dependencies.map(str::to_owned).collect())
        })
        .collect()
}

/// The workspace members of the root Cargo.toml, in the order they are written.
fn members() -> Vec<String> {
    let text = fs_err::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = text.parse().unwrap();
    manifest["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn contributing_draws_the_crate_graph_cargo_sees() {
    pretty_assertions::assert_eq!(drawn_graph(), cargo_graph());
}

#[test]
fn members_are_listed_from_the_users_down_to_the_foundations() {
    let members = members();
    let position = |folder: &str| members.iter().position(|member| member == folder).unwrap();
    for (folder, dependencies) in cargo_graph() {
        for dependency in dependencies {
            let reads_an_earlier_stage = STAGES.contains(&folder.as_str()) && STAGES.contains(&dependency.as_str());
            assert!(
                position(&folder) < position(&dependency) || reads_an_earlier_stage,
                "{folder} depends on {dependency}, so it must be listed before it in the workspace members"
            );
        }
    }
}

#[test]
fn no_front_end_depends_on_another_but_the_binary() {
    for (folder, dependencies) in cargo_graph() {
        if folder == BINARY || !FRONT_ENDS.contains(&folder.as_str()) {
            continue;
        }
        for front_end in FRONT_ENDS {
            assert!(!dependencies.contains(front_end), "the front-end {folder} depends on the front-end {front_end}");
        }
    }
}

/// The action's inputs, in the order `action.yml` declares them.
fn action_inputs(action: &str) -> Vec<String> {
    let declared = action.split("\ninputs:\n").nth(1).and_then(|rest| rest.split("\noutputs:\n").next()).unwrap();
    declared
        .lines()
        .filter_map(|line| line.strip_prefix("  ")?.strip_suffix(':'))
        .filter(|name| !name.starts_with(' '))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_action_input_reaches_a_step_and_the_readme() {
    let action = fs_err::read_to_string(workspace_root().join("action.yml")).unwrap();
    let readme = fs_err::read_to_string(workspace_root().join("README.md")).unwrap();
    let inputs = action_inputs(&action);
    assert!(inputs.len() >= 17 && inputs.contains(&"branch-prefix".to_owned()), "{inputs:?}");
    for input in &inputs {
        assert!(action.contains(&format!("${{{{ inputs.{input} }}}}")), "input `{input}` is declared but never used");
        assert!(readme.contains(&format!("`{input}`")), "input `{input}` is not in the README's table");
    }
}
