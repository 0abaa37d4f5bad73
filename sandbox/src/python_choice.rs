//! Which of the base images' Pythons (3.9, 3.11, 3.13) a project gets when none is asked for: the ones its
//! `requires-python` allows (`pyproject.toml`, else `python_requires` in `setup.cfg` or `setup.py`), narrowed to the
//! ones its `Programming Language :: Python :: 3.X` classifiers name when that leaves any; 3.11 when it is among
//! them, else the newest. A project that says nothing, or allows none of them, gets 3.11, and the reason says so.

use crate::ProjectFiles;
use crate::docker::PythonVersion;

/// The Python to use for a project and why, in words for the run's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonChoice {
    pub version: PythonVersion,
    pub reason: String,
}

/// The Python of the base image when the project leaves the choice open.
const DEFAULT: PythonVersion = PythonVersion::Py311;

/// The Python a project's metadata asks for, among [`PythonVersion::ALL`].
pub fn choose_python(files: &ProjectFiles) -> PythonChoice {
    let requirement = requires_python(files);
    let classified = classifier_minors(files);
    let allowed: Vec<PythonVersion> = PythonVersion::ALL
        .into_iter()
        .filter(|version| requirement.as_ref().is_none_or(|(spec, _)| satisfies(debian_release(*version), spec)))
        .collect();
    let named: Vec<PythonVersion> =
        allowed.iter().copied().filter(|version| classified.contains(&version.minor())).collect();
    let (pool, by) = if named.is_empty() { (allowed, "") } else { (named, " and its classifiers") };
    let Some(&newest) = pool.last() else {
        let (spec, source) = requirement.unwrap_or_default();
        return PythonChoice {
            version: DEFAULT,
            reason: format!(
                "requires-python `{spec}` ({source}) allows none of 3.9, 3.11, 3.13; trying {}",
                DEFAULT.version()
            ),
        };
    };
    let version = if pool.contains(&DEFAULT) { DEFAULT } else { newest };
    let reason = match (&requirement, by.is_empty()) {
        (Some((spec, source)), _) => format!("requires-python `{spec}` ({source}){by}"),
        (None, false) => "the project's classifiers".to_owned(),
        (None, true) => "the project names no Python version: the default".to_owned(),
    };
    PythonChoice { version, reason }
}

/// The `requires-python` specifier and the file it came from.
fn requires_python(files: &ProjectFiles) -> Option<(String, &'static str)> {
    let pyproject = text(files, "pyproject.toml").and_then(|text| text.parse::<toml::Table>().ok());
    let from_pyproject =
        pyproject.as_ref().and_then(|table| table.get("project")?.get("requires-python")?.as_str().map(str::to_owned));
    if let Some(spec) = from_pyproject {
        return Some((spec, "pyproject.toml"));
    }
    let from_cfg = text(files, "setup.cfg").and_then(|text| {
        text.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "python_requires").then(|| value.trim().to_owned())
        })
    });
    if let Some(spec) = from_cfg {
        return Some((spec, "setup.cfg"));
    }
    let setup_py = text(files, "setup.py")?;
    let after = setup_py.split_once("python_requires")?.1.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|quote| matches!(quote, '"' | '\''))?;
    let spec = after[1..].split(quote).next()?.to_owned();
    Some((spec, "setup.py"))
}

/// The `3.X` minors named by `Programming Language :: Python :: 3.X` classifiers in any of the metadata files.
fn classifier_minors(files: &ProjectFiles) -> Vec<u32> {
    const CLASSIFIER: &str = "Programming Language :: Python :: 3.";
    let mut minors = Vec::new();
    for path in ["pyproject.toml", "setup.cfg", "setup.py"] {
        let Some(text) = text(files, path) else { continue };
        for (index, _) in text.match_indices(CLASSIFIER) {
            let digits: String = text[index + CLASSIFIER.len()..].chars().take_while(char::is_ascii_digit).collect();
            if let Ok(minor) = digits.parse() {
                minors.push(minor);
            }
        }
    }
    minors
}

/// The release Debian ships for each base image (bullseye 3.9.2, bookworm 3.11.2, trixie 3.13.5), which is what a
/// bound like `>=3.9.5` is checked against.
fn debian_release(version: PythonVersion) -> [u32; 3] {
    match version {
        PythonVersion::Py39 => [3, 9, 2],
        PythonVersion::Py311 => [3, 11, 2],
        PythonVersion::Py313 => [3, 13, 5],
    }
}

/// Whether `release` meets every clause of a PEP 440 specifier set (`>=3.8, <4`, `~=3.9`, `!=3.10.*`). A clause
/// that cannot be read is ignored.
fn satisfies(release: [u32; 3], spec: &str) -> bool {
    spec.split(',').map(str::trim).filter(|clause| !clause.is_empty()).all(|clause| {
        let operator_len = clause.find(|character: char| character.is_ascii_digit()).unwrap_or(clause.len());
        let (operator, version) = clause.split_at(operator_len);
        let wildcard = version.ends_with(".*");
        let parts: Vec<u32> =
            version.trim_end_matches(".*").split('.').map_while(|part| part.trim().parse().ok()).collect();
        if parts.is_empty() {
            return true;
        }
        let bound = [parts[0], parts.get(1).copied().unwrap_or(0), parts.get(2).copied().unwrap_or(0)];
        let prefix_equal = release[..parts.len().min(3)] == parts[..parts.len().min(3)];
        match operator.trim() {
            ">=" => release >= bound,
            ">" => release > bound,
            "<=" => release <= bound,
            "<" => release < bound,
            "==" | "===" if wildcard => prefix_equal,
            "==" | "===" => release == bound,
            "!=" if wildcard => !prefix_equal,
            "!=" => release != bound,
            // `~=3.9` is `>=3.9, ==3.*`; `~=3.9.1` is `>=3.9.1, ==3.9.*`.
            "~=" => release >= bound && release[..parts.len() - 1] == parts[..parts.len() - 1],
            _ => true,
        }
    })
}

fn text(files: &ProjectFiles, path: &str) -> Option<String> {
    files.get(path).map(|file| String::from_utf8_lossy(&file.contents).into_owned())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn chosen(pairs: &[(&str, &str)]) -> (String, String) {
        let files =
            ProjectFiles::from_pairs(pairs.iter().map(|(path, text)| ((*path).to_owned(), text.as_bytes().to_vec())))
                .unwrap();
        let choice = choose_python(&files);
        (choice.version.version().to_owned(), choice.reason)
    }

    #[test]
    fn requires_python_picks_among_the_base_images() {
        let pyproject = |spec: &str| format!("[project]\nname = \"x\"\nrequires-python = \"{spec}\"\n");
        let cases = [">=3.8", "<3.10", ">=3.12", ">=3.9.5,<3.12", "~=3.9.0", "==3.13.*", ">=3.8,!=3.11.*", ">=3.14"];
        let chosen: Vec<String> = cases
            .iter()
            .map(|spec| {
                let (version, reason) = chosen(&[("pyproject.toml", &pyproject(spec))]);
                format!("{spec} -> {version} ({reason})")
            })
            .collect();
        insta::assert_snapshot!(chosen.join("\n"), @r"
        >=3.8 -> 3.11 (requires-python `>=3.8` (pyproject.toml))
        <3.10 -> 3.9 (requires-python `<3.10` (pyproject.toml))
        >=3.12 -> 3.13 (requires-python `>=3.12` (pyproject.toml))
        >=3.9.5,<3.12 -> 3.11 (requires-python `>=3.9.5,<3.12` (pyproject.toml))
        ~=3.9.0 -> 3.9 (requires-python `~=3.9.0` (pyproject.toml))
        ==3.13.* -> 3.13 (requires-python `==3.13.*` (pyproject.toml))
        >=3.8,!=3.11.* -> 3.13 (requires-python `>=3.8,!=3.11.*` (pyproject.toml))
        >=3.14 -> 3.11 (requires-python `>=3.14` (pyproject.toml) allows none of 3.9, 3.11, 3.13; trying 3.11)
        ");
    }

    #[test]
    fn setup_files_and_classifiers_count_too() {
        let setup_py = "setup(\n    name='old',\n    python_requires = '>=3.6',\n    classifiers=[\n        \
                        'Programming Language :: Python :: 3.7',\n        'Programming Language :: Python :: 3.9',\n    ],\n)\n";
        assert_eq!(
            chosen(&[("setup.py", setup_py)]),
            ("3.9".to_owned(), "requires-python `>=3.6` (setup.py) and its classifiers".to_owned())
        );
        let setup_cfg = "[options]\npackages = find:\npython_requires = >=3.10\n";
        assert_eq!(chosen(&[("setup.cfg", setup_cfg)]).0, "3.11");
        assert_eq!(
            chosen(&[("setup.py", "setup(classifiers=['Programming Language :: Python :: 3.13'])")]),
            ("3.13".to_owned(), "the project's classifiers".to_owned())
        );
        assert_eq!(
            chosen(&[("main.py", "print(1)\n")]),
            ("3.11".to_owned(), "the project names no Python version: the default".to_owned())
        );
    }
}
