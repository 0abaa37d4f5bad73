//! JSON text as Python's `json.dumps(value, indent=4)` writes it: four-space indents and `ensure_ascii` (every
//! character outside printable ASCII escaped as `\uXXXX`), so our reports match SWE-bench's byte for byte.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

struct PythonFormatter<'a> {
    pretty: PrettyFormatter<'a>,
}

macro_rules! delegate {
    ($($name:ident),* $(,)?) => {
        $(fn $name<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
            self.pretty.$name(writer)
        })*
    };
}

impl Formatter for PythonFormatter<'_> {
    delegate!(begin_array, end_array, begin_object, end_object, end_array_value, end_object_value);

    fn begin_array_value<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_array_value(writer, first)
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(writer)
    }

    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut units = [0u16; 2];
        for character in fragment.chars() {
            if (' '..='~').contains(&character) {
                writer.write_all(&[character as u8])?;
            } else {
                for unit in character.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// `json.dumps(value, indent=4)`.
pub(crate) fn to_python_json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::new();
    let formatter = PythonFormatter { pretty: PrettyFormatter::with_indent(b"    ") };
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn matches_python_json_dumps() {
        // json.dumps({"a": ["é ✓ 😀", "\x7f\n\"\\/"], "b": [], "c": {}}, indent=4)
        let value = serde_json::json!({"a": ["é ✓ 😀", "\u{7f}\n\"\\/"], "b": [], "c": {}});
        let expected = "{\n    \"a\": [\n        \"\\u00e9 \\u2713 \\ud83d\\ude00\",\n        \
                        \"\\u007f\\n\\\"\\\\/\"\n    ],\n    \"b\": [],\n    \"c\": {}\n}";
        assert_eq!(to_python_json(&value).unwrap(), expected);
    }
}
