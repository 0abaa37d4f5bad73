//! Translating an instance's SWE-bench spec into a venv + pip environment on Debian: the interpreter mapped to the
//! closest of the Pythons Debian ships (3.9, 3.11, 3.13), conda package lists and `environment.yml` files turned
//! into pip requirements, requirement files read from the repository through [`RepoFiles`] (never downloaded),
//! `pre_install` apt lines kept as apt, and upstream's checkout isolation and baseline commit as shell lines.
//! Every departure from upstream is recorded in [`EnvironmentPlan::notes`].

use std::sync::LazyLock;

use agentless_sandbox::PythonVersion;
/// Re-exported for the front-ends that quote the setup scripts built here.
pub use agentless_sandbox::shell_quote;
use regex::Regex;

use crate::SwebenchError;
use crate::dataset::Instance;
use crate::specs::{self, Packages, QHULL_DOWNLOAD, RepoVersionSpec};

/// Heredoc delimiter of upstream's environment scripts.
const ENV_HEREDOC_DELIMITER: &str = "EOF_59812759871";
const REQUIREMENTS_PATH: &str = "$HOME/requirements.txt";
/// Packages as they were when SWE-bench's images were built, for what no spec pins: pip's isolated builds fetch the
/// newest setuptools, whose `develop` (since 80) re-enters pip in a build environment that has none, failing every
/// legacy editable install; docutils 0.22 dropped `docutils.utils.roman`, which Sphinx 3–5 imports.
const BUILD_CONSTRAINTS: &[&str] = &["setuptools<80", "docutils<0.22"];
/// For specs asking a Python older than any here, what conda's builds for that Python stop at, for packages pip
/// would otherwise take at their newest: (the newest minor version a row is for, its constraints). Cython 3's
/// stricter `cimport` rules break old scikit-learn; pytest 8 turned the yield tests that pytest 4–7 skipped into
/// collection errors, and SWE-bench's logs for Python 3.6 specs name parameters as pytest 6 did (pytest 7 spells out
/// complex values: `[None-1j]` where the logs have `[None-train_size3]`); pyparsing 3.2 needs Python 3.9 (3.3's
/// deprecation warnings fail matplotlib 3.3's `filterwarnings = error`); setuptools-scm, which old `setup_requires` lines fetch at their newest, supported
/// 3.6 up to 6, 3.7 up to 7 and 3.8 up to 8 (10 fails under the setuptools 58 of these specs).
const OLDER_PYTHON_CONSTRAINTS: &[(u32, &[&str])] = &[
    (6, &["cython<3", "pytest<7", "pyparsing<3.2", "setuptools-scm<7"]),
    (7, &["cython<3", "pytest<7.5", "pyparsing<3.2", "setuptools-scm<8"]),
    (8, &["pytest<8.4", "pyparsing<3.2", "setuptools-scm<9"]),
];

/// The constraints for a spec asking Python 3.`requested_minor` ([`OLDER_PYTHON_CONSTRAINTS`]).
fn older_python_constraints(requested_minor: Option<u32>) -> &'static [&'static str] {
    requested_minor
        .and_then(|minor| OLDER_PYTHON_CONSTRAINTS.iter().find(|(newest, _)| minor <= *newest))
        .map_or(&[], |(_, constraints)| constraints)
}

/// The step holding every pip run in the virtualenv to [`BUILD_CONSTRAINTS`] and `extra`: exported for the setup
/// (pip's isolated builds see it too) and kept in the virtualenv's own `pip.conf`, so that the eval script's
/// reinstall and the `setup_requires` fetches it makes are held as the setup was.
fn build_constraints(extra: &[&str]) -> String {
    let lines: Vec<&str> = BUILD_CONSTRAINTS.iter().chain(extra).copied().collect();
    format!(
        "printf '{}\\n' > \"$VIRTUAL_ENV/agentless-constraints.txt\" && export \
         PIP_CONSTRAINT=\"$VIRTUAL_ENV/agentless-constraints.txt\" && printf '[global]\\nconstraint = %s\\n' \
         \"$PIP_CONSTRAINT\" > \"$VIRTUAL_ENV/pip.conf\"",
        lines.join("\\n")
    )
}
const MATPLOTLIB: &str = "matplotlib/matplotlib";
/// matplotlib builds against the system's FreeType and Qhull when its build config says so.
const MATPLOTLIB_SYSTEM_LIBS: &str = "printf '[libs]\\nsystem_freetype = true\\nsystem_qhull = true\\n' > \
     /tmp/agentless-mplsetup.cfg && export MPLSETUPCFG=/tmp/agentless-mplsetup.cfg";
const MATPLOTLIB_SYSTEM_PACKAGES: &[&str] = &["libfreetype6-dev", "libqhull-dev", "pkg-config"];

/// Python 3.9 began stripping a docstring before taking its first line as a test's description, so a test whose
/// docstring starts with a newline is printed by unittest as `name\ndocstring ... ok` where the Python < 3.9 that
/// SWE-bench's logs came from printed `name ... ok` — and Django's log parser keys tests by that line. A
/// `.pth` hook in the virtualenv restores the old rule.
const OLD_UNITTEST_DESCRIPTIONS: &str = r##"python - <<'EOF_OLD_UNITTEST'
import pathlib, sysconfig
site = pathlib.Path(sysconfig.get_paths()["purelib"])
site.joinpath("agentless_old_unittest.py").write_text(
    "# agentless: unittest descriptions as Python < 3.9 printed them (SWE-bench's logs were made so).\n"
    "import unittest\n"
    "def _short_description(self):\n"
    "    doc = self._testMethodDoc\n"
    "    return doc and doc.split('\\n')[0].strip() or None\n"
    "unittest.TestCase.shortDescription = _short_description\n"
)
# A .pth import line runs at every start (Debian's own sitecustomize would shadow one in the virtualenv).
site.joinpath("agentless_old_unittest.pth").write_text("import agentless_old_unittest\n")
EOF_OLD_UNITTEST"##;

/// `tox --current-env` runs a tox environment's commands with the interpreter behind tox's own, linked as
/// `.tox/<env>/bin/python`; started from that link, a virtualenv's interpreter no longer finds its `pyvenv.cfg` and
/// runs bare, escaping the virtualenv by design (fedora-python/tox-current-env#44). SWE-bench's conda environment is
/// no virtualenv, so there the tests see its packages. Here the user base is the virtualenv, which makes its
/// site-packages the bare interpreter's user site (the virtualenv's own interpreter ignores user sites).
const TOX_CURRENT_ENV: &str = "tox --current-env";
const VENV_AS_USER_BASE: &str = "PYTHONUSERBASE=\"$VIRTUAL_ENV\"";

/// The spec's test command as it runs in this crate's virtualenv environments: `tox --current-env` needs the
/// virtualenv as the user base.
pub fn test_command(spec: &RepoVersionSpec) -> String {
    if spec.test_cmd.starts_with(TOX_CURRENT_ENV) {
        format!("{VENV_AS_USER_BASE} {}", spec.test_cmd)
    } else {
        spec.test_cmd.to_owned()
    }
}

/// Reads a file of the instance's repository at a commit (e.g. `git show <commit>:<path>` in a local clone).
pub trait RepoFiles {
    /// `None` when the file (or the commit) is not there.
    fn read(&self, commit: &str, path: &str) -> Option<String>;
}

impl<F: Fn(&str, &str) -> Option<String>> RepoFiles for F {
    fn read(&self, commit: &str, path: &str) -> Option<String> {
        self(commit, path)
    }
}

/// What a sandbox must run to get an instance ready, in order: [`Self::checkout_script`] in the repository,
/// then, inside a virtualenv made from [`Self::python`], [`Self::env_script`], [`Self::repo_script`] and
/// [`Self::baseline_script`]. [`Self::setup_script`] joins them into one bash script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentPlan {
    pub instance_id: String,
    pub spec: RepoVersionSpec,
    /// The spec's conda Python.
    pub requested_python: String,
    pub python: PythonVersion,
    /// Dependencies: what upstream's `conda create`/`pip install` env script did, as pip commands.
    pub env_script: Vec<String>,
    /// Upstream's `pre_install` lines (but its `apt-get` ones) and `install`.
    pub repo_script: Vec<String>,
    /// What upstream's `pre_install` installs with `apt-get`: installed by root before the setup, in the environment.
    pub system_packages: Vec<String>,
    /// Where the translation departs from upstream, one line each.
    pub notes: Vec<String>,
}

/// pip, setuptools and wheel as conda's base environment had them (from the frozen environment exports in
/// SWE-bench's `swebench/resources/swebench-og` at v4.1.0: Python 3.6 environments vs. the later ones).
const BASE_PACKAGES_OLD: [&str; 3] = ["pip==21.2.2", "setuptools==58.0.4", "wheel==0.37.1"];
const BASE_PACKAGES: [&str; 3] = ["pip==24.2", "setuptools==75.1.0", "wheel==0.44.0"];

/// `REPLACE_REQ_PACKAGES`: yanked packages and their replacements.
static YANKED_TYPES_PKG_RESOURCES: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?m)^types-pkg_resources([<>=!~]=?.*|$)"));
static YANKED_TYPES_PKG_RESOURCES_YAML: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?m)^(\s*-\s*)types-pkg_resources([<>=!~]=?.*|$)"));

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|error| unreachable!("invalid built-in regex {pattern}: {error}"))
}

impl EnvironmentPlan {
    pub fn for_instance(instance: &Instance, files: &dyn RepoFiles) -> Result<Self, SwebenchError> {
        let spec = specs::spec(&instance.repo, &instance.version)
            .ok_or_else(|| SwebenchError::NoSpec { repo: instance.repo.clone(), version: instance.version.clone() })?;
        let mut notes = Vec::new();
        let python = PythonVersion::closest(spec.python).unwrap_or(PythonVersion::Py39);
        if python.version() != spec.python {
            notes.push(format!("python {} replaced by Debian's {}", spec.python, python.version()));
        }
        let requested_minor = spec.python.strip_prefix("3.").and_then(|minor| minor.parse::<u32>().ok());
        let old_python = requested_minor.is_some_and(|minor| minor < 9);
        let base_packages = if old_python { BASE_PACKAGES_OLD } else { BASE_PACKAGES };
        let era = older_python_constraints(requested_minor);
        if !era.is_empty() {
            notes.push(format!("{} held back, as conda's builds for Python {} are", era.join(", "), spec.python));
        }
        let mut env_script = vec![build_constraints(era), pip_install(base_packages.iter().copied())];
        let mut requirements = None;
        match spec.packages {
            Packages::Nothing => {}
            Packages::Requirements => requirements = Some(read_requirements(instance, files, &mut notes)?),
            Packages::EnvironmentYml { no_use_env } => {
                let paths = specs::environment_yml_paths(&instance.repo);
                let (path, text) = read_first(instance, files, paths, &mut notes)?;
                let translated = translate_environment_yml(&text);
                if !translated.dropped.is_empty() {
                    notes.push(format!("{path}: conda-only packages left out: {}", translated.dropped.join(", ")));
                }
                if no_use_env {
                    notes.push(format!("{path}: `conda env update` into the fresh env done as pip requirements"));
                }
                requirements = Some(translated.requirements.join("\n"));
            }
            Packages::Conda(list) => {
                let words = shell_words(list);
                let mut packages: Vec<String> = words.iter().filter_map(|word| conda_spec_to_pip(word)).collect();
                if spec.pip_packages.is_empty() {
                    notes.push(format!("conda packages `{list}` installed with pip"));
                } else {
                    // As for requirements below: one resolution finds versions of the list that work with the pins.
                    notes.push(format!(
                        "conda packages `{list}` installed with pip, together with the pinned packages (upstream: \
                         one after the other)"
                    ));
                    packages.extend(spec.pip_packages.iter().map(|package| (*package).to_owned()));
                }
                env_script.push(pip_install_wheel_pins_first(&packages, "", &mut notes));
            }
        }
        let pins = (!spec.pip_packages.is_empty() && !matches!(spec.packages, Packages::Conda(_)))
            .then(|| spec.pip_packages.iter().map(|package| (*package).to_owned()).collect::<Vec<_>>());
        match (requirements, pins) {
            (Some(text), Some(pins)) => {
                // conda solves the requirement list alone and the pins come after; pip resolving both at once
                // picks requirement versions that work with the pins (numbagg with a pinned numpy, say), and falls
                // back to upstream's two steps when they conflict.
                notes.push(
                    "requirements and pinned packages resolved together by pip (upstream: one after the other)"
                        .to_owned(),
                );
                let together = pip_install_wheel_pins_first(&pins, &format!(" -r {REQUIREMENTS_PATH}"), &mut notes);
                let pins = pip_install_wheel_pins_first(&pins, "", &mut notes);
                env_script.push(format!(
                    "cat <<'{ENV_HEREDOC_DELIMITER}' > {REQUIREMENTS_PATH}\n{text}\n{ENV_HEREDOC_DELIMITER}"
                ));
                env_script.push(format!("{together} || {{ python -m pip install -r {REQUIREMENTS_PATH} && {pins}; }}"));
                env_script.push(format!("rm {REQUIREMENTS_PATH}"));
            }
            (Some(text), None) => env_script.extend(install_requirements_text(&text)),
            (None, Some(pins)) => env_script.push(pip_install_wheel_pins_first(&pins, "", &mut notes)),
            (None, None) => {}
        }
        // The Lite ids of Django 3.0–3.2 (specs asking 3.6) are unittest descriptions by the old rule (a docstring
        // starting with a newline gives none); those of Django 4.0 (asking 3.8) by the new one (its first non-empty
        // line), as 5 Lite instances of 4.0 show: conda's 3.8 prints them as 3.9 does.
        if requested_minor.is_some_and(|minor| minor < 8) {
            notes.push(format!(
                "unittest descriptions as Python {} prints them (a docstring starting with a newline gives none)",
                spec.python
            ));
            env_script.push(OLD_UNITTEST_DESCRIPTIONS.to_owned());
        }
        if crate::loopback::applies(&instance.repo) {
            notes.push(crate::loopback::NOTE.to_owned());
            env_script.extend(crate::loopback::setup_lines());
        }
        if spec.test_cmd.starts_with(TOX_CURRENT_ENV) {
            notes.push(format!(
                "tests run with {VENV_AS_USER_BASE}: `{TOX_CURRENT_ENV}` runs them with the interpreter behind the \
                 virtualenv, which then sees the virtualenv's packages as its user site"
            ));
        }
        let mut repo_script = vec![build_constraints(era)];
        let mut system_packages = Vec::new();
        if instance.repo == MATPLOTLIB {
            notes.push(
                "FreeType and Qhull from Debian (upstream builds FreeType 2.6.1 and Qhull 2020.2 from sources on \
                 sourceforge.net, savannah.gnu.org and qhull.org, which cannot be reached here); image comparisons \
                 that depend on FreeType's exact rendering may differ"
                    .to_owned(),
            );
            env_script.push(MATPLOTLIB_SYSTEM_LIBS.to_owned());
            repo_script.push(MATPLOTLIB_SYSTEM_LIBS.to_owned());
            system_packages.extend(MATPLOTLIB_SYSTEM_PACKAGES.iter().map(|package| (*package).to_owned()));
        }
        for line in spec.pre_install.iter().filter(|line| !QHULL_DOWNLOAD.contains(line)) {
            match apt_packages(line) {
                Some(packages) => {
                    for package in packages {
                        if !system_packages.contains(&package) {
                            system_packages.push(package);
                        }
                    }
                }
                None => repo_script.push((*line).to_owned()),
            }
        }
        if !system_packages.is_empty() {
            notes.push(format!(
                "Debian packages installed by root before the setup, once per environment (upstream: `apt-get` in \
                 pre_install, with an `upgrade` left out here): {}",
                system_packages.join(" ")
            ));
        }
        repo_script.push(spec.install.to_owned());
        Ok(Self {
            instance_id: instance.instance_id.clone(),
            requested_python: spec.python.to_owned(),
            python,
            env_script,
            repo_script,
            system_packages,
            notes,
            spec,
        })
    }

    /// Upstream's isolation of the checkout at the base commit (its instance-image steps minus the clone): reset,
    /// drop the remote, every other branch and pull ref (our addition: a local full clone has them), tags newer
    /// than the base commit, then fail if any later commit is still reachable.
    pub fn checkout_script(base_commit: &str) -> Vec<String> {
        vec![
            format!("git reset --hard {base_commit}"),
            "git remote remove origin || true".to_owned(),
            "git for-each-ref --format='%(refname)' | grep -v '^refs/tags/' | grep -vxF \"$(git symbolic-ref -q HEAD)\" \
             | xargs -r -n1 git update-ref -d"
                .to_owned(),
            format!("TARGET_TIMESTAMP=$(git show -s --format=%ci {base_commit})"),
            "git tag -l | while read tag; do TAG_COMMIT=$(git rev-list -n 1 \"$tag\"); TAG_TIME=$(git show -s \
             --format=%ci \"$TAG_COMMIT\"); if [[ \"$TAG_TIME\" > \"$TARGET_TIMESTAMP\" ]]; then git tag -d \"$tag\"; \
             fi; done"
                .to_owned(),
            "git reflog expire --expire=now --all".to_owned(),
            "git gc --prune=now --aggressive".to_owned(),
            "AFTER_TIMESTAMP=$(date -d \"$TARGET_TIMESTAMP + 1 second\" '+%Y-%m-%d %H:%M:%S')".to_owned(),
            "COMMIT_COUNT=$(git log --oneline --all --since=\"$AFTER_TIMESTAMP\" | wc -l)".to_owned(),
            "[ \"$COMMIT_COUNT\" -eq 0 ] || exit 1".to_owned(),
        ]
    }

    /// Upstream's last setup step: commit whatever setup changed, so `git diff` later shows only the model's edits.
    pub fn baseline_script() -> Vec<String> {
        vec![
            "git config --global user.email setup@swebench.config".to_owned(),
            "git config --global user.name SWE-bench".to_owned(),
            "git commit --allow-empty -am SWE-bench".to_owned(),
        ]
    }

    /// The whole setup as one `set -euxo pipefail` bash script, run in `repo_dir` with `activate` (e.g.
    /// `source /opt/venv/bin/activate`) making the virtualenv current.
    pub fn setup_script(&self, base_commit: &str, repo_dir: &str, activate: &str) -> String {
        let mut lines = vec!["#!/bin/bash".to_owned(), "set -euxo pipefail".to_owned(), format!("cd {repo_dir}")];
        lines.extend(Self::checkout_script(base_commit));
        lines.push(activate.to_owned());
        lines.extend(self.env_script.iter().cloned());
        lines.extend(self.repo_script.iter().cloned());
        lines.extend(Self::baseline_script());
        lines.join("\n") + "\n"
    }
}

/// Compiled packages that conda builds for old Pythons at versions PyPI has no wheels of for the newer Python here
/// (numpy 1.19.2 and scipy 1.5.2 have none for 3.9; building scipy needs Fortran).
const WHEEL_FIRST: &[&str] = &["numpy", "scipy", "pandas", "matplotlib"];

/// `pip install packages` (then `extra`, raw shell words), where exact pins (`==X.Y.Z`) of [`WHEEL_FIRST`] packages
/// must come as wheels; when this Python has no wheel of such a version, the pins relax to the newest release of the
/// same minor version (`~=X.Y.Z`) and the setup log says so. One command or one `{ …; }` group, to compose with
/// `&&` and `||`.
fn pip_install_wheel_pins_first(packages: &[String], extra: &str, notes: &mut Vec<String>) -> String {
    let mut wheel_only = Vec::new();
    let relaxed: Vec<String> = packages
        .iter()
        .map(|package| match package.split_once("==") {
            Some((name, version)) if WHEEL_FIRST.contains(&name.to_lowercase().as_str()) && !version.contains('*') => {
                wheel_only.push(name.to_owned());
                if version.split('.').count() >= 3 {
                    format!("{name}~={version}")
                } else {
                    format!("{name}=={version}.*")
                }
            }
            _ => package.clone(),
        })
        .collect();
    let exact = format!("{}{extra}", pip_install(packages.iter().map(String::as_str)));
    if wheel_only.is_empty() {
        return exact;
    }
    let note = format!(
        "pins of {} installed as wheels, or else at the newest patch release that has one for this Python",
        wheel_only.join(", ")
    );
    if !notes.contains(&note) {
        notes.push(note);
    }
    format!(
        "{{ {exact} --only-binary {} || {{ echo 'agentless: no wheel of a pinned version; relaxing to its minor \
         release'; {}{extra}; }}; }}",
        wheel_only.join(","),
        pip_install(relaxed.iter().map(String::as_str))
    )
}

fn pip_install<'a>(packages: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = packages.into_iter().map(shell_quote).collect();
    format!("python -m pip install {}", quoted.join(" "))
}

fn install_requirements_text(text: &str) -> Vec<String> {
    vec![
        format!("cat <<'{ENV_HEREDOC_DELIMITER}' > {REQUIREMENTS_PATH}\n{text}\n{ENV_HEREDOC_DELIMITER}"),
        format!("python -m pip install -r {REQUIREMENTS_PATH}"),
        format!("rm {REQUIREMENTS_PATH}"),
    ]
}

/// The first of `paths` found at the environment-setup commit, else at the base commit (noted).
fn read_first(
    instance: &Instance,
    files: &dyn RepoFiles,
    paths: &[&str],
    notes: &mut Vec<String>,
) -> Result<(String, String), SwebenchError> {
    let found_at =
        |commit: &str| paths.iter().find_map(|path| files.read(commit, path).map(|text| ((*path).to_owned(), text)));
    if let Some(found) = found_at(&instance.environment_setup_commit) {
        return Ok(found);
    }
    let found = found_at(&instance.base_commit).ok_or_else(|| SwebenchError::MissingRepoFile {
        repo: instance.repo.clone(),
        commit: instance.environment_setup_commit.clone(),
        paths: paths.iter().map(|path| (*path).to_owned()).collect(),
    })?;
    notes.push(format!(
        "{} read at the base commit: not found at environment_setup_commit {}",
        found.0, instance.environment_setup_commit
    ));
    Ok(found)
}

/// Upstream's `get_requirements`: the first requirements file, `-r` includes inlined first, `-e .`, comments and
/// `.[test` lines dropped, yanked packages replaced.
fn read_requirements(
    instance: &Instance,
    files: &dyn RepoFiles,
    notes: &mut Vec<String>,
) -> Result<String, SwebenchError> {
    let paths = specs::requirements_paths(&instance.repo);
    let (path, text) = read_first(instance, files, paths, notes)?;
    let commit = if files.read(&instance.environment_setup_commit, &path).is_some() {
        instance.environment_setup_commit.as_str()
    } else {
        instance.base_commit.as_str()
    };
    let excluded = |line: &str| ["-e .", "#", ".[test"].iter().any(|prefix| line.trim().starts_with(prefix));
    let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
    let mut included = Vec::new();
    let mut own = Vec::new();
    for line in text.split('\n') {
        if line.trim().starts_with("-r") {
            let file_name = line.get(2..).unwrap_or_default().trim();
            let nested =
                normalize_path(&if folder.is_empty() { file_name.to_owned() } else { format!("{folder}/{file_name}") });
            match files.read(commit, &nested) {
                Some(nested_text) => {
                    included.extend(nested_text.split('\n').filter(|line| !excluded(line)).map(str::to_owned))
                }
                None => notes.push(format!("{path}: included file {nested} not found; skipped as upstream does")),
            }
        } else if !excluded(line) {
            own.push(line);
        }
    }
    included.push(own.join("\n"));
    Ok(YANKED_TYPES_PKG_RESOURCES.replace_all(&included.join("\n"), "types-setuptools").into_owned())
}

/// `a/b/../c` → `a/c`, `./x` → `x`.
fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// An `environment.yml` as pip requirements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TranslatedEnvironment {
    /// Conda dependencies as pip specs, then the `pip:` section verbatim (yanked packages replaced).
    pub requirements: Vec<String>,
    /// Conda dependencies with no pip counterpart (compilers, system libraries, the interpreter itself).
    pub dropped: Vec<String>,
}

/// Conda names that differ on PyPI.
const CONDA_TO_PIP: &[(&str, &str)] = &[
    ("matplotlib-base", "matplotlib"),
    ("dask-core", "dask"),
    ("pyqt", "PyQt5"),
    ("pytables", "tables"),
    ("iris", "scitools-iris"),
    ("python-graphviz", "graphviz"),
    ("msgpack-python", "msgpack"),
    ("seaborn-base", "seaborn"),
    ("pyarrow-core", "pyarrow"),
    ("numpy-base", "numpy"),
    ("pytorch", "torch"),
    ("netcdf4", "netCDF4"),
];

/// Conda packages that are not Python packages (or cannot be pip-installed without a system toolchain).
const CONDA_ONLY: &[&str] = &[
    "python",
    "pip",
    "c-compiler",
    "cxx-compiler",
    "compilers",
    "fortran-compiler",
    "pkg-config",
    "ccache",
    "hdf5",
    "hdf4",
    "gtk3",
    "gtk4",
    "graphviz",
    "ghostscript",
    "ffmpeg",
    "imagemagick",
    "tk",
    "nodejs",
    "cairo",
    "pandoc",
    "pygobject",
    "wxpython",
    "qt",
    "qt-main",
    "mesalib",
    "esmf",
    "esmpy",
    "cdms2",
    "cdat_info",
    "proj",
    "geos",
    "gdal",
    "nomkl",
    "mkl",
    "blas",
    "openblas",
    "zlib",
    "sqlite",
    "openssl",
    "ca-certificates",
    "certifi",
];

/// A conda match spec as a pip requirement (`None` for conda-only packages). `pkg=1.2` is conda's fuzzy match
/// (`==1.2.*`), `pkg=1.2=build` an exact one (`==1.2`).
pub fn conda_spec_to_pip(spec: &str) -> Option<String> {
    let spec = spec.split('#').next().unwrap_or_default().trim().trim_matches(|c| c == '\'' || c == '"');
    let spec = spec.rsplit_once("::").map_or(spec, |(_, name)| name);
    let split_at = spec.find(|c: char| "=<>!~ ".contains(c)).unwrap_or(spec.len());
    let (name, constraint) = (spec[..split_at].trim(), spec[split_at..].trim());
    let lowered = name.to_lowercase();
    if name.is_empty()
        || CONDA_ONLY.contains(&lowered.as_str())
        || lowered.starts_with("lib")
        || lowered.starts_with('_')
    {
        return None;
    }
    let pip_name = CONDA_TO_PIP.iter().find(|(conda, _)| *conda == lowered).map_or(name, |(_, pip)| *pip);
    let fuzzy = |version: &str| if version.contains('*') { format!("=={version}") } else { format!("=={version}.*") };
    let pip_constraint = if constraint.is_empty() {
        String::new()
    } else if let Some(rest) = constraint.strip_prefix('=').filter(|rest| !rest.starts_with('=')) {
        match rest.split_once('=') {
            Some((version, _build)) => format!("=={version}"),
            None => fuzzy(rest),
        }
    } else if constraint.starts_with(|c: char| c.is_ascii_digit()) {
        fuzzy(constraint)
    } else {
        constraint.replace(' ', "")
    };
    Some(format!("{pip_name}{pip_constraint}"))
}

/// The `dependencies` of a conda environment file, conda entries translated, the `pip:` section kept.
pub fn translate_environment_yml(text: &str) -> TranslatedEnvironment {
    let text = YANKED_TYPES_PKG_RESOURCES_YAML.replace_all(text, "${1}types-setuptools");
    let mut translated = TranslatedEnvironment::default();
    let mut in_dependencies = false;
    let mut item_indent: Option<usize> = None;
    let mut in_pip = false;
    for line in text.lines() {
        let content = line.split(" #").next().unwrap_or_default().trim_end();
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = content.len() - trimmed.len();
        let is_item = trimmed.starts_with('-');
        if !is_item && indent == 0 {
            in_dependencies = trimmed.starts_with("dependencies:");
            in_pip = false;
            continue;
        }
        if !in_dependencies || !is_item {
            continue;
        }
        let entry = trimmed.trim_start_matches('-').trim();
        let level = *item_indent.get_or_insert(indent);
        if indent <= level {
            in_pip = entry == "pip:";
            if in_pip {
                continue;
            }
            match conda_spec_to_pip(entry) {
                Some(requirement) => translated.requirements.push(requirement),
                None => translated.dropped.push(entry.to_owned()),
            }
        } else if in_pip {
            translated.requirements.push(entry.trim_matches(|c| c == '\'' || c == '"').to_owned());
        }
    }
    translated
}

/// Shell words of a conda package list (`'numpy==1.19.2' pytest` → `numpy==1.19.2`, `pytest`).
/// The Debian packages a `pre_install` line installs when `apt-get` is all it runs (`update`, `upgrade` and
/// `install` joined by `&&`, with variable assignments before them); `None` for any other line.
fn apt_packages(line: &str) -> Option<Vec<String>> {
    let mut packages = Vec::new();
    for segment in line.split("&&").map(str::trim).filter(|segment| !segment.is_empty()) {
        let words = shell_words(segment);
        let mut words =
            words.iter().map(String::as_str).skip_while(|word| word.contains('=') && !word.starts_with('-'));
        if words.next() != Some("apt-get") {
            return None;
        }
        let arguments: Vec<&str> = words.filter(|word| !word.starts_with('-')).collect();
        match arguments.split_first() {
            Some((&("update" | "upgrade"), [])) => {}
            Some((&"install", names)) if !names.is_empty() => {
                packages.extend(names.iter().map(|name| (*name).to_owned()))
            }
            _ => return None,
        }
    }
    (!packages.is_empty()).then_some(packages)
}

fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for character in text.chars() {
        match (quote, character) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => quote = Some(character),
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (None, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
#[path = "environment_tests.rs"]
mod tests;
