//! The project a sandbox is made from: its files, how its test dependencies are installed, and a content hash.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::SandboxError;

/// One file of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    /// Relative, `/`-separated.
    pub path: String,
    pub contents: Vec<u8>,
    pub executable: bool,
}

/// The files copied into a sandbox (never anything under `.git/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFiles {
    files: Vec<ProjectFile>,
}

impl ProjectFiles {
    /// From (path, bytes) pairs; paths under `.git/` are left out, later duplicates win.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, Vec<u8>)>) -> Result<Self, SandboxError> {
        let files = pairs
            .into_iter()
            .map(|(path, contents)| {
                Ok(ProjectFile { path: super::checked_relative_path(&path)?, contents, executable: false })
            })
            .collect::<Result<Vec<_>, SandboxError>>()?;
        Ok(Self::normalized(files))
    }

    /// Every file under `folder` except `.git/`; symbolic links are followed when they point at files and skipped
    /// otherwise.
    pub fn from_folder(folder: &Path) -> Result<Self, SandboxError> {
        let mut files = Vec::new();
        let mut pending = vec![(folder.to_path_buf(), String::new())];
        while let Some((directory, prefix)) = pending.pop() {
            for entry in fs_err::read_dir(&directory)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let relative = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
                let file_type = entry.file_type()?;
                if file_type.is_dir() {
                    if name != ".git" {
                        pending.push((entry.path(), relative));
                    }
                    continue;
                }
                let Ok(metadata) = fs_err::metadata(entry.path()) else {
                    continue;
                };
                if !metadata.is_file() {
                    continue;
                }
                let executable = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o111 != 0;
                files.push(ProjectFile { path: relative, contents: fs_err::read(entry.path())?, executable });
            }
        }
        Ok(Self::normalized(files))
    }

    fn normalized(mut files: Vec<ProjectFile>) -> Self {
        files.retain(|file| file.path != ".git" && !file.path.starts_with(".git/"));
        files.reverse();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|later, earlier| later.path == earlier.path);
        Self { files }
    }

    pub fn files(&self) -> &[ProjectFile] {
        &self.files
    }

    pub fn get(&self, path: &str) -> Option<&ProjectFile> {
        self.files.binary_search_by(|file| file.path.as_str().cmp(path)).ok().and_then(|index| self.files.get(index))
    }

    /// Write the files under `root`.
    pub(crate) fn write_to(&self, root: &Path) -> Result<(), SandboxError> {
        for file in &self.files {
            let target = root.join(&file.path);
            if let Some(parent) = target.parent() {
                fs_err::create_dir_all(parent)?;
            }
            fs_err::write(&target, &file.contents)?;
            if file.executable {
                fs_err::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
            }
        }
        Ok(())
    }

    /// A tar archive of the files under the folder `prefix`, everything owned by `uid`:`gid`.
    pub(crate) fn to_tar(&self, prefix: &str, uid: u64, gid: u64) -> Result<Vec<u8>, SandboxError> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut folders = std::collections::BTreeSet::from([prefix.to_owned()]);
        for file in &self.files {
            let mut folder = file.path.as_str();
            while let Some((parent, _)) = folder.rsplit_once('/') {
                folders.insert(format!("{prefix}/{parent}"));
                folder = parent;
            }
        }
        for folder in &folders {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            header.set_mode(0o755);
            header.set_uid(uid);
            header.set_gid(gid);
            header.set_mtime(archive_mtime());
            builder.append_data(&mut header, format!("{folder}/"), std::io::empty())?;
        }
        for file in &self.files {
            let mode = if file.executable { 0o755 } else { 0o644 };
            append_file(&mut builder, &format!("{prefix}/{}", file.path), &file.contents, mode, uid, gid)?;
        }
        Ok(builder.into_inner()?)
    }
}

/// The modification time of archived files and folders: now. Not a constant: the engine's naive layer diff (used
/// with fuse-overlayfs) keeps a parent layer's file when size and time match, so a checkout laid over another
/// (an instance over its environment image) must carry new times. Archives are never hashed, only file contents.
fn archive_mtime() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// Add one regular file to a tar archive.
pub(crate) fn append_file(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &str,
    contents: &[u8],
    mode: u32,
    uid: u64,
    gid: u64,
) -> Result<(), SandboxError> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(contents.len() as u64);
    header.set_mode(mode);
    header.set_uid(uid);
    header.set_gid(gid);
    header.set_mtime(archive_mtime());
    builder.append_data(&mut header, path, contents)?;
    Ok(())
}

/// How a sandbox's virtualenv gets the test dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setup {
    /// pytest, then the root `*requirements*.txt` and `requirements/*.txt` files (each allowed to fail), then
    /// `pip install -e .` with the `test`/`tests`/`testing`/`dev` extras the project declares (falling back to no
    /// extras).
    Auto,
    /// Only this shell command (it installs whatever the tests need), run in the checkout with the virtualenv on
    /// `PATH`.
    Command(String),
    /// An empty virtualenv.
    Bare,
}

/// One shell command of the dependency installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupStep {
    pub command: String,
    /// A failure of a required step fails the build; others are logged.
    pub required: bool,
}

const EXTRAS: [&str; 4] = ["test", "tests", "testing", "dev"];

impl Setup {
    /// The commands, run in order with the virtualenv first on `PATH`; `pip_options` go after `pip install`.
    pub fn steps(&self, files: &ProjectFiles, pip_options: &str) -> Vec<SetupStep> {
        let pip = format!("python -m pip install {pip_options}");
        let pip = pip.trim_end();
        match self {
            Setup::Bare => Vec::new(),
            Setup::Command(command) => vec![SetupStep { command: command.clone(), required: true }],
            Setup::Auto => {
                let mut steps = vec![SetupStep { command: format!("{pip} pytest"), required: true }];
                for file in files.files() {
                    let (folder, name) = file.path.rsplit_once('/').unwrap_or(("", &file.path));
                    let is_requirements = name.ends_with(".txt")
                        && ((folder.is_empty() && name.contains("requirements")) || folder == "requirements");
                    if is_requirements {
                        steps.push(SetupStep {
                            command: format!("{pip} -r {}", shell_quote(&file.path)),
                            required: false,
                        });
                    }
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
                steps
            }
        }
    }

    /// Stable text for the content hash.
    fn fingerprint(&self) -> String {
        match self {
            Setup::Auto => "auto".to_owned(),
            Setup::Command(command) => format!("command:{command}"),
            Setup::Bare => "bare".to_owned(),
        }
    }
}

/// A `setup.py`, or a `pyproject.toml` that declares a project or a build system.
fn installable(files: &ProjectFiles) -> bool {
    if files.get("setup.py").is_some() {
        return true;
    }
    files.get("pyproject.toml").and_then(|file| std::str::from_utf8(&file.contents).ok()).is_some_and(|text| {
        text.parse::<toml::Table>()
            .is_ok_and(|table| table.contains_key("project") || table.contains_key("build-system"))
    })
}

/// The test-ish extras of `pyproject.toml`'s `[project.optional-dependencies]`, `setup.cfg`'s
/// `[options.extras_require]` or (by a textual look) `setup.py`'s `extras_require`.
fn declared_extras(files: &ProjectFiles) -> Vec<&'static str> {
    let text = |path: &str| files.get(path).map(|file| String::from_utf8_lossy(&file.contents).into_owned());
    let mut names: Vec<String> = Vec::new();
    if let Some(pyproject) = text("pyproject.toml")
        && let Ok(table) = pyproject.parse::<toml::Table>()
        && let Some(extras) = table.get("project").and_then(|project| project.get("optional-dependencies"))
        && let Some(extras) = extras.as_table()
    {
        names.extend(extras.keys().cloned());
    }
    if let Some(setup_cfg) = text("setup.cfg") {
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
    if let Some(setup_py) = text("setup.py")
        && let Some(start) = setup_py.find("extras_require")
    {
        let window: String = setup_py[start..].chars().take(3000).collect();
        for extra in EXTRAS {
            if window.contains(&format!("'{extra}'")) || window.contains(&format!("\"{extra}\"")) {
                names.push(extra.to_owned());
            }
        }
    }
    EXTRAS.into_iter().filter(|extra| names.iter().any(|name| name == extra)).collect()
}

/// A word for `sh`: as it is when plainly safe, else single-quoted.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "_-.,:/=+@%".contains(c));
    if safe { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// Hex SHA-256 over the recipe version, `base`, the files and the setup.
pub(crate) fn content_hash(recipe: &str, base: &str, files: &ProjectFiles, setup: &Setup) -> String {
    let mut hasher = Sha256::new();
    for part in [recipe, base, &setup.fingerprint()] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    for file in files.files() {
        hasher.update((file.path.len() as u64).to_le_bytes());
        hasher.update(file.path.as_bytes());
        hasher.update([u8::from(file.executable)]);
        hasher.update((file.contents.len() as u64).to_le_bytes());
        hasher.update(&file.contents);
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> ProjectFiles {
        ProjectFiles::from_pairs(pairs.iter().map(|(path, text)| ((*path).to_owned(), text.as_bytes().to_vec())))
            .unwrap_or_default()
    }

    fn commands(setup: &Setup, files: &ProjectFiles) -> Vec<String> {
        setup
            .steps(files, "--no-input")
            .into_iter()
            .map(|step| format!("{}{}", if step.required { "" } else { "(optional) " }, step.command))
            .collect()
    }

    #[test]
    fn git_folders_are_left_out_and_duplicates_collapse() {
        let project = files(&[(".git/HEAD", "x"), ("b.py", "old"), ("a.py", ""), ("b.py", "new")]);
        let paths: Vec<&str> = project.files().iter().map(|file| file.path.as_str()).collect();
        assert_eq!(paths, ["a.py", "b.py"]);
        assert_eq!(project.get("b.py").map(|file| file.contents.as_slice()), Some(b"new".as_slice()));
    }

    #[test]
    fn auto_setup_installs_requirements_and_the_project_with_test_extras() {
        let project = files(&[
            ("requirements.txt", "requests"),
            ("requirements-dev.txt", "black"),
            ("requirements/test.txt", "pytest-cov"),
            ("docs/requirements.txt", "sphinx"),
            ("pyproject.toml", "[project]\nname='x'\n[project.optional-dependencies]\ntest=['hypothesis']\ndocs=[]\n"),
        ]);
        insta::assert_debug_snapshot!(commands(&Setup::Auto, &project), @r#"
        [
            "python -m pip install --no-input pytest",
            "(optional) python -m pip install --no-input -r requirements-dev.txt",
            "(optional) python -m pip install --no-input -r requirements.txt",
            "(optional) python -m pip install --no-input -r requirements/test.txt",
            "python -m pip install --no-input -e '.[test]' || python -m pip install --no-input -e .",
        ]
        "#);
    }

    #[test]
    fn extras_are_read_from_setup_cfg_and_setup_py() {
        let project = files(&[
            ("setup.py", "setup(extras_require={\"testing\": ['pytest'], 'docs': []})"),
            ("setup.cfg", "[options.extras_require]\ndev =\n    tox\n[metadata]\ntest = 1\n"),
        ]);
        assert_eq!(declared_extras(&project), ["testing", "dev"]);
    }

    #[test]
    fn a_tool_only_pyproject_is_not_installed() {
        let project = files(&[("pyproject.toml", "[tool.ruff]\nline-length = 100\n")]);
        assert_eq!(commands(&Setup::Auto, &project), ["python -m pip install --no-input pytest"]);
        assert!(commands(&Setup::Bare, &project).is_empty());
    }

    #[test]
    fn the_hash_follows_contents_and_setup() {
        let one = files(&[("a.py", "1")]);
        let two = files(&[("a.py", "2")]);
        let hash = |files: &ProjectFiles, setup: &Setup| content_hash("v1", "base", files, setup);
        assert_eq!(hash(&one, &Setup::Auto), hash(&files(&[("a.py", "1")]), &Setup::Auto));
        assert_ne!(hash(&one, &Setup::Auto), hash(&two, &Setup::Auto));
        assert_ne!(hash(&one, &Setup::Auto), hash(&one, &Setup::Bare));
    }
}
