//! A read-only view of a repository at one revision: a git work tree, a bare repository, or a plain folder.

use std::path::{Path, PathBuf};

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

/// The files of a repository at one revision. Paths are repository-relative, `/`-separated, sorted.
pub struct RepoSnapshot {
    _private: (),
}

impl RepoSnapshot {
    /// Open `path` at `rev`. A bare repository requires `rev`.
    pub fn open(path: &Path, rev: Option<&str>) -> Result<Self, SourceError> {
        let _ = (path, rev);
        todo!()
    }

    pub fn kind(&self) -> SourceKind {
        todo!()
    }

    /// The resolved commit id (40 hex), when the snapshot comes from git.
    pub fn commit(&self) -> Option<&str> {
        todo!()
    }

    /// A short name for the repository (its folder name without `.git`).
    pub fn name(&self) -> &str {
        todo!()
    }

    /// The root folder given to [`RepoSnapshot::open`].
    pub fn root(&self) -> &Path {
        todo!()
    }

    /// Every regular file of the snapshot (symlinks and submodules excluded), sorted.
    pub fn files(&self) -> &[String] {
        todo!()
    }

    /// The `.py` files of the snapshot, sorted.
    pub fn python_files(&self) -> impl Iterator<Item = &str> {
        self.files().iter().map(String::as_str).filter(|path| path.ends_with(".py"))
    }

    pub fn contains(&self, path: &str) -> bool {
        self.files().binary_search_by(|probe| probe.as_str().cmp(path)).is_ok()
    }

    /// The bytes of one file of the snapshot.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let _ = path;
        todo!()
    }

    /// The text of one file; [`SourceError::NotUtf8`] when it is not UTF-8.
    pub fn read_text(&self, path: &str) -> Result<String, SourceError> {
        let bytes = self.read(path)?;
        String::from_utf8(bytes).map_err(|_| SourceError::NotUtf8 { path: path.to_owned() })
    }
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
    #[error("`{path}` is not UTF-8 text")]
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
