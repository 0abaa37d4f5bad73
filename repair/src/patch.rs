//! Reading unified diffs back into files and hunks (gold patches, our own diffs), with each hunk's pre- and
//! post-image.

/// One file of a patch. A path is `None` for `/dev/null` (a new or a deleted file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePatch {
    pub old_path: Option<String>,
    pub new_path: Option<String>,
    pub hunks: Vec<Hunk>,
}

impl FilePatch {
    /// The path the patch is about (the new one, or the old one for a deletion).
    pub fn path(&self) -> &str {
        self.new_path.as_deref().or(self.old_path.as_deref()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineTag {
    Context,
    Removed,
    Added,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HunkLine {
    pub tag: LineTag,
    /// The line without its prefix and terminator.
    pub text: String,
    /// Followed by `\ No newline at end of file`.
    pub missing_newline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// 1-based (0 for an empty range at the start), as in the header.
    pub old_start: usize,
    pub old_len: usize,
    pub new_start: usize,
    pub new_len: usize,
    /// The text after the second `@@` (git's function context), without the separating space.
    pub section: String,
    pub lines: Vec<HunkLine>,
}

impl Hunk {
    /// The lines the hunk expects (context and removed).
    pub fn old_lines(&self) -> impl Iterator<Item = &HunkLine> {
        self.lines.iter().filter(|line| line.tag != LineTag::Added)
    }

    /// The lines the hunk leaves (context and added).
    pub fn new_lines(&self) -> impl Iterator<Item = &HunkLine> {
        self.lines.iter().filter(|line| line.tag != LineTag::Removed)
    }
}

/// The text of hunk lines as a file: each line terminated by `\n` unless marked as missing it.
pub fn lines_to_text<'a>(lines: impl Iterator<Item = &'a HunkLine>) -> String {
    let mut out = String::new();
    for line in lines {
        out.push_str(&line.text);
        if !line.missing_newline {
            out.push('\n');
        }
    }
    out
}

/// Every file patch of `text`. Lines outside hunks other than the `---`/`+++` headers are ignored; a hunk ends
/// when its header's line counts are used up.
pub fn parse_patch(text: &str) -> Vec<FilePatch> {
    let mut files: Vec<FilePatch> = Vec::new();
    let mut remaining: (usize, usize) = (0, 0);
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if remaining != (0, 0)
            && let Some(hunk) = files.last_mut().and_then(|file| file.hunks.last_mut())
        {
            let (tag, body) = match line.chars().next() {
                Some('+') => (LineTag::Added, &line[1..]),
                Some('-') => (LineTag::Removed, &line[1..]),
                Some(' ') => (LineTag::Context, &line[1..]),
                // An empty line inside a hunk is an empty context line whose space was stripped.
                None => (LineTag::Context, ""),
                Some(_) => {
                    remaining = (0, 0);
                    continue;
                }
            };
            match tag {
                LineTag::Context => remaining = (remaining.0.saturating_sub(1), remaining.1.saturating_sub(1)),
                LineTag::Removed => remaining.0 = remaining.0.saturating_sub(1),
                LineTag::Added => remaining.1 = remaining.1.saturating_sub(1),
            }
            let missing_newline = lines.peek().is_some_and(|next| next.starts_with("\\ "));
            if missing_newline {
                lines.next();
            }
            hunk.lines.push(HunkLine { tag, text: body.to_owned(), missing_newline });
            continue;
        }
        if let Some(old) = line.strip_prefix("--- ") {
            files.push(FilePatch { old_path: patch_path(old, "a/"), new_path: None, hunks: Vec::new() });
        } else if let Some(new) = line.strip_prefix("+++ ")
            && let Some(file) = files.last_mut()
        {
            file.new_path = patch_path(new, "b/");
        } else if let Some(header) = line.strip_prefix("@@ -")
            && let Some(file) = files.last_mut()
            && let Some(hunk) = parse_hunk_header(header)
        {
            remaining = (hunk.old_len, hunk.new_len);
            file.hunks.push(hunk);
        }
    }
    files
}

fn patch_path(name: &str, prefix: &str) -> Option<String> {
    let name = name.split('\t').next().unwrap_or_default().trim_end();
    (name != "/dev/null").then(|| name.strip_prefix(prefix).unwrap_or(name).to_owned())
}

/// `a,b +c,d @@ section` (after the leading `@@ -`).
fn parse_hunk_header(header: &str) -> Option<Hunk> {
    let (ranges, section) = header.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let range = |text: &str| -> Option<(usize, usize)> {
        match text.split_once(',') {
            Some((start, len)) => Some((start.parse().ok()?, len.parse().ok()?)),
            None => Some((text.parse().ok()?, 1)),
        }
    };
    let (old_start, old_len) = range(old)?;
    let (new_start, new_len) = range(new)?;
    let section = section.strip_prefix(' ').unwrap_or(section).to_owned();
    Some(Hunk { old_start, old_len, new_start, new_len, section, lines: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_hunks_and_images() {
        let patch = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@ def f():\n a\n-b\n+c\n d\n@@ -9 +9,2 @@\n-y\n\\ No newline at end of file\n+y\n+z\n";
        let files = parse_patch(patch);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path(), "x.py");
        let hunks = &files[0].hunks;
        assert_eq!(hunks.len(), 2);
        assert_eq!(hunks[0].section, "def f():");
        assert_eq!(lines_to_text(hunks[0].old_lines()), "a\nb\nd\n");
        assert_eq!(lines_to_text(hunks[0].new_lines()), "a\nc\nd\n");
        assert_eq!((hunks[1].old_start, hunks[1].old_len, hunks[1].new_len), (9, 1, 2));
        assert_eq!(lines_to_text(hunks[1].old_lines()), "y");
        assert_eq!(lines_to_text(hunks[1].new_lines()), "y\nz\n");
    }

    #[test]
    fn new_files_have_no_old_path() {
        let files = parse_patch("--- /dev/null\n+++ b/n.py\n@@ -0,0 +1 @@\n+x\n");
        assert_eq!(files[0].old_path, None);
        assert_eq!(files[0].new_path.as_deref(), Some("n.py"));
        assert_eq!(lines_to_text(files[0].hunks[0].new_lines()), "x\n");
    }
}
