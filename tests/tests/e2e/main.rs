//! End-to-end tests: the built `agentless` binary against a scripted model server on loopback.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a failing test says what failed; helpers unwrap too")]

mod action;
mod cli;
mod hostile;
mod interrupt;
mod layout;
mod localize;
mod paper_preset;
mod replay;
mod run;
mod shapes;
mod swebench;

use std::path::{Path, PathBuf};
use std::process::Output;

use agentless_tests::{agentless_bin, workspace_root};

/// The bundled example project.
pub fn example_repo() -> PathBuf {
    workspace_root().join("examples/tinyinvoice")
}

/// Run the binary with a clean environment: no keys, no user config, caches in `home`.
pub fn agentless(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    agentless_command(home, args, env).output().expect("run agentless")
}

/// The command `agentless` runs, for tests that feed its stdin or read its stdout as it goes.
pub fn agentless_command(home: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
    let bin = agentless_bin();
    assert!(bin.is_file(), "{} is missing: build it with `cargo build --bin agentless`", bin.display());
    let mut command = std::process::Command::new(bin);
    command.args(args).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command.env("HOME", home).env("XDG_CACHE_HOME", home.join("cache")).env("NO_COLOR", "1");
    command.current_dir(home);
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Build the Docker base image for Python 3.11 once per machine (debootstrap of bookworm, then imported) in a cache
/// shared by the Docker tests; later runs reuse it.
pub fn build_base_image(home: &Path) {
    let cache = std::env::temp_dir().join("agentless-test-cache");
    let build = agentless(
        home,
        &["sandbox", "build-image", "--python", "3.11", "--cache-dir", cache.to_str().unwrap()],
        &[("AGENTLESS_LOG", "info")],
    );
    assert_eq!(build.status.code(), Some(0), "{}\n{}", stdout(&build), stderr(&build));
}
