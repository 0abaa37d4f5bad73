use pretty_assertions::assert_eq;

use super::*;

fn instance(repo: &str, version: &str) -> Instance {
    Instance {
        instance_id: format!("{}-1", repo.replace('/', "__")),
        repo: repo.to_owned(),
        base_commit: "base0000".to_owned(),
        patch: String::new(),
        test_patch: String::new(),
        problem_statement: String::new(),
        hints_text: String::new(),
        created_at: String::new(),
        version: version.to_owned(),
        fail_to_pass: Vec::new(),
        pass_to_pass: Vec::new(),
        environment_setup_commit: "env11111".to_owned(),
        log_parser: None,
    }
}

#[test]
fn closest_debian_python() {
    let mapped: Vec<(&str, Option<&str>)> = ["3.5", "3.6", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "2.7"]
        .into_iter()
        .map(|requested| (requested, PythonVersion::closest(requested).map(PythonVersion::version)))
        .collect();
    assert_eq!(
        mapped,
        vec![
            ("3.5", Some("3.9")),
            ("3.6", Some("3.9")),
            ("3.8", Some("3.9")),
            ("3.9", Some("3.9")),
            ("3.10", Some("3.9")),
            ("3.11", Some("3.11")),
            ("3.12", Some("3.11")),
            ("3.13", Some("3.13")),
            ("3.14", Some("3.13")),
            ("2.7", None),
        ]
    );
}

#[test]
fn conda_specs_become_pip_requirements() {
    let cases = [
        ("numpy", Some("numpy")),
        ("numpy>=1.19", Some("numpy>=1.19")),
        ("numpy >=1.19,<2", Some("numpy>=1.19,<2")),
        ("pydata-sphinx-theme=0.13", Some("pydata-sphinx-theme==0.13.*")),
        ("python=3.9.20=he870216_1", None),
        ("setuptools==38.2.4", Some("setuptools==38.2.4")),
        ("conda-forge::matplotlib-base>=3.5", Some("matplotlib>=3.5")),
        ("dask-core", Some("dask")),
        ("pyqt", Some("PyQt5")),
        ("c-compiler", None),
        ("libgcc-ng=11.2.0", None),
        ("_openmp_mutex", None),
        ("pytest!=4.6.0,!=5.4.0  # comment", Some("pytest!=4.6.0,!=5.4.0")),
        ("'pandas<2.0.0'", Some("pandas<2.0.0")),
    ];
    for (conda, pip) in cases {
        assert_eq!(conda_spec_to_pip(conda).as_deref(), pip, "{conda}");
    }
}

const MATPLOTLIB_ENV_YML: &str = "\
# To set up a development environment using conda run:
#
#   conda env create -f environment.yml
---
name: mpl-dev
channels:
  - conda-forge
dependencies:
  # runtime dependencies
  - cairocffi
  - c-compiler
  - contourpy>=1.0.1
  - numpy>=1.21
  - pkg-config
  - pyqt
  - python>=3.9
  - setuptools_scm
  - pip
  - pip:
      - mpl-sphinx-theme~=3.8.0
      - types-pkg_resources
      - sphinxcontrib-svg2pdfconverter>=1.1.0
  # testing
  - pytest!=4.6.0,!=5.4.0
  - wxpython
";

#[test]
fn environment_yml_translation() {
    let translated = translate_environment_yml(MATPLOTLIB_ENV_YML);
    assert_eq!(
        translated.requirements,
        vec![
            "cairocffi",
            "contourpy>=1.0.1",
            "numpy>=1.21",
            "PyQt5",
            "setuptools_scm",
            "mpl-sphinx-theme~=3.8.0",
            "types-setuptools",
            "sphinxcontrib-svg2pdfconverter>=1.1.0",
            "pytest!=4.6.0,!=5.4.0",
        ]
    );
    assert_eq!(translated.dropped, vec!["c-compiler", "pkg-config", "python>=3.9", "pip", "wxpython"]);
}

#[test]
fn requirements_follow_includes_and_fall_back_to_the_base_commit() {
    // django's py3.txt at the base commit only (as with the django fork missing the 3.0/3.2 env commits).
    let files = |commit: &str, path: &str| match (commit, path) {
        ("base0000", "tests/requirements/py3.txt") => {
            Some("-e ..\n-r base.txt\nasgiref >= 3.2\n# comment\ntypes-pkg_resources==0.1\npytz\n".to_owned())
        }
        ("base0000", "tests/requirements/base.txt") => Some("sqlparse\n-e .\n".to_owned()),
        _ => None,
    };
    let plan = EnvironmentPlan::for_instance(&instance("django/django", "3.0"), &files).unwrap();
    assert_eq!(plan.python, PythonVersion::Py39);
    assert_eq!(plan.requested_python, "3.6");
    assert_eq!(
        plan.env_script[2],
        "cat <<'EOF_59812759871' > $HOME/requirements.txt\nsqlparse\n\nasgiref >= 3.2\ntypes-setuptools\npytz\n\n\
         EOF_59812759871"
    );
    assert_eq!(
        plan.notes,
        vec![
            "python 3.6 replaced by Debian's 3.9",
            "cython<3, pytest<7, pyparsing<3.2, setuptools-scm<7 held back, as conda's builds for Python 3.6 are",
            "tests/requirements/py3.txt read at the base commit: not found at environment_setup_commit env11111",
            "unittest descriptions as Python 3.6 prints them (a docstring starting with a newline gives none)",
        ]
    );
    assert_eq!(plan.env_script[1], "python -m pip install pip==21.2.2 setuptools==58.0.4 wheel==0.37.1");
    // Django 4.0 asks for 3.8, whose descriptions SWE-bench's ids follow as 3.9 prints them: no hook.
    let plan = EnvironmentPlan::for_instance(&instance("django/django", "4.0"), &files).unwrap();
    assert!(!plan.notes.iter().any(|note| note.contains("unittest descriptions")), "{:?}", plan.notes);
    assert!(!plan.env_script.iter().any(|line| line.contains("agentless_old_unittest")));
}

#[test]
fn missing_requirements_is_an_error() {
    let nothing = |_: &str, _: &str| None;
    let error = EnvironmentPlan::for_instance(&instance("sympy/sympy", "1.13"), &nothing).unwrap_err();
    assert!(matches!(error, SwebenchError::MissingRepoFile { .. }), "{error}");
    let error = EnvironmentPlan::for_instance(&instance("sympy/sympy", "0.1"), &nothing).unwrap_err();
    assert!(matches!(error, SwebenchError::NoSpec { .. }), "{error}");
}

#[test]
fn scikit_learn_setup_script() {
    let nothing = |_: &str, _: &str| None;
    let plan = EnvironmentPlan::for_instance(&instance("scikit-learn/scikit-learn", "0.22"), &nothing).unwrap();
    insta::assert_snapshot!(plan.setup_script("base0000", "/testbed", "source /opt/venv/bin/activate"));
    insta::assert_debug_snapshot!(plan.notes);
}

#[test]
fn matplotlib_builds_on_debian_freetype_and_qhull() {
    let files = |commit: &str, path: &str| {
        (commit == "env11111" && path == "environment.yml").then(|| MATPLOTLIB_ENV_YML.to_owned())
    };
    let plan = EnvironmentPlan::for_instance(&instance("matplotlib/matplotlib", "3.6"), &files).unwrap();
    assert_eq!(plan.python, PythonVersion::Py311);
    assert_eq!(plan.repo_script.len(), 3);
    assert!(plan.repo_script[0].contains("PIP_CONSTRAINT"), "{:?}", plan.repo_script);
    assert!(plan.repo_script[1].contains("export MPLSETUPCFG="), "{:?}", plan.repo_script);
    assert!(plan.env_script.iter().any(|line| line.contains("system_freetype = true")), "{:?}", plan.env_script);
    assert!(plan.repo_script.iter().all(|line| !line.contains("apt-get")), "{:?}", plan.repo_script);
    assert_eq!(plan.system_packages[..5], ["libfreetype6-dev", "libqhull-dev", "pkg-config", "imagemagick", "ffmpeg"]);
    assert_eq!(plan.system_packages.len(), 12);
    let version_33 = EnvironmentPlan::for_instance(&instance("matplotlib/matplotlib", "3.3"), &|_: &str, _: &str| {
        Some("numpy\n".to_owned())
    })
    .unwrap();
    let unique: std::collections::BTreeSet<_> = version_33.system_packages.iter().collect();
    assert_eq!(unique.len(), version_33.system_packages.len(), "{:?}", version_33.system_packages);
    // Requirements and wheel-first pins together: still one valid script.
    let script = plan.setup_script("base0000", "/testbed", "source /opt/venv/bin/activate");
    assert!(script.contains("-r $HOME/requirements.txt --only-binary numpy ||"), "{script}");
    let syntax = std::process::Command::new("bash").args(["-n", "-c", &script]).output().unwrap();
    assert!(syntax.status.success(), "{}\n{script}", String::from_utf8_lossy(&syntax.stderr));
    assert!(plan.repo_script.iter().all(|line| !line.contains("qhull.org")));
    insta::assert_debug_snapshot!(plan.notes);
}

#[test]
fn tox_current_env_sees_the_virtualenv_as_its_user_site() {
    let sphinx = specs::spec("sphinx-doc/sphinx", "3.5").unwrap();
    assert_eq!(test_command(&sphinx), "PYTHONUSERBASE=\"$VIRTUAL_ENV\" tox --current-env -epy39 -v --");
    let nothing = |_: &str, _: &str| None;
    let plan = EnvironmentPlan::for_instance(&instance("sphinx-doc/sphinx", "3.5"), &nothing).unwrap();
    assert!(plan.notes.iter().any(|note| note.contains("PYTHONUSERBASE")), "{:?}", plan.notes);
    let pytest = specs::spec("pytest-dev/pytest", "5.4").unwrap();
    assert_eq!(test_command(&pytest), pytest.test_cmd);
}

#[test]
fn apt_get_lines_become_system_packages() {
    let packages = |line: &str| apt_packages(line);
    assert_eq!(packages("apt-get update && apt-get install -y ffmpeg libsm6").unwrap(), ["ffmpeg", "libsm6"]);
    // Upstream's matplotlib 1.x line has an empty command between two `&&`.
    assert_eq!(
        packages("apt-get -y update && apt-get -y upgrade && && apt-get install -y imagemagick").unwrap(),
        ["imagemagick"]
    );
    assert_eq!(packages("DEBIAN_FRONTEND=noninteractive apt-get install -y graphviz").unwrap(), ["graphviz"]);
    // Anything else stays in the script.
    assert_eq!(packages("apt-get update && apt-get install -y locales && locale-gen"), None);
    assert_eq!(packages("apt-get update"), None);
    assert_eq!(packages("sed -i 's/pytest/pytest -rA/' tox.ini"), None);
}

#[test]
fn compiled_pins_come_as_wheels_or_relax_to_their_minor_release() {
    let mut notes = Vec::new();
    let packages = |list: &[&str]| list.iter().map(|package| (*package).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        pip_install_wheel_pins_first(&packages(&["pytest==6.2.5", "numpy"]), " -r r.txt", &mut notes),
        "python -m pip install pytest==6.2.5 numpy -r r.txt"
    );
    assert!(notes.is_empty());
    let script =
        pip_install_wheel_pins_first(&packages(&["pytest==6.2.5", "numpy==1.19", "SciPy==1.5.2"]), "", &mut notes);
    let (exact, relaxed) = script.split_once(" || ").unwrap();
    assert_eq!(exact, "{ python -m pip install pytest==6.2.5 numpy==1.19 SciPy==1.5.2 --only-binary numpy,SciPy");
    assert!(relaxed.ends_with("python -m pip install pytest==6.2.5 'numpy==1.19.*' 'SciPy~=1.5.2'; }; }"), "{relaxed}");
    // A group: it composes with the commands around it.
    let composed = format!("true && {script} && echo done");
    let shell = std::process::Command::new("bash").args(["-n", "-c", &composed]).status().unwrap();
    assert!(shell.success(), "{composed}");
    assert_eq!(notes.len(), 1);
}

#[test]
fn shell_quoting() {
    assert_eq!(shell_quote("numpy==1.19.2"), "numpy==1.19.2");
    assert_eq!(shell_quote("pandas<2.0.0"), "'pandas<2.0.0'");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_words("'numpy==1.19.2' pytest  \"a b\""), vec!["numpy==1.19.2", "pytest", "a b"]);
}

/// The constraints step run in a real virtualenv: pip itself reads them back from the virtualenv's `pip.conf`,
/// as the eval script's reinstall (a later shell, no `PIP_CONSTRAINT`) will.
#[test]
fn constraints_stay_with_the_virtualenv() {
    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("venv");
    let created = std::process::Command::new("python3").arg("-m").arg("venv").arg(&venv).status().unwrap();
    assert!(created.success());
    let step = build_constraints(older_python_constraints(Some(8)));
    let setup = std::process::Command::new("bash")
        .args(["-euc", &step])
        .env("VIRTUAL_ENV", &venv)
        .env_remove("PIP_CONSTRAINT")
        .status()
        .unwrap();
    assert!(setup.success(), "{step}");
    let constraints = fs_err::read_to_string(venv.join("agentless-constraints.txt")).unwrap();
    assert_eq!(
        constraints.lines().collect::<Vec<_>>(),
        ["setuptools<80", "docutils<0.22", "pytest<8.4", "pyparsing<3.2", "setuptools-scm<9"]
    );
    // A later pip run in the virtualenv, with no pip variables of the host's, sees the constraint file.
    let mut config = std::process::Command::new(venv.join("bin/python"));
    config.args(["-m", "pip", "config", "list"]);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("PIP_")) {
        config.env_remove(name);
    }
    let listed = config.output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    let expected = format!("global.constraint='{}'", venv.join("agentless-constraints.txt").display());
    assert!(listed.contains(&expected), "{listed}");
}

#[test]
fn requests_gets_httpbin_in_a_virtualenv_of_its_own_and_the_loopback_hook() {
    let nothing = |_: &str, _: &str| None;
    let plan = EnvironmentPlan::for_instance(&instance("psf/requests", "2.4"), &nothing).unwrap();
    assert!(plan.notes.iter().any(|note| note == crate::loopback::NOTE));
    let setup = plan.env_script.join("\n");
    assert!(setup.contains("python -m venv \"$VIRTUAL_ENV-httpbin\""), "{setup}");
    assert!(setup.contains("env -u PIP_CONSTRAINT \"$VIRTUAL_ENV-httpbin\"/bin/python -m pip install"), "{setup}");
    assert!(setup.contains("agentless_loopback.pth"), "{setup}");
    let astroid = EnvironmentPlan::for_instance(&instance("pylint-dev/astroid", "2.15"), &nothing).unwrap();
    assert!(!astroid.env_script.join("\n").contains("httpbin"));
    assert!(!astroid.notes.iter().any(|note| note == crate::loopback::NOTE));
}
