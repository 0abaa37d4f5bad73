//! Wire formats: how a [`ChatRequest`](crate::ChatRequest) becomes a provider's JSON body and how its answer
//! becomes sample texts and [`Usage`]. No HTTP here, no retries, no keys beyond naming their header.

pub(crate) mod anthropic;
pub(crate) mod openai;

use crate::Usage;

/// What one HTTP answer held: one text per sample it carried, and its token counts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WireAnswer {
    pub(crate) texts: Vec<String>,
    pub(crate) usage: Usage,
}

/// How much of an unparseable body is quoted in the error.
const QUOTED_BODY_CHARS: usize = 300;

/// Why `body` could not be decoded, quoting its start.
fn undecodable(error: &serde_json::Error, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let quoted: String = text.chars().take(QUOTED_BODY_CHARS).collect();
    let ellipsis = if text.chars().count() > QUOTED_BODY_CHARS { "…" } else { "" };
    format!("{error}; the body was: {quoted}{ellipsis}")
}
