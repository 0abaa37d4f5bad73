//! The repository tree the model is shown: Python files only, test paths dropped, rendered like Agentless's
//! `show_project_structure`. Built from paths alone (no file is read or parsed).
//!
//! Differences from the original: files at the repository root sit at the root (the original files them under a
//! pseudo-folder named after the clone, merging with a package of the same name), and each folder lists its
//! files first, then its subfolders, both sorted (the original's order follows `os.walk`, files first too).

use std::collections::BTreeMap;

use agentless_syntax::RepoSnapshot;

/// Which paths are tests, and so left out of the tree the model is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestPaths {
    /// A path with any component starting with `test` (`tests/`, `testing/`, `test_x.py`): Agentless's
    /// `filter_out_test_files`. It also hides library code such as `flask/testing.py` or `numpy/testing/`.
    #[default]
    AnyComponent,
    /// The conventions test runners use: `test/` and `tests/` folders, `test_*.py`, `*_test.py`, `tests.py` and
    /// `conftest.py`.
    Conventional,
}

impl TestPaths {
    pub fn is_test(self, path: &str) -> bool {
        match self {
            TestPaths::AnyComponent => path.split('/').any(|part| part.starts_with("test")),
            TestPaths::Conventional => {
                let mut parts = path.split('/').rev();
                let name = parts.next().unwrap_or(path);
                let test_file = (name.starts_with("test_") && name.ends_with(".py"))
                    || name.ends_with("_test.py")
                    || name == "tests.py"
                    || name == "conftest.py";
                test_file || parts.any(|folder| folder == "test" || folder == "tests")
            }
        }
    }
}

/// The paths the tree shows: `.py` files outside test paths, sorted.
pub fn shown_files(snapshot: &RepoSnapshot, test_paths: TestPaths) -> Vec<&str> {
    snapshot.python_files().filter(|path| !test_paths.is_test(path)).collect()
}

#[derive(Default)]
struct Folder<'a> {
    files: Vec<&'a str>,
    folders: BTreeMap<&'a str, Folder<'a>>,
}

/// The tree of `paths`: `name/` for a folder, `name` for a file, four spaces of indentation per level. Folders
/// appear only when they hold a file.
pub fn render_tree(paths: &[&str]) -> String {
    let mut root = Folder::default();
    for path in paths {
        let mut parts: Vec<&str> = path.split('/').collect();
        let Some(file) = parts.pop() else { continue };
        let folder = parts.into_iter().fold(&mut root, |folder, part| folder.folders.entry(part).or_default());
        folder.files.push(file);
    }
    let mut out = String::new();
    render_folder(&root, 0, &mut out);
    out
}

fn render_folder(folder: &Folder<'_>, depth: usize, out: &mut String) {
    let indent = " ".repeat(depth * 4);
    let mut files = folder.files.clone();
    files.sort_unstable();
    for file in files {
        out.push_str(&format!("{indent}{file}\n"));
    }
    for (name, child) in &folder.folders {
        out.push_str(&format!("{indent}{name}/\n"));
        render_folder(child, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_a_test_component_are_recognized_at_any_depth() {
        let is_test = |path| TestPaths::AnyComponent.is_test(path);
        assert!(is_test("tests/a.py"));
        assert!(is_test("pkg/testing/helpers.py"));
        assert!(is_test("src/flask/testing.py"));
        assert!(is_test("pkg/test_x.py"));
        assert!(is_test("pkg/sub/tests.py"));
        assert!(!is_test("pkg/contest.py"));
        assert!(!is_test("pkg/attest/a.py"));
    }

    #[test]
    fn conventional_test_paths_leave_library_modules_named_testing_shown() {
        let is_test = |path| TestPaths::Conventional.is_test(path);
        assert!(is_test("tests/a.py"));
        assert!(is_test("pkg/tests/unit/a.py"));
        assert!(is_test("test/a.py"));
        assert!(is_test("pkg/test_x.py"));
        assert!(is_test("pkg/x_test.py"));
        assert!(is_test("app/tests.py"));
        assert!(is_test("conftest.py"));
        assert!(!is_test("src/flask/testing.py"));
        assert!(!is_test("numpy/testing/utils.py"));
        assert!(!is_test("pkg/testutils.py"));
        assert!(!is_test("pkg/contest.py"));
    }

    #[test]
    fn tree_lists_files_before_folders_with_four_space_levels() {
        let tree = render_tree(&["setup.py", "pkg/b.py", "pkg/a.py", "pkg/sub/deep/x.py", "pkg/sub/c.py", "z.py"]);
        insta::assert_snapshot!(tree, @r"
        setup.py
        z.py
        pkg/
            a.py
            b.py
            sub/
                c.py
                deep/
                    x.py
        ");
    }
}
