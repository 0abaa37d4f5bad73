//! A read-only view of a repository at one revision: a git work tree, a bare repository, or a plain folder.
//!
//! Nothing here writes to the repository: a revision is read straight from git objects (no checkout). Blobs are
//! read through a small pool of `git2::Repository` handles, so [`RepoSnapshot::read`] can be called from many
//! threads at once (`Repository` is `Send` but not `Sync`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use git2::{ObjectType, Oid, Repository};

/// Where the files of a snapshot come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Files on disk in a git work tree (tracked and untracked, `.gitignore` honoured), no `--rev`.
    WorkTree,
    /// Files read from git objects at a revision (a bare repository, or a work tree with `--rev`). Nothing is
    /// checked out.
    GitRevision,
    /// A plain folder that is not a git repository (`.gitignore` files still honoured).
    Folder,
}

/// agentless's own folder (the runs started inside a work tree, a fallback cache): never part of a snapshot read
/// from disk, at any depth, whatever `.gitignore` says, so that no candidate sees or diffs a run's artifacts.
pub const AGENTLESS_FOLDER: &str = ".agentless";

/// Git file modes of regular files (plain and executable); symlinks (`0o120000`) and submodules (`0o160000`)
/// are left out.
const REGULAR_FILE_MODES: [i32; 2] = [0o100_644, 0o100_755];

/// How file contents are read.
enum Backend {
    /// From `root.join(path)`.
    Disk,
    /// From git blobs; `blob_ids[i]` is the blob of `files[i]`.
    Git { git_dir: PathBuf, blob_ids: Vec<Oid>, handles: Mutex<Vec<Repository>> },
}

/// The files of a repository at one revision. Paths are repository-relative, `/`-separated, sorted.
pub struct RepoSnapshot {
    root: PathBuf,
    name: String,
    kind: SourceKind,
    commit: Option<String>,
    files: Vec<String>,
    skipped_paths: usize,
    backend: Backend,
}

impl RepoSnapshot {
    /// Open `path` at `rev`. A bare repository requires `rev`.
    pub fn open(path: &Path, rev: Option<&str>) -> Result<Self, SourceError> {
        let metadata =
            fs_err::metadata(path).map_err(|source| match source.kind() == std::io::ErrorKind::NotFound {
                true => SourceError::Missing { path: path.to_owned() },
                false => SourceError::Io { path: path.to_owned(), source },
            })?;
        if !metadata.is_dir() {
            return Err(SourceError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a folder"),
            });
        }
        let name = repository_name(path);
        let repo = match Repository::open(path) {
            Ok(repo) => Some(repo),
            Err(error) if error.code() == git2::ErrorCode::NotFound => None,
            Err(source) => return Err(SourceError::Git { path: path.to_owned(), source }),
        };
        match (repo, rev) {
            (None, Some(rev)) => Err(SourceError::RevWithoutGit { path: path.to_owned(), rev: rev.to_owned() }),
            (None, None) => {
                let (files, skipped_paths) = walk_folder(path, false)?;
                Ok(Self {
                    root: path.to_owned(),
                    name,
                    kind: SourceKind::Folder,
                    commit: None,
                    files,
                    skipped_paths,
                    backend: Backend::Disk,
                })
            }
            // A git directory given directly is bare even when its config does not say so (mirrors without a
            // `config` file make libgit2 guess a work tree around them).
            (Some(repo), None) if repo.is_bare() || same_folder(repo.path(), path) => {
                Err(SourceError::BareNeedsRev { path: path.to_owned() })
            }
            (Some(repo), None) => {
                let (mut files, mut skipped_paths) = walk_folder(path, true)?;
                let (tracked, skipped_tracked) = tracked_files_on_disk(&repo, path)?;
                skipped_paths = skipped_paths.max(skipped_tracked);
                files.extend(tracked);
                files.sort_unstable();
                files.dedup();
                let commit = repo.head().ok().and_then(|head| head.peel_to_commit().ok()).map(|c| c.id().to_string());
                Ok(Self {
                    root: path.to_owned(),
                    name,
                    kind: SourceKind::WorkTree,
                    commit,
                    files,
                    skipped_paths,
                    backend: Backend::Disk,
                })
            }
            (Some(repo), Some(rev)) => {
                let unknown = || SourceError::UnknownRev { path: path.to_owned(), rev: rev.to_owned() };
                let git_error = |source| SourceError::Git { path: path.to_owned(), source };
                let mut entries = Vec::new();
                let mut skipped_paths = 0;
                let commit_id = {
                    let commit =
                        repo.revparse_single(rev).and_then(|object| object.peel_to_commit()).map_err(|_| unknown())?;
                    let tree = commit.tree().map_err(git_error)?;
                    collect_tree(&repo, &tree, "", &mut entries, &mut skipped_paths).map_err(git_error)?;
                    commit.id().to_string()
                };
                entries.sort_unstable_by(|left, right| left.0.cmp(&right.0));
                let (files, blob_ids) = entries.into_iter().unzip();
                let git_dir = repo.path().to_owned();
                Ok(Self {
                    root: path.to_owned(),
                    name,
                    kind: SourceKind::GitRevision,
                    commit: Some(commit_id),
                    files,
                    skipped_paths,
                    backend: Backend::Git { git_dir, blob_ids, handles: Mutex::new(vec![repo]) },
                })
            }
        }
    }

    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    /// The resolved commit id (40 hex), when the snapshot comes from git (for a work tree: its `HEAD`, if born).
    pub fn commit(&self) -> Option<&str> {
        self.commit.as_deref()
    }

    /// A short name for the repository (its folder name without `.git`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The root folder given to [`RepoSnapshot::open`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every regular file of the snapshot (symlinks and submodules excluded), sorted.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// How many paths were left out of [`RepoSnapshot::files`] because their names are not UTF-8.
    pub fn skipped_paths(&self) -> usize {
        self.skipped_paths
    }

    /// The `.py` files of the snapshot, sorted.
    pub fn python_files(&self) -> impl Iterator<Item = &str> {
        self.files().iter().map(String::as_str).filter(|path| path.ends_with(".py"))
    }

    pub fn contains(&self, path: &str) -> bool {
        self.position(path).is_some()
    }

    /// The git blob id of a file when the snapshot reads git objects: a content hash known without reading.
    pub(crate) fn blob_id(&self, path: &str) -> Option<Oid> {
        match &self.backend {
            Backend::Disk => None,
            Backend::Git { blob_ids, .. } => self.position(path).and_then(|index| blob_ids.get(index)).copied(),
        }
    }

    /// The bytes of one file of the snapshot.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let index = self.position(path).ok_or_else(|| SourceError::NoSuchFile { path: path.to_owned() })?;
        match &self.backend {
            Backend::Disk => {
                let full = self.root.join(path);
                fs_err::read(&full).map_err(|source| SourceError::Io { path: full, source })
            }
            Backend::Git { git_dir, blob_ids, handles } => {
                let oid =
                    blob_ids.get(index).copied().ok_or_else(|| SourceError::NoSuchFile { path: path.to_owned() })?;
                let git_error = |source| SourceError::Git { path: git_dir.clone(), source };
                let pooled = handles.lock().ok().and_then(|mut pool| pool.pop());
                let repo = match pooled {
                    Some(repo) => repo,
                    None => Repository::open_bare(git_dir).or_else(|_| Repository::open(git_dir)).map_err(git_error)?,
                };
                let bytes = repo.find_blob(oid).map(|blob| blob.content().to_vec()).map_err(git_error);
                if let Ok(mut pool) = handles.lock() {
                    pool.push(repo);
                }
                bytes
            }
        }
    }

    /// The text of one file: a `.py` file decoded as its PEP 263 declaration says ([`crate::decode_python`]),
    /// any other as UTF-8; [`SourceError::NotUtf8`] when it cannot be decoded.
    pub fn read_text(&self, path: &str) -> Result<String, SourceError> {
        let bytes = self.read(path)?;
        if path.ends_with(".py") {
            return match crate::decode_python(&bytes) {
                Some(text) => Ok(text.into_owned()),
                None => Err(SourceError::NotUtf8 { path: path.to_owned() }),
            };
        }
        String::from_utf8(bytes).map_err(|_| SourceError::NotUtf8 { path: path.to_owned() })
    }

    fn position(&self, path: &str) -> Option<usize> {
        self.files.binary_search_by(|probe| probe.as_str().cmp(path)).ok()
    }
}

fn repository_name(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut components: Vec<String> = absolute
        .components()
        .filter_map(|component| match component {
            std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => Some("..".to_owned()),
            std::path::Component::Prefix(_) | std::path::Component::RootDir | std::path::Component::CurDir => None,
        })
        .collect();
    // Resolve `..` lexically so `repo/sub/..` is named `repo`.
    let mut resolved: Vec<String> = Vec::with_capacity(components.len());
    for part in components.drain(..) {
        match part.as_str() {
            ".." => {
                resolved.pop();
            }
            _ => resolved.push(part),
        }
    }
    let last = resolved.pop().unwrap_or_default();
    match last.strip_suffix(".git") {
        Some(stem) if !stem.is_empty() => stem.to_owned(),
        Some(_) | None => last,
    }
}

/// Every regular file under `root`, `.gitignore` honoured (also outside git), hidden files included, `.git/` and
/// [`AGENTLESS_FOLDER`] excluded. In a work tree (`skip_nested_repos`), folders holding their own `.git` (submodules, nested
/// repositories) are left out. Returns the sorted paths and how many non-UTF-8 paths were skipped.
fn walk_folder(root: &Path, skip_nested_repos: bool) -> Result<(Vec<String>, usize), SourceError> {
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .hidden(false)
        .ignore(false)
        .parents(false)
        .git_global(false)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .filter_entry(move |entry| {
            if entry.file_name() == ".git" {
                return false;
            }
            let is_dir = entry.file_type().is_some_and(|kind| kind.is_dir());
            if is_dir && entry.file_name() == AGENTLESS_FOLDER {
                return false;
            }
            !(skip_nested_repos && is_dir && entry.depth() > 0 && entry.path().join(".git").exists())
        });
    let mut files = Vec::new();
    let mut skipped = 0;
    for entry in builder.build() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(source) if source.depth() == Some(0) => {
                return Err(SourceError::Walk { path: root.to_owned(), source });
            }
            Err(error) => {
                tracing::warn!(root = %root.display(), %error, "skipping an entry while walking");
                continue;
            }
        };
        if !entry.file_type().is_some_and(|kind| kind.is_file()) {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(root) else { continue };
        match relative_to_slash(relative) {
            Some(path) => files.push(path),
            None => skipped += 1,
        }
    }
    files.sort_unstable();
    Ok((files, skipped))
}

/// Tracked regular files of a work tree's index that exist on disk as regular files (this keeps force-added
/// files that a `.gitignore` would hide), but none under `.git/` or [`AGENTLESS_FOLDER`].
fn tracked_files_on_disk(repo: &Repository, root: &Path) -> Result<(Vec<String>, usize), SourceError> {
    let index = repo.index().map_err(|source| SourceError::Git { path: root.to_owned(), source })?;
    let mut files = Vec::new();
    let mut skipped = 0;
    for entry in index.iter() {
        if !REGULAR_FILE_MODES.contains(&(entry.mode as i32)) {
            continue;
        }
        let Ok(path) = String::from_utf8(entry.path) else {
            skipped += 1;
            continue;
        };
        if path.split('/').any(|part| part == ".git" || part == AGENTLESS_FOLDER)
            || !fs_err::symlink_metadata(root.join(&path)).is_ok_and(|metadata| metadata.is_file())
        {
            continue;
        }
        files.push(path);
    }
    Ok((files, skipped))
}

fn relative_to_slash(relative: &Path) -> Option<String> {
    let mut out = String::new();
    for component in relative.components() {
        let std::path::Component::Normal(part) = component else { return None };
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(part.to_str()?);
    }
    (!out.is_empty()).then_some(out)
}

/// Collects `(path, blob id)` of every regular file below `tree`, skipping (and counting) non-UTF-8 names.
fn collect_tree(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    prefix: &str,
    out: &mut Vec<(String, Oid)>,
    skipped: &mut usize,
) -> Result<(), git2::Error> {
    for entry in tree.iter() {
        let Ok(name) = std::str::from_utf8(entry.name_bytes()) else {
            *skipped += 1;
            continue;
        };
        let path = match prefix.is_empty() {
            true => name.to_owned(),
            false => format!("{prefix}/{name}"),
        };
        match entry.kind() {
            Some(ObjectType::Tree) => {
                let subtree = repo.find_tree(entry.id())?;
                collect_tree(repo, &subtree, &path, out, skipped)?;
            }
            Some(ObjectType::Blob) if REGULAR_FILE_MODES.contains(&entry.filemode()) => out.push((path, entry.id())),
            Some(_) | None => {}
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("repository `{}` does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("`{}` is a bare git repository: pass --rev to say which revision to read", path.display())]
    BareNeedsRev { path: PathBuf },
    #[error("revision `{rev}` is not in `{}`", path.display())]
    UnknownRev { path: PathBuf, rev: String },
    #[error("--rev `{rev}` given, but `{}` is not a git repository", path.display())]
    RevWithoutGit { path: PathBuf, rev: String },
    #[error("`{path}` is not a file of the snapshot")]
    NoSuchFile { path: String },
    #[error("`{path}` is not UTF-8 text, nor text in the encoding it declares")]
    NotUtf8 { path: String },
    #[error("git error reading `{}`", path.display())]
    Git {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("cannot read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot walk `{}`", path.display())]
    Walk {
        path: PathBuf,
        #[source]
        source: ignore::Error,
    },
}

/// Whether two paths name the same folder (after resolving links); false when either cannot be resolved.
fn same_folder(left: &Path, right: &Path) -> bool {
    match (left.canonicalize(), right.canonicalize()) {
        (Ok(left), Ok(right)) => left == right,
        (Err(_), _) | (_, Err(_)) => false,
    }
}
