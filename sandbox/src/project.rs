//! The project a sandbox is made from: its files, how its test dependencies are installed, and a content hash.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::SandboxError;
use crate::auto_setup::auto_steps;

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
            append_folder(&mut builder, folder, uid, gid)?;
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

/// Add one folder (mode 755) to a tar archive.
pub(crate) fn append_folder(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &str,
    uid: u64,
    gid: u64,
) -> Result<(), SandboxError> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_size(0);
    header.set_mode(0o755);
    header.set_uid(uid);
    header.set_gid(gid);
    header.set_mtime(archive_mtime());
    builder.append_data(&mut header, format!("{path}/"), std::io::empty())?;
    Ok(())
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
    /// What the project's own files declare, pins first (see [`crate::auto_setup`]): `uv.lock`, test requirement
    /// files, PEP 735 dependency groups and tox's deps (each allowed to fail), then `pip install -e .` with the
    /// `test`/`tests`/`testing`/`dev` extras the project declares, and pytest if none of these brought it.
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

impl Setup {
    /// The commands, run in order with the virtualenv first on `PATH`; `pip_options` go after `pip install`.
    pub fn steps(&self, files: &ProjectFiles, pip_options: &str) -> Vec<SetupStep> {
        let pip = format!("python -m pip install {pip_options}");
        let pip = pip.trim_end();
        match self {
            Setup::Bare => Vec::new(),
            Setup::Command(command) => vec![SetupStep { command: command.clone(), required: true }],
            Setup::Auto => auto_steps(files, pip),
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

/// A word for `sh`: as it is when plainly safe, else single-quoted.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "_-.,:/=+@%".contains(c));
    if safe { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// Hex SHA-256 over the recipe version, `base`, the files and the setup.
pub(crate) fn content_hash(recipe: &str, base: &str, files: &ProjectFiles, setup: &Setup) -> String {
    let mut hasher = Sha256::new();
    // The commands themselves, so a change to what `auto` installs makes a new image.
    let steps: Vec<String> = setup.steps(files, "").into_iter().map(|step| step.command).collect();
    for part in [recipe, base, &setup.fingerprint(), &steps.join("\n")] {
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
pub(crate) mod tests {
    use super::*;

    pub(crate) fn files(pairs: &[(&str, &str)]) -> ProjectFiles {
        ProjectFiles::from_pairs(pairs.iter().map(|(path, text)| ((*path).to_owned(), text.as_bytes().to_vec())))
            .unwrap_or_default()
    }

    pub(crate) fn commands(setup: &Setup, files: &ProjectFiles) -> Vec<String> {
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
    fn a_tool_only_pyproject_is_not_installed() {
        let project = files(&[("pyproject.toml", "[tool.ruff]\nline-length = 100\n")]);
        assert_eq!(
            commands(&Setup::Auto, &project),
            ["python -m pytest --version >/dev/null 2>&1 || python -m pip install --no-input pytest"]
        );
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
