//! Lite-S derived from Agentless's classification CSV (`classification/swebench_lite_classifications.csv`): all Lite
//! problems minus those whose `description quality` is "Not enough info" or whose `solution in description` is
//! "Misleading" or "Exact patch". The current CSV gives **249, not the paper's 252** (the labels were re-checked
//! after the paper; the paper's list cannot be rebuilt).

use std::collections::BTreeSet;
use std::path::Path;

use crate::SwebenchError;

const ID_COLUMN: &str = "instance_id";
const QUALITY_COLUMN: &str = "description quality";
const SOLUTION_COLUMN: &str = "solution in description";
const EXCLUDED_QUALITY: &str = "Not enough info";
const EXCLUDED_SOLUTIONS: [&str; 2] = ["Misleading", "Exact patch"];

/// The Lite-S ids the classification CSV at `path` gives, sorted.
pub fn lite_s_ids_from_classification(path: &Path) -> Result<BTreeSet<String>, SwebenchError> {
    let text = fs_err::read_to_string(path)?;
    let format_error = |message: String| SwebenchError::Format { path: path.to_owned(), message };
    let mut rows = parse_csv(&text).map_err(format_error)?.into_iter();
    let header = rows.next().ok_or_else(|| format_error("empty CSV".to_owned()))?;
    let column = |name: &str| {
        header.iter().position(|cell| cell == name).ok_or_else(|| format_error(format!("no `{name}` column")))
    };
    let (id, quality, solution) = (column(ID_COLUMN)?, column(QUALITY_COLUMN)?, column(SOLUTION_COLUMN)?);
    let mut kept = BTreeSet::new();
    for (index, row) in rows.enumerate() {
        let cell = |at: usize| {
            row.get(at).map(String::as_str).ok_or_else(|| format_error(format!("row {} is too short", index + 2)))
        };
        let excluded = cell(quality)? == EXCLUDED_QUALITY || EXCLUDED_SOLUTIONS.contains(&cell(solution)?);
        if !excluded {
            kept.insert(cell(id)?.to_owned());
        }
    }
    Ok(kept)
}

/// RFC 4180 CSV: quoted fields may hold commas, newlines and `""`.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    while let Some(character) = chars.next() {
        if in_quotes {
            match character {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                other => field.push(other),
            }
            continue;
        }
        match character {
            '"' => in_quotes = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            other => field.push(other),
        }
    }
    if in_quotes {
        return Err("unterminated quoted field".to_owned());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn quoted_fields_with_newlines_and_quotes() {
        let rows = parse_csv("a,b\r\n\"x, \"\"y\"\"\nz\",2\n").unwrap();
        assert_eq!(rows, vec![vec!["a", "b"], vec!["x, \"y\"\nz", "2"]]);
        assert!(parse_csv("\"open").is_err());
    }

    #[test]
    fn the_rule_drops_the_three_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        let csv = "instance_id,problem_statement,description quality,solution in description\n\
                   a,\"text, with\ncomma\",Info in NL,No solution\n\
                   b,x,Not enough info,No solution\n\
                   c,x,Info in NL,Misleading\n\
                   d,x,Info in NL,Exact patch\n\
                   e,x,Contains reproducible example,Some steps in NL\n";
        fs_err::write(&path, csv).unwrap();
        let ids: Vec<String> = lite_s_ids_from_classification(&path).unwrap().into_iter().collect();
        assert_eq!(ids, vec!["a", "e"]);
    }
}
