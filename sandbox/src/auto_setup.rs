//! What `--setup auto` installs, read from the project's own files: a `uv.lock`, test requirement files, PEP 735
//! dependency groups, tox's test deps, the project with its test extras, and pytest only when nothing brought it.

use crate::project::{ProjectFiles, SetupStep, shell_quote};

/// The extras and dependency groups that hold test dependencies.
const TEST_SETS: [&str; 4] = ["test", "tests", "testing", "dev"];
/// Where `uv export` writes the locked requirements (outside the checkout, so it never enters the baseline).
const UV_REQUIREMENTS: &str = "\"${TMPDIR:-/tmp}/agentless-uv-requirements.txt\"";

/// The steps in install order: pinned sets first, so the project's pins win over what comes after (pip keeps an
/// installed version that satisfies a later requirement); pytest last and only when nothing installed it.
pub(crate) fn auto_steps(files: &ProjectFiles, pip: &str) -> Vec<SetupStep> {
    let optional = |command: String| SetupStep { command, required: false };
    let mut steps = Vec::new();
    if files.get("uv.lock").is_some() {
        // The locked versions of the test groups and extras only (documentation and typing sets are not needed).
        let groups = test_group_names(files).into_iter().map(|name| format!(" --group {name}"));
        let extras = declared_extras(files).into_iter().map(|name| format!(" --extra {name}"));
        let sets: String = groups.chain(extras).collect();
        steps.push(optional(format!(
            "{pip} uv && python -m uv export --frozen --no-hashes --no-header --no-default-groups{sets} \
             --no-emit-workspace -o {UV_REQUIREMENTS} && {pip} -r {UV_REQUIREMENTS}"
        )));
    }
    for path in requirement_files(files) {
        steps.push(optional(format!("{pip} -r {}", shell_quote(path))));
    }
    let groups = dependency_groups(files);
    if !groups.is_empty() {
        let words: Vec<String> = groups.iter().map(|requirement| shell_quote(requirement)).collect();
        steps.push(optional(format!("{pip} {}", words.join(" "))));
    }
    let tox = tox_deps(files);
    if !tox.is_empty() {
        let words: Vec<String> = tox.iter().map(|requirement| shell_quote(requirement)).collect();
        steps.push(optional(format!("{pip} {}", words.join(" "))));
    }
    if installable(files) {
        let extras = declared_extras(files);
        let command = if extras.is_empty() {
            format!("{pip} -e .")
        } else {
            format!("{pip} -e '.[{}]' || {pip} -e .", extras.join(","))
        };
        steps.push(SetupStep { command, required: true });
    }
    steps.push(SetupStep {
        command: format!("python -m pytest --version >/dev/null 2>&1 || {pip} pytest"),
        required: true,
    });
    steps
}

/// Requirement files that hold what the tests need: the root `requirements.txt`, root files such as
/// `requirements-dev.txt`, `test-requirements.txt` or `requirements_tests.txt`, and in a `requirements/` folder the
/// test files (`tests.txt`), or the development ones when there is no test file. Documentation, typing and build
/// sets are left out: they are not needed to run tests and are the likeliest to fail.
fn requirement_files(files: &ProjectFiles) -> Vec<&str> {
    let about_tests = |stem: &str| stem.contains("test");
    let about_development = |stem: &str| stem.contains("dev");
    let mut root = Vec::new();
    let mut folder_tests = Vec::new();
    let mut folder_development = Vec::new();
    for file in files.files() {
        let path = file.path.as_str();
        let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
        let Some(stem) = name.strip_suffix(".txt") else { continue };
        let stem = stem.to_ascii_lowercase();
        match folder {
            "" if stem == "requirements"
                || (stem.contains("requirements") && (about_tests(&stem) || about_development(&stem))) =>
            {
                root.push(path);
            }
            "requirements" if about_tests(&stem) => folder_tests.push(path),
            "requirements" if about_development(&stem) => folder_development.push(path),
            _ => {}
        }
    }
    // `tests.txt` beside `tests-min.txt` and `tests-dev.txt`: the plain set, not its variants.
    let plain: Vec<&str> = folder_tests
        .iter()
        .copied()
        .filter(|path| ["requirements/test.txt", "requirements/tests.txt", "requirements/testing.txt"].contains(path))
        .collect();
    root.extend(match (plain.is_empty(), folder_tests.is_empty()) {
        (false, _) => plain,
        (true, false) => folder_tests,
        (true, true) => folder_development,
    });
    root
}

/// The PEP 735 dependency groups named like test sets that the project declares.
fn test_group_names(files: &ProjectFiles) -> Vec<&'static str> {
    let declared = pyproject(files)
        .and_then(|table| table.get("dependency-groups").and_then(toml::Value::as_table).cloned())
        .unwrap_or_default();
    TEST_SETS.into_iter().filter(|name| declared.contains_key(*name)).collect()
}

/// PEP 735 `[dependency-groups]` named like test sets, with `{include-group = "…"}` followed (once each).
fn dependency_groups(files: &ProjectFiles) -> Vec<String> {
    let Some(table) = pyproject(files) else { return Vec::new() };
    let Some(groups) = table.get("dependency-groups").and_then(toml::Value::as_table) else { return Vec::new() };
    let mut requirements = Vec::new();
    let mut seen = Vec::new();
    let mut pending: Vec<String> = TEST_SETS.iter().map(|name| (*name).to_owned()).collect();
    while let Some(name) = pending.pop() {
        if seen.contains(&name) {
            continue;
        }
        let Some(entries) = groups.get(&name).and_then(toml::Value::as_array) else { continue };
        for entry in entries {
            match entry {
                toml::Value::String(requirement) if !requirements.contains(requirement) => {
                    requirements.push(requirement.clone());
                }
                toml::Value::Table(include) => {
                    if let Some(group) = include.get("include-group").and_then(toml::Value::as_str) {
                        pending.push(group.to_owned());
                    }
                }
                _ => {}
            }
        }
        seen.push(name);
    }
    requirements
}

/// The `deps` of tox's `[testenv]` (in `tox.ini`, or `[tox:testenv]` in `setup.cfg`): plain requirements and
/// `-r`/`-c` files; lines with tox substitutions (`{…}`) or factor conditions (`py38: …`) are left out.
fn tox_deps(files: &ProjectFiles) -> Vec<String> {
    let (text, section) = match (text(files, "tox.ini"), text(files, "setup.cfg")) {
        (Some(text), _) => (text, "[testenv]"),
        (None, Some(text)) => (text, "[tox:testenv]"),
        (None, None) => return Vec::new(),
    };
    let mut deps = Vec::new();
    let mut in_section = false;
    let mut in_deps = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_section = trimmed == section;
            in_deps = false;
            continue;
        }
        if !in_section || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let continuation = line.starts_with([' ', '\t']);
        let value = if continuation && in_deps {
            trimmed
        } else if let Some((key, value)) = trimmed.split_once('=')
            && !continuation
        {
            in_deps = key.trim() == "deps";
            if !in_deps {
                continue;
            }
            value.trim()
        } else {
            in_deps = false;
            continue;
        };
        let factor_condition = value.split_once(':').is_some_and(|(head, _)| {
            !head.contains(['<', '>', '=', '[', ';'])
                && head.chars().all(|c| c.is_ascii_alphanumeric() || "-_,!".contains(c))
        });
        if value.is_empty() || value.contains('{') || factor_condition {
            continue;
        }
        if let Some(file) = value.strip_prefix("-r").or_else(|| value.strip_prefix("-c")) {
            deps.push(value[..2].to_owned());
            deps.push(file.trim().to_owned());
        } else {
            deps.push(value.to_owned());
        }
    }
    deps
}

/// A `setup.py`, or a `pyproject.toml` that declares a project or a build system.
pub(crate) fn installable(files: &ProjectFiles) -> bool {
    files.get("setup.py").is_some()
        || pyproject(files).is_some_and(|table| table.contains_key("project") || table.contains_key("build-system"))
}

/// The test-ish extras of `pyproject.toml`'s `[project.optional-dependencies]`, `setup.cfg`'s
/// `[options.extras_require]` or (by a textual look) `setup.py`'s `extras_require`.
pub(crate) fn declared_extras(files: &ProjectFiles) -> Vec<&'static str> {
    let mut names: Vec<String> = Vec::new();
    if let Some(table) = pyproject(files)
        && let Some(extras) = table.get("project").and_then(|project| project.get("optional-dependencies"))
        && let Some(extras) = extras.as_table()
    {
        names.extend(extras.keys().cloned());
    }
    if let Some(setup_cfg) = text(files, "setup.cfg") {
        let mut in_section = false;
        for line in setup_cfg.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('[') {
                in_section = trimmed == "[options.extras_require]";
            } else if in_section
                && !line.starts_with([' ', '\t'])
                && let Some((key, _)) = trimmed.split_once(['=', ':'])
            {
                names.push(key.trim().to_owned());
            }
        }
    }
    if let Some(setup_py) = text(files, "setup.py")
        && let Some(start) = setup_py.find("extras_require")
    {
        let window: String = setup_py[start..].chars().take(3000).collect();
        for extra in TEST_SETS {
            if window.contains(&format!("'{extra}'")) || window.contains(&format!("\"{extra}\"")) {
                names.push(extra.to_owned());
            }
        }
    }
    TEST_SETS.into_iter().filter(|extra| names.iter().any(|name| name == extra)).collect()
}

fn text(files: &ProjectFiles, path: &str) -> Option<String> {
    files.get(path).map(|file| String::from_utf8_lossy(&file.contents).into_owned())
}

fn pyproject(files: &ProjectFiles) -> Option<toml::Table> {
    text(files, "pyproject.toml")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Setup;
    use crate::project::tests::{commands, files};

    #[test]
    fn pins_come_first_and_pytest_only_when_nothing_brought_it() {
        let project = files(&[
            ("requirements.txt", "requests"),
            ("requirements-dev.txt", "black"),
            ("requirements/tests.txt", "pytest==7.1.2"),
            ("requirements/dev.txt", "-r tests.txt\ntox"),
            ("requirements/docs.txt", "sphinx"),
            ("requirements/typing.txt", "mypy"),
            ("docs/requirements.txt", "sphinx"),
            ("pyproject.toml", "[project]\nname='x'\n[project.optional-dependencies]\ntest=['hypothesis']\ndocs=[]\n"),
        ]);
        insta::assert_debug_snapshot!(commands(&Setup::Auto, &project), @r#"
        [
            "(optional) python -m pip install --no-input -r requirements-dev.txt",
            "(optional) python -m pip install --no-input -r requirements.txt",
            "(optional) python -m pip install --no-input -r requirements/tests.txt",
            "python -m pip install --no-input -e '.[test]' || python -m pip install --no-input -e .",
            "python -m pytest --version >/dev/null 2>&1 || python -m pip install --no-input pytest",
        ]
        "#);
    }

    #[test]
    fn the_plain_test_set_is_chosen_over_its_variants() {
        let project = files(&[
            ("requirements/tests.txt", "pytest==8.3.5"),
            ("requirements/tests-min.txt", "werkzeug==3.1.0"),
            (
                "requirements/tests-dev.txt",
                "werkzeug @ https://github.com/pallets/werkzeug/archive/refs/heads/main.tar.gz",
            ),
        ]);
        assert_eq!(requirement_files(&project), ["requirements/tests.txt"]);
    }

    #[test]
    fn development_requirements_stand_in_when_there_is_no_test_file() {
        let project = files(&[("requirements/dev.txt", "pytest"), ("requirements/docs.txt", "sphinx")]);
        assert_eq!(requirement_files(&project), ["requirements/dev.txt"]);
    }

    #[test]
    fn dependency_groups_follow_their_includes() {
        let project = files(&[(
            "pyproject.toml",
            "[project]\nname = 'x'\n[dependency-groups]\ntest = ['pytest>=8', {include-group = 'coverage'}]\n\
             coverage = ['coverage[toml]']\ndocs = ['sphinx']\ndev = [{include-group = 'test'}, 'ruff']\n",
        )]);
        assert_eq!(dependency_groups(&project), ["ruff", "pytest>=8", "coverage[toml]"]);
        let steps = commands(&Setup::Auto, &project);
        assert!(
            steps.contains(&"(optional) python -m pip install --no-input ruff 'pytest>=8' 'coverage[toml]'".to_owned())
        );
    }

    #[test]
    fn tox_deps_are_installed_without_substitutions_or_factors() {
        let project = files(&[(
            "tox.ini",
            "[tox]\nenvlist = py39\n[testenv]\ndeps =\n    pytest>=7\n    -r requirements/tests.in\n    \
             py38: mock\n    {env:EXTRA}\ncommands = pytest\n[testenv:docs]\ndeps = sphinx\n",
        )]);
        assert_eq!(tox_deps(&project), ["pytest>=7", "-r", "requirements/tests.in"]);
    }

    #[test]
    fn a_uv_lock_is_exported_and_installed_first() {
        let project = files(&[("uv.lock", "version = 1\n"), ("pyproject.toml", "[project]\nname = 'x'\n")]);
        let steps = commands(&Setup::Auto, &project);
        assert!(
            steps[0].starts_with("(optional) python -m pip install --no-input uv && python -m uv export --frozen"),
            "{steps:?}"
        );
        assert!(steps[0].ends_with("-r \"${TMPDIR:-/tmp}/agentless-uv-requirements.txt\""), "{steps:?}");
    }

    #[test]
    fn extras_are_read_from_setup_cfg_and_setup_py() {
        let project = files(&[
            ("setup.py", "setup(extras_require={\"testing\": ['pytest'], 'docs': []})"),
            ("setup.cfg", "[options.extras_require]\ndev =\n    tox\n[metadata]\ntest = 1\n"),
        ]);
        assert_eq!(declared_extras(&project), ["testing", "dev"]);
    }
}
