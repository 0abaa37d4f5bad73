//! The text of a Python source file: the encoding its PEP 263 declaration names (`# -*- coding: koi8-r -*-` on
//! one of its first two lines), else UTF-8. Beyond the original, which reads every file as UTF-8.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

/// `bytes` decoded as the file declares, or as UTF-8 without a declaration; `None` when the bytes are not valid in
/// that encoding, or the declared encoding is unknown.
pub fn decode_python(bytes: &[u8]) -> Option<Cow<'_, str>> {
    let encoding = match declared_encoding(bytes) {
        Some(label) => encoding_for(label)?,
        None => UTF_8,
    };
    encoding.decode_without_bom_handling_and_without_replacement(bytes)
}

/// The encoding name of a PEP 263 declaration: a comment matching `coding[:=]\s*([-\w.]+)` on the first line, or on
/// the second when the first is blank or a comment.
pub fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    for line in bytes.split(|&byte| byte == b'\n').take(2) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let trimmed = line.trim_ascii_start();
        if !trimmed.starts_with(b"#") {
            if trimmed.is_empty() {
                continue;
            }
            return None;
        }
        if let Some(name) = coding_name(trimmed) {
            return std::str::from_utf8(name).ok();
        }
    }
    None
}

fn coding_name(comment: &[u8]) -> Option<&[u8]> {
    let mut rest = comment;
    while let Some(at) = rest.windows(6).position(|window| window == b"coding") {
        let after = &rest[at + 6..];
        if let Some((b':' | b'=', value)) = after.split_first() {
            let value = value.trim_ascii_start();
            let end = value
                .iter()
                .position(|&byte| !(byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.')))
                .unwrap_or(value.len());
            if end > 0 {
                return Some(&value[..end]);
            }
        }
        rest = after;
    }
    None
}

/// The encoding of a Python codec name (`latin-1`, `utf_8`, `cp1251`, `koi8_r`): WHATWG labels after Python's
/// normalisation (lower case, `_` as `-`).
fn encoding_for(label: &str) -> Option<&'static Encoding> {
    let label = label.to_ascii_lowercase().replace('_', "-");
    let label = match label.as_str() {
        "utf8" | "utf-8-sig" | "utf8-sig" => "utf-8",
        "latin-1" | "latin1" | "l1" | "iso-8859-1" => "iso-8859-1",
        "cp1251" | "windows-1251" => "windows-1251",
        "cp1252" | "windows-1252" => "windows-1252",
        other => other,
    };
    Encoding::for_label(label.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_follow_pep_263() {
        assert_eq!(declared_encoding(b"# -*- coding: koi8-r -*-\nx = 1\n"), Some("koi8-r"));
        assert_eq!(declared_encoding(b"#!/usr/bin/env python\n# vim: set fileencoding=latin-1 :\n"), Some("latin-1"));
        assert_eq!(declared_encoding(b"\n# coding=cp1251\n"), Some("cp1251"));
        assert_eq!(declared_encoding(b"x = 1\n# coding: koi8-r\n"), None, "only after a comment or blank line");
        assert_eq!(declared_encoding(b"# a\n# b\n# coding: koi8-r\n"), None, "the first two lines only");
        assert_eq!(declared_encoding(b"x = '# coding: koi8-r'\n"), None);
    }

    #[test]
    fn files_decode_as_declared_and_undecodable_ones_are_none() {
        let (koi8, _, _) = encoding_rs::KOI8_R.encode("# -*- coding: koi8-r -*-\nname = 'Привет'\n");
        assert_eq!(decode_python(&koi8).as_deref(), Some("# -*- coding: koi8-r -*-\nname = 'Привет'\n"));
        assert_eq!(decode_python("x = 'é'\n".as_bytes()).as_deref(), Some("x = 'é'\n"));
        assert_eq!(decode_python(b"x = '\xff'\n"), None, "not UTF-8 and nothing declared");
        assert_eq!(decode_python(b"# coding: no-such-codec\nx = 1\n"), None);
        assert_eq!(decode_python(b"# coding: latin-1\nx = '\xe9'\n").as_deref(), Some("# coding: latin-1\nx = 'é'\n"));
    }
}
