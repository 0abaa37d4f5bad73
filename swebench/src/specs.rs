//! Per-(repository, version) install and test specs, as SWE-bench's `MAP_REPO_VERSION_TO_SPECS` has them.
//!
//! Provenance: transcribed as data from `swebench/harness/constants/python.py` in `SWE-bench/SWE-bench` at tag
//! v4.1.0 (commit 726c5461e2ef52d83cf1ea2107870a8bb3328d57), the last release that ships the table (5.x moved it
//! out of the package). Every Python repository of SWE-bench Lite (test, dev) and Verified is covered, with all the
//! versions upstream lists. Values are upstream's verbatim, conda lines included; [`crate::environment`] translates
//! them for a venv on Debian. `MAP_REPO_TO_INSTALL_PY` is empty upstream, so it has no counterpart here.

/// Where the dependencies come from (upstream's `packages` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packages {
    /// No `packages` field: only the interpreter (and `pip_packages`).
    Nothing,
    /// `"requirements.txt"`: a file read from the repository at the environment-setup commit.
    Requirements,
    /// `"environment.yml"`: a conda environment file from the repository. `no_use_env` (xarray) means
    /// `conda create` followed by `conda env update`.
    EnvironmentYml { no_use_env: bool },
    /// A space-separated conda package list (shell words, possibly quoted).
    Conda(&'static str),
}

/// One entry of `MAP_REPO_VERSION_TO_SPECS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoVersionSpec {
    /// The conda Python version (`"3.6"`).
    pub python: &'static str,
    pub packages: Packages,
    pub pip_packages: Vec<&'static str>,
    pub pre_install: Vec<&'static str>,
    pub install: &'static str,
    pub test_cmd: &'static str,
    /// Lines put at the top of `eval.sh`, after activation.
    pub eval_commands: Vec<&'static str>,
    pub execute_test_as_nonroot: bool,
    /// Docker CPU quota upstream sets for some pylint versions.
    pub nano_cpus: Option<u64>,
}

pub const TEST_PYTEST: &str = "pytest -rA";
pub const TEST_ASTROPY_PYTEST: &str = "pytest -rA -vv -o console_output_style=classic --tb=no";
pub const TEST_DJANGO: &str = "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1";
pub const TEST_DJANGO_NO_PARALLEL: &str = "./tests/runtests.py --verbosity 2";
pub const TEST_SEABORN: &str = "pytest --no-header -rA";
pub const TEST_SPHINX: &str = "tox --current-env -epy39 -v --";
pub const TEST_SYMPY: &str = "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose";

const PIP_INSTALL_EDITABLE: &str = "python -m pip install -e .";

/// `MAP_REPO_TO_REQS_PATHS`: the requirements files tried in order (nested `-r` lines are followed).
pub fn requirements_paths(repo: &str) -> &'static [&'static str] {
    match repo {
        "dbt-labs/dbt-core" => &["dev-requirements.txt", "dev_requirements.txt"],
        "django/django" => &["tests/requirements/py3.txt"],
        "matplotlib/matplotlib" => &["requirements/dev/dev-requirements.txt", "requirements/testing/travis_all.txt"],
        "pallets/flask" => &["requirements/dev.txt"],
        "pylint-dev/pylint" => &["requirements_test.txt"],
        "pyvista/pyvista" => &["requirements_test.txt", "requirements.txt"],
        "sqlfluff/sqlfluff" => &["requirements_dev.txt"],
        "sympy/sympy" => &["requirements-dev.txt", "requirements-test.txt"],
        _ => &[],
    }
}

/// `MAP_REPO_TO_ENV_YML_PATHS`.
pub fn environment_yml_paths(repo: &str) -> &'static [&'static str] {
    match repo {
        "matplotlib/matplotlib" => &["environment.yml"],
        "pydata/xarray" => &["ci/requirements/environment.yml", "environment.yml"],
        _ => &[],
    }
}

/// `REPO_BASE_COMMIT_BRANCH`: base commits only reachable from a release branch (clone with `--branch`).
pub fn base_commit_branch(repo: &str, base_commit: &str) -> Option<&'static str> {
    match (repo, base_commit) {
        ("sympy/sympy", "cffd4e0f86fefd4802349a9f9b19ed70934ea354") => Some("1.7"),
        ("sympy/sympy", "70381f282f2d9d039da860e391fe51649df2779d") => Some("sympy-1.5.1"),
        ("pytest-dev/pytest", "8aba863a634f40560e25055d179220f0eefabe9a") => Some("4.6.x"),
        _ => None,
    }
}

/// The spec of `repo` at `version`, or `None` if upstream has none.
pub fn spec(repo: &str, version: &str) -> Option<RepoVersionSpec> {
    let has = |versions: &[&str]| versions.contains(&version);
    match repo {
        "astropy/astropy" => astropy(version, has),
        "django/django" => django(version, has),
        "matplotlib/matplotlib" => matplotlib(version, has),
        "marshmallow-code/marshmallow" => has(MARSHMALLOW_VERSIONS).then(|| RepoVersionSpec {
            install: "python -m pip install -e '.[dev]'",
            ..base("3.9", Packages::Nothing, TEST_PYTEST)
        }),
        "mwaskom/seaborn" => seaborn(version, has),
        "pallets/flask" => flask(version, has),
        "psf/requests" => has(REQUESTS_VERSIONS).then(|| RepoVersionSpec {
            install: "python -m pip install .",
            ..base("3.9", Packages::Conda("pytest"), TEST_PYTEST)
        }),
        "pvlib/pvlib-python" => has(PVLIB_VERSIONS).then(|| RepoVersionSpec {
            install: "python -m pip install -e .[all]",
            pip_packages: vec!["jupyter", "ipython", "matplotlib", "pytest", "flake8"],
            ..base("3.9", Packages::Conda("pandas scipy"), TEST_PYTEST)
        }),
        "pydata/xarray" => has(XARRAY_VERSIONS).then(|| RepoVersionSpec {
            pip_packages: XARRAY_PIP.to_vec(),
            ..base("3.10", Packages::EnvironmentYml { no_use_env: true }, TEST_PYTEST)
        }),
        "pydicom/pydicom" => pydicom(version, has),
        "pylint-dev/astroid" => has(ASTROID_VERSIONS)
            .then(|| RepoVersionSpec { pip_packages: vec!["pytest"], ..base("3.9", Packages::Nothing, TEST_PYTEST) }),
        "pylint-dev/pylint" => pylint(version, has),
        "pytest-dev/pytest" => pytest(version),
        "pyvista/pyvista" => pyvista(version, has),
        "scikit-learn/scikit-learn" => scikit_learn(has),
        "sphinx-doc/sphinx" => sphinx(version, has),
        "sqlfluff/sqlfluff" => has(SQLFLUFF_VERSIONS).then(|| base("3.9", Packages::Requirements, TEST_PYTEST)),
        "sympy/sympy" => sympy(version, has),
        _ => None,
    }
}

/// Python, packages and test command; install `pip install -e .`; everything else empty.
fn base(python: &'static str, packages: Packages, test_cmd: &'static str) -> RepoVersionSpec {
    RepoVersionSpec {
        python,
        packages,
        pip_packages: Vec::new(),
        pre_install: Vec::new(),
        install: PIP_INSTALL_EDITABLE,
        test_cmd,
        eval_commands: Vec::new(),
        execute_test_as_nonroot: false,
        nano_cpus: None,
    }
}

// ---- astropy ----

const ASTROPY_39_VERSIONS: &[&str] = &["3.0", "3.1", "3.2", "4.1", "4.2", "4.3", "5.0", "5.1", "5.2", "v5.3"];
const ASTROPY_36_VERSIONS: &[&str] = &["0.1", "0.2", "0.3", "0.4", "1.1", "1.2", "1.3"];
const ASTROPY_PINNED_SETUPTOOLS_VERSIONS: &[&str] = &["4.1", "4.2", "4.3", "5.0", "5.1", "5.2", "v5.3"];
const ASTROPY_39_PIP: &[&str] = &[
    "attrs==23.1.0",
    "exceptiongroup==1.1.3",
    "execnet==2.0.2",
    "hypothesis==6.82.6",
    "iniconfig==2.0.0",
    "numpy==1.25.2",
    "packaging==23.1",
    "pluggy==1.3.0",
    "psutil==5.9.5",
    "pyerfa==2.0.0.3",
    "pytest-arraydiff==0.5.0",
    "pytest-astropy-header==0.2.2",
    "pytest-astropy==0.10.0",
    "pytest-cov==4.1.0",
    "pytest-doctestplus==1.0.0",
    "pytest-filter-subpackage==0.1.2",
    "pytest-mock==3.11.1",
    "pytest-openfiles==0.5.0",
    "pytest-remotedata==0.4.0",
    "pytest-xdist==3.3.1",
    "pytest==7.4.0",
    "PyYAML==6.0.1",
    "setuptools==68.0.0",
    "sortedcontainers==2.4.0",
    "tomli==2.0.1",
];
const ASTROPY_36_PIP: &[&str] = &[
    "attrs==17.3.0",
    "exceptiongroup==0.0.0a0",
    "execnet==1.5.0",
    "hypothesis==3.44.2",
    "cython==0.27.3",
    "jinja2==2.10",
    "MarkupSafe==1.0",
    "numpy==1.16.0",
    "packaging==16.8",
    "pluggy==0.6.0",
    "psutil==5.4.2",
    "pyerfa==1.7.0",
    "pytest-arraydiff==0.1",
    "pytest-astropy-header==0.1",
    "pytest-astropy==0.2.1",
    "pytest-cov==2.5.1",
    "pytest-doctestplus==0.1.2",
    "pytest-filter-subpackage==0.1",
    "pytest-forked==0.2",
    "pytest-mock==1.6.3",
    "pytest-openfiles==0.2.0",
    "pytest-remotedata==0.2.0",
    "pytest-xdist==1.20.1",
    "pytest==3.3.1",
    "PyYAML==3.12",
    "sortedcontainers==1.5.9",
    "tomli==0.2.0",
];

fn astropy(version: &str, has: impl Fn(&[&str]) -> bool) -> Option<RepoVersionSpec> {
    const INSTALL: &str = "python -m pip install -e .[test] --verbose";
    if has(ASTROPY_36_VERSIONS) {
        return Some(RepoVersionSpec {
            install: INSTALL,
            pip_packages: ASTROPY_36_PIP.to_vec(),
            ..base("3.6", Packages::Conda("setuptools==38.2.4"), TEST_ASTROPY_PYTEST)
        });
    }
    if !has(ASTROPY_39_VERSIONS) {
        return None;
    }
    let pre_install = if has(ASTROPY_PINNED_SETUPTOOLS_VERSIONS) {
        vec![r#"sed -i 's/requires = \["setuptools",/requires = \["setuptools==68.0.0",/' pyproject.toml"#]
    } else {
        Vec::new()
    };
    let python = if version == "v5.3" { "3.10" } else { "3.9" };
    Some(RepoVersionSpec {
        install: INSTALL,
        pip_packages: ASTROPY_39_PIP.to_vec(),
        pre_install,
        ..base(python, Packages::Nothing, TEST_PYTEST)
    })
}

// ---- django ----

const DJANGO_35_REQUIREMENTS_VERSIONS: &[&str] = &["1.7", "1.8", "1.9", "1.10", "1.11", "2.0", "2.1", "2.2"];
const DJANGO_35_BARE_VERSIONS: &[&str] = &["1.4", "1.5", "1.6"];
const DJANGO_36_VERSIONS: &[&str] = &["3.0", "3.1", "3.2"];

fn django(version: &str, has: impl Fn(&[&str]) -> bool) -> Option<RepoVersionSpec> {
    const SETUP_PY_INSTALL: &str = "python setup.py install";
    if has(DJANGO_35_REQUIREMENTS_VERSIONS) {
        let test_cmd = if version == "1.9" { TEST_DJANGO_NO_PARALLEL } else { TEST_DJANGO };
        return Some(RepoVersionSpec {
            pre_install: vec![
                "apt-get update && apt-get install -y locales",
                "echo 'en_US UTF-8' > /etc/locale.gen",
                "locale-gen en_US.UTF-8",
            ],
            install: SETUP_PY_INSTALL,
            pip_packages: vec!["setuptools"],
            eval_commands: vec![
                "export LANG=en_US.UTF-8",
                "export LC_ALL=en_US.UTF-8",
                "export PYTHONIOENCODING=utf8",
                "export LANGUAGE=en_US:en",
            ],
            ..base("3.5", Packages::Requirements, test_cmd)
        });
    }
    if has(DJANGO_35_BARE_VERSIONS) {
        return Some(RepoVersionSpec { install: SETUP_PY_INSTALL, ..base("3.5", Packages::Nothing, TEST_DJANGO) });
    }
    if has(DJANGO_36_VERSIONS) {
        return Some(RepoVersionSpec {
            eval_commands: vec![
                "sed -i '/en_US.UTF-8/s/^# //g' /etc/locale.gen && locale-gen",
                "export LANG=en_US.UTF-8",
                "export LANGUAGE=en_US:en",
                "export LC_ALL=en_US.UTF-8",
            ],
            ..base("3.6", Packages::Requirements, TEST_DJANGO)
        });
    }
    let python = match version {
        "4.0" => "3.8",
        "4.1" | "4.2" => "3.9",
        "5.0" | "5.1" | "5.2" => "3.11",
        _ => return None,
    };
    Some(base(python, Packages::Requirements, TEST_DJANGO))
}

// ---- matplotlib ----

const MATPLOTLIB_ENV_YML_VERSIONS: &[&str] = &["3.5", "3.6", "3.7", "3.8", "3.9"];
const MATPLOTLIB_38_VERSIONS: &[&str] = &["3.1", "3.2", "3.3", "3.4"];
const MATPLOTLIB_35_VERSIONS: &[&str] = &["2.0", "2.1", "2.2", "1.0", "1.1", "1.2", "1.3", "1.4", "1.5"];
/// Upstream downloads qhull from qhull.org before installing (unreachable offline; see [`crate::environment`]).
pub const QHULL_DOWNLOAD: &[&str] = &[
    r#"QHULL_URL="http://www.qhull.org/download/qhull-2020-src-8.0.2.tgz""#,
    r#"QHULL_TAR="/tmp/qhull-2020-src-8.0.2.tgz""#,
    r#"QHULL_BUILD_DIR="/testbed/build""#,
    r#"wget -O "$QHULL_TAR" "$QHULL_URL""#,
    r#"mkdir -p "$QHULL_BUILD_DIR""#,
    r#"tar -xvzf "$QHULL_TAR" -C "$QHULL_BUILD_DIR""#,
];
const MATPLOTLIB_311_PIP: &[&str] = &[
    "contourpy==1.1.0",
    "cycler==0.11.0",
    "fonttools==4.42.1",
    "ghostscript",
    "kiwisolver==1.4.5",
    "numpy==1.25.2",
    "packaging==23.1",
    "pillow==10.0.0",
    "pikepdf",
    "pyparsing==3.0.9",
    "python-dateutil==2.8.2",
    "six==1.16.0",
    "setuptools==68.1.2",
    "setuptools-scm==7.1.0",
    "typing-extensions==4.7.1",
];

fn matplotlib(version: &str, has: impl Fn(&[&str]) -> bool) -> Option<RepoVersionSpec> {
    let with_qhull = |apt: &'static str| [&[apt][..], QHULL_DOWNLOAD].concat();
    if has(MATPLOTLIB_ENV_YML_VERSIONS) {
        let install = if matches!(version, "3.8" | "3.9") {
            r#"python -m pip install --no-build-isolation -e ".[dev]""#
        } else {
            PIP_INSTALL_EDITABLE
        };
        return Some(RepoVersionSpec {
            install,
            pre_install: with_qhull(
                "apt-get -y update && apt-get -y upgrade && DEBIAN_FRONTEND=noninteractive apt-get install -y \
                 imagemagick ffmpeg texlive texlive-latex-extra texlive-fonts-recommended texlive-xetex \
                 texlive-luatex cm-super dvipng",
            ),
            pip_packages: MATPLOTLIB_311_PIP.to_vec(),
            ..base("3.11", Packages::EnvironmentYml { no_use_env: false }, TEST_PYTEST)
        });
    }
    if has(MATPLOTLIB_38_VERSIONS) {
        return Some(RepoVersionSpec {
            pre_install: with_qhull(
                "apt-get -y update && apt-get -y upgrade && DEBIAN_FRONTEND=noninteractive apt-get install -y \
                 imagemagick ffmpeg libfreetype6-dev pkg-config texlive texlive-latex-extra \
                 texlive-fonts-recommended texlive-xetex texlive-luatex cm-super",
            ),
            pip_packages: vec!["pytest", "ipython"],
            ..base("3.8", Packages::Requirements, TEST_PYTEST)
        });
    }
    if version == "3.0" {
        return Some(RepoVersionSpec {
            pre_install: with_qhull(
                "apt-get -y update && apt-get -y upgrade && apt-get install -y imagemagick ffmpeg libfreetype6-dev \
                 pkg-config",
            ),
            pip_packages: vec!["pytest"],
            ..base("3.7", Packages::Requirements, TEST_PYTEST)
        });
    }
    has(MATPLOTLIB_35_VERSIONS).then(|| RepoVersionSpec {
        install: "python setup.py build; python setup.py install",
        // Upstream's line has a stray `&& &&` (a shell syntax error); kept verbatim.
        pre_install: vec!["apt-get -y update && apt-get -y upgrade && && apt-get install -y imagemagick ffmpeg"],
        pip_packages: vec!["pytest"],
        execute_test_as_nonroot: true,
        ..base("3.5", Packages::Nothing, TEST_PYTEST)
    })
}

// ---- small repositories ----

const MARSHMALLOW_VERSIONS: &[&str] = &[
    "2.18", "2.19", "2.20", "3.0", "3.1", "3.10", "3.11", "3.12", "3.13", "3.15", "3.16", "3.19", "3.2", "3.4", "3.8",
    "3.9",
];
const REQUESTS_VERSIONS: &[&str] = &[
    "0.7", "0.8", "0.9", "0.11", "0.13", "0.14", "1.1", "1.2", "2.0", "2.2", "2.3", "2.4", "2.5", "2.7", "2.8", "2.9",
    "2.10", "2.11", "2.12", "2.17", "2.18", "2.19", "2.22", "2.26", "2.25", "2.27", "2.31", "3.0",
];
const PVLIB_VERSIONS: &[&str] = &["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"];
const XARRAY_VERSIONS: &[&str] =
    &["0.12", "0.18", "0.19", "0.20", "2022.03", "2022.06", "2022.09", "2023.07", "2024.05"];
const XARRAY_PIP: &[&str] = &[
    "numpy==1.23.0",
    "packaging==23.1",
    "pandas==1.5.3",
    "pytest==7.4.0",
    "python-dateutil==2.8.2",
    "pytz==2023.3",
    "six==1.16.0",
    "scipy==1.11.1",
    "setuptools==68.0.0",
    "dask==2022.8.1",
];
const ASTROID_VERSIONS: &[&str] =
    &["2.10", "2.12", "2.13", "2.14", "2.15", "2.16", "2.5", "2.6", "2.7", "2.8", "2.9", "3.0"];
const SQLFLUFF_VERSIONS: &[&str] = &[
    "0.10", "0.11", "0.12", "0.13", "0.4", "0.5", "0.6", "0.8", "0.9", "1.0", "1.1", "1.2", "1.3", "1.4", "2.0", "2.1",
    "2.2",
];

// ---- seaborn ----

fn seaborn(version: &str, has: impl Fn(&[&str]) -> bool) -> Option<RepoVersionSpec> {
    let pandas = match version {
        "0.11" => "pandas==1.3.5",
        _ if has(&["0.12", "0.13", "0.14"]) => "pandas==2.0.0",
        _ => return None,
    };
    let install = if version == "0.11" { PIP_INSTALL_EDITABLE } else { "python -m pip install -e .[dev]" };
    Some(RepoVersionSpec {
        install,
        pip_packages: vec![
            "contourpy==1.1.0",
            "cycler==0.11.0",
            "fonttools==4.42.1",
            "importlib-resources==6.0.1",
            "kiwisolver==1.4.5",
            "matplotlib==3.7.2",
            "numpy==1.25.2",
            "packaging==23.1",
            pandas,
            "pillow==10.0.0",
            "pyparsing==3.0.9",
            "pytest",
            "python-dateutil==2.8.2",
            "pytz==2023.3.post1",
            "scipy==1.11.2",
            "six==1.16.0",
            "tzdata==2023.1",
            "zipp==3.16.2",
        ],
        ..base("3.9", Packages::Nothing, TEST_SEABORN)
    })
}

// ---- flask ----

fn flask(version: &str, has: impl Fn(&[&str]) -> bool) -> Option<RepoVersionSpec> {
    const LATER_PINS: &[&str] = &[
        "setuptools==70.0.0",
        "click==8.1.3",
        "itsdangerous==2.1.2",
        "Jinja2==3.1.2",
        "MarkupSafe==2.1.1",
        "Werkzeug==2.3.7",
    ];
    let (python, pins): (&str, &[&str]) = match version {
        "2.0" => (
            "3.9",
            &[
                "setuptools==70.0.0",
                "Werkzeug==2.3.7",
                "Jinja2==3.0.1",
                "itsdangerous==2.1.2",
                "click==8.0.1",
                "MarkupSafe==2.1.3",
            ],
        ),
        "2.1" => ("3.10", LATER_PINS),
        _ if has(&["2.2", "2.3", "3.0", "3.1"]) => ("3.11", LATER_PINS),
        _ => return None,
    };
    Some(RepoVersionSpec { pip_packages: pins.to_vec(), ..base(python, Packages::Requirements, TEST_PYTEST) })
}

// ---- pydicom ----

fn pydicom(version: &str, has: impl Fn(&[&str]) -> bool) -> Option<RepoVersionSpec> {
    if !has(&["1.0", "1.1", "1.2", "1.3", "1.4", "2.0", "2.1", "2.2", "2.3", "2.4", "3.0"]) {
        return None;
    }
    let python = match version {
        "1.4" | "2.0" => "3.8",
        "2.1" | "2.2" => "3.9",
        "2.3" => "3.10",
        "2.4" | "3.0" => "3.11",
        _ => "3.6",
    };
    Some(RepoVersionSpec { pip_packages: vec!["pytest"], ..base(python, Packages::Conda("numpy"), TEST_PYTEST) })
}

// ---- pylint ----

fn pylint(version: &str, has: impl Fn(&[&str]) -> bool) -> Option<RepoVersionSpec> {
    let versions =
        ["2.10", "2.11", "2.13", "2.14", "2.15", "2.16", "2.17", "2.8", "2.9", "3.0", "3.1", "3.2", "3.3", "4.0"];
    if !has(&versions) {
        return None;
    }
    let mut spec = base("3.9", Packages::Requirements, TEST_PYTEST);
    if version == "2.8" {
        spec.pip_packages = vec!["pyenchant==3.2"];
        spec.pre_install = vec!["apt-get update && apt-get install -y libenchant-2-dev hunspell-en-us"];
    }
    if has(&["3.0", "3.1", "3.2", "3.3", "4.0"]) {
        spec.pip_packages = vec!["astroid==3.0.0a6", "setuptools"];
    }
    if has(&["2.14", "2.15", "2.17", "3.0", "3.1", "3.2", "3.3", "4.0"]) {
        spec.nano_cpus = Some(2_000_000_000);
    }
    Some(spec)
}

// ---- pytest ----

fn pytest(version: &str) -> Option<RepoVersionSpec> {
    let pins: &[&str] = match version {
        "4.4" => &[
            "atomicwrites==1.4.1",
            "attrs==23.1.0",
            "more-itertools==10.1.0",
            "pluggy==0.13.1",
            "py==1.11.0",
            "setuptools==68.0.0",
            "six==1.16.0",
        ],
        "4.5" => &[
            "atomicwrites==1.4.1",
            "attrs==23.1.0",
            "more-itertools==10.1.0",
            "pluggy==0.11.0",
            "py==1.11.0",
            "setuptools==68.0.0",
            "six==1.16.0",
            "wcwidth==0.2.6",
        ],
        "4.6" => &[
            "atomicwrites==1.4.1",
            "attrs==23.1.0",
            "more-itertools==10.1.0",
            "packaging==23.1",
            "pluggy==0.13.1",
            "py==1.11.0",
            "six==1.16.0",
            "wcwidth==0.2.6",
        ],
        "5.0" | "5.1" | "5.2" => &[
            "atomicwrites==1.4.1",
            "attrs==23.1.0",
            "more-itertools==10.1.0",
            "packaging==23.1",
            "pluggy==0.13.1",
            "py==1.11.0",
            "wcwidth==0.2.6",
        ],
        "5.3" => &[
            "attrs==23.1.0",
            "more-itertools==10.1.0",
            "packaging==23.1",
            "pluggy==0.13.1",
            "py==1.11.0",
            "wcwidth==0.2.6",
        ],
        "5.4" => &["py==1.11.0", "packaging==23.1", "attrs==23.1.0", "more-itertools==10.1.0", "pluggy==0.13.1"],
        "6.0" => &[
            "attrs==23.1.0",
            "iniconfig==2.0.0",
            "more-itertools==10.1.0",
            "packaging==23.1",
            "pluggy==0.13.1",
            "py==1.11.0",
            "toml==0.10.2",
        ],
        "6.2" | "6.3" => {
            &["attrs==23.1.0", "iniconfig==2.0.0", "packaging==23.1", "pluggy==0.13.1", "py==1.11.0", "toml==0.10.2"]
        }
        "7.0" => &["attrs==23.1.0", "iniconfig==2.0.0", "packaging==23.1", "pluggy==0.13.1", "py==1.11.0"],
        "7.1" | "7.2" => {
            &["attrs==23.1.0", "iniconfig==2.0.0", "packaging==23.1", "pluggy==0.13.1", "py==1.11.0", "tomli==2.0.1"]
        }
        "7.4" | "8.0" | "8.1" | "8.2" | "8.3" | "8.4" => {
            &["iniconfig==2.0.0", "packaging==23.1", "pluggy==1.3.0", "exceptiongroup==1.1.3", "tomli==2.0.1"]
        }
        _ => return None,
    };
    let pre_install = if version == "6.3" { vec!["sed -i 's/>=>=/>=/' setup.cfg"] } else { Vec::new() };
    Some(RepoVersionSpec { pip_packages: pins.to_vec(), pre_install, ..base("3.9", Packages::Nothing, TEST_PYTEST) })
}

// ---- pyvista ----

fn pyvista(version: &str, has: impl Fn(&[&str]) -> bool) -> Option<RepoVersionSpec> {
    let early = has(&["0.20", "0.21", "0.22", "0.23"]);
    let later = version
        .strip_prefix("0.")
        .and_then(|minor| minor.parse::<u32>().ok())
        .is_some_and(|minor| (24..=43).contains(&minor) && version.len() == 4);
    if early {
        return Some(RepoVersionSpec { pip_packages: vec!["pytest"], ..base("3.9", Packages::Nothing, TEST_PYTEST) });
    }
    later.then(|| RepoVersionSpec {
        pip_packages: vec!["pytest"],
        pre_install: vec!["apt-get update && apt-get install -y ffmpeg libsm6 libxext6 libxrender1"],
        ..base("3.9", Packages::Requirements, TEST_PYTEST)
    })
}

// ---- scikit-learn ----

fn scikit_learn(has: impl Fn(&[&str]) -> bool) -> Option<RepoVersionSpec> {
    const INSTALL: &str = "python -m pip install -v --no-use-pep517 --no-build-isolation -e .";
    if has(&["0.20", "0.21", "0.22"]) {
        return Some(RepoVersionSpec {
            install: INSTALL,
            pip_packages: vec!["cython", "numpy==1.19.2", "setuptools", "scipy==1.5.2"],
            ..base("3.6", Packages::Conda("numpy scipy cython pytest pandas matplotlib"), TEST_PYTEST)
        });
    }
    has(&["1.3", "1.4", "1.5", "1.6"]).then(|| RepoVersionSpec {
        install: INSTALL,
        pip_packages: vec!["cython", "setuptools", "numpy", "scipy"],
        ..base(
            "3.9",
            Packages::Conda(
                "'numpy==1.19.2' 'scipy==1.5.2' 'cython==3.0.10' pytest 'pandas<2.0.0' 'matplotlib<3.9.0' \
                 setuptools pytest joblib threadpoolctl",
            ),
            TEST_PYTEST,
        )
    })
}

// ---- sphinx ----

const SPHINX_VERSIONS: &[&str] = &[
    "1.5", "1.6", "1.7", "1.8", "2.0", "2.1", "2.2", "2.3", "2.4", "3.0", "3.1", "3.2", "3.3", "3.4", "3.5", "4.0",
    "4.1", "4.2", "4.3", "4.4", "4.5", "5.0", "5.1", "5.2", "5.3", "6.0", "6.2", "7.0", "7.1", "7.2", "7.3", "7.4",
    "8.0", "8.1",
];
const SPHINX_PINNED_SETUP_VERSIONS: &[&str] =
    &["3.0", "3.1", "3.2", "3.3", "3.4", "3.5", "4.0", "4.1", "4.2", "4.3", "4.4"];

fn sphinx(version: &str, has: impl Fn(&[&str]) -> bool) -> Option<RepoVersionSpec> {
    if !has(SPHINX_VERSIONS) {
        return None;
    }
    let mut pre_install = vec!["sed -i 's/pytest/pytest -rA/' tox.ini"];
    if has(SPHINX_PINNED_SETUP_VERSIONS) {
        pre_install.extend([
            "sed -i 's/Jinja2>=2.3/Jinja2<3.0/' setup.py",
            "sed -i 's/sphinxcontrib-applehelp/sphinxcontrib-applehelp<=1.0.7/' setup.py",
            "sed -i 's/sphinxcontrib-devhelp/sphinxcontrib-devhelp<=1.0.5/' setup.py",
            "sed -i 's/sphinxcontrib-qthelp/sphinxcontrib-qthelp<=1.0.6/' setup.py",
            "sed -i 's/alabaster>=0.7,<0.8/alabaster>=0.7,<0.7.12/' setup.py",
            r#"sed -i "s/'packaging',/'packaging', 'markupsafe<=2.0.1',/" setup.py"#,
        ]);
        if has(&["4.2", "4.3", "4.4"]) {
            pre_install.extend([
                "sed -i 's/sphinxcontrib-htmlhelp>=2.0.0/sphinxcontrib-htmlhelp>=2.0.0,<=2.0.4/' setup.py",
                "sed -i 's/sphinxcontrib-serializinghtml>=1.1.5/sphinxcontrib-serializinghtml>=1.1.5,<=1.1.9/' \
                 setup.py",
            ]);
        } else if version == "4.1" {
            pre_install.extend([
                "grep -q 'sphinxcontrib-htmlhelp>=2.0.0' setup.py && sed -i \
                 's/sphinxcontrib-htmlhelp>=2.0.0/sphinxcontrib-htmlhelp>=2.0.0,<=2.0.4/' setup.py || sed -i \
                 's/sphinxcontrib-htmlhelp/sphinxcontrib-htmlhelp<=2.0.4/' setup.py",
                "grep -q 'sphinxcontrib-serializinghtml>=1.1.5' setup.py && sed -i \
                 's/sphinxcontrib-serializinghtml>=1.1.5/sphinxcontrib-serializinghtml>=1.1.5,<=1.1.9/' setup.py \
                 || sed -i 's/sphinxcontrib-serializinghtml/sphinxcontrib-serializinghtml<=1.1.9/' setup.py",
            ]);
        } else {
            pre_install.extend([
                "sed -i 's/sphinxcontrib-htmlhelp/sphinxcontrib-htmlhelp<=2.0.4/' setup.py",
                "sed -i 's/sphinxcontrib-serializinghtml/sphinxcontrib-serializinghtml<=1.1.9/' setup.py",
            ]);
        }
    }
    if has(&["7.2", "7.3", "7.4", "8.0", "8.1"]) {
        pre_install.push("apt-get update && apt-get install -y graphviz");
    }
    let python = if has(&["8.0", "8.1"]) { "3.10" } else { "3.9" };
    Some(RepoVersionSpec {
        pip_packages: vec!["tox==4.16.0", "tox-current-env==0.0.11", "Jinja2==3.0.3"],
        install: "python -m pip install -e .[test]",
        pre_install,
        ..base(python, Packages::Nothing, TEST_SPHINX)
    })
}

// ---- sympy ----

fn sympy(version: &str, has: impl Fn(&[&str]) -> bool) -> Option<RepoVersionSpec> {
    if matches!(version, "1.13" | "1.14") {
        return Some(RepoVersionSpec {
            pip_packages: vec!["mpmath==1.3.0"],
            ..base("3.9", Packages::Requirements, TEST_SYMPY)
        });
    }
    let versions = ["0.7", "1.0", "1.1", "1.10", "1.11", "1.12", "1.2", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9"];
    has(&versions).then(|| RepoVersionSpec {
        pip_packages: vec!["mpmath==1.3.0", "flake8-comprehensions"],
        ..base("3.9", Packages::Conda("mpmath flake8"), TEST_SYMPY)
    })
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn spot_checks_against_upstream() {
        let django = spec("django/django", "3.1").unwrap();
        assert_eq!((django.python, django.packages, django.test_cmd), ("3.6", Packages::Requirements, TEST_DJANGO));
        assert_eq!(django.eval_commands.len(), 4);
        assert_eq!(spec("django/django", "1.9").unwrap().test_cmd, TEST_DJANGO_NO_PARALLEL);
        let sklearn = spec("scikit-learn/scikit-learn", "0.22").unwrap();
        assert_eq!(sklearn.packages, Packages::Conda("numpy scipy cython pytest pandas matplotlib"));
        assert_eq!(sklearn.install, "python -m pip install -v --no-use-pep517 --no-build-isolation -e .");
        let sphinx = spec("sphinx-doc/sphinx", "4.1").unwrap();
        assert_eq!(sphinx.pre_install.len(), 9);
        assert_eq!(spec("sphinx-doc/sphinx", "3.5").unwrap().pre_install.len(), 9);
        assert_eq!(spec("sphinx-doc/sphinx", "7.2").unwrap().pre_install.len(), 2);
        assert_eq!(spec("sphinx-doc/sphinx", "8.1").unwrap().python, "3.10");
        assert_eq!(spec("astropy/astropy", "1.3").unwrap().test_cmd, TEST_ASTROPY_PYTEST);
        assert_eq!(spec("astropy/astropy", "5.2").unwrap().pre_install.len(), 1);
        assert!(spec("astropy/astropy", "3.1").unwrap().pre_install.is_empty());
        assert_eq!(spec("astropy/astropy", "v5.3").unwrap().python, "3.10");
        assert_eq!(spec("sympy/sympy", "1.13").unwrap().packages, Packages::Requirements);
        assert_eq!(spec("sympy/sympy", "1.12").unwrap().packages, Packages::Conda("mpmath flake8"));
        assert_eq!(spec("pylint-dev/pylint", "3.0").unwrap().pip_packages, vec!["astroid==3.0.0a6", "setuptools"]);
        assert_eq!(spec("pylint-dev/pylint", "2.15").unwrap().nano_cpus, Some(2_000_000_000));
        assert_eq!(spec("pydicom/pydicom", "2.3").unwrap().python, "3.10");
        assert_eq!(spec("pyvista/pyvista", "0.39").unwrap().packages, Packages::Requirements);
        assert!(spec("pyvista/pyvista", "0.44").is_none());
        assert_eq!(spec("matplotlib/matplotlib", "3.6").unwrap().pre_install.len(), 7);
        assert_eq!(spec("pytest-dev/pytest", "6.3").unwrap().pre_install, vec!["sed -i 's/>=>=/>=/' setup.cfg"]);
        assert!(spec("django/django", "9.9").is_none());
        assert!(spec("nobody/nothing", "1.0").is_none());
    }
}
