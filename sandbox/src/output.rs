//! Capped capture of one output stream: the head and the tail are kept, the middle is cut and marked.

use std::collections::VecDeque;

use super::{ExecOutput, TRUNCATION_MARKER};

/// Keeps the first half of the cap and the last half; the tail matters as much as the head (test runners print
/// their summary last).
#[derive(Debug)]
pub(crate) struct CappedOutput {
    head_cap: usize,
    tail_cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    dropped: usize,
}

impl CappedOutput {
    pub(crate) fn new(cap: usize) -> Self {
        let head_cap = cap / 2;
        Self { head_cap, tail_cap: cap - head_cap, head: Vec::new(), tail: VecDeque::new(), dropped: 0 }
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        let head_room = self.head_cap.saturating_sub(self.head.len());
        if head_room > 0 {
            let taken = head_room.min(bytes.len());
            self.head.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
        }
        if bytes.len() >= self.tail_cap {
            self.dropped += self.tail.len() + bytes.len() - self.tail_cap;
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - self.tail_cap..]);
            return;
        }
        let overflow = (self.tail.len() + bytes.len()).saturating_sub(self.tail_cap);
        self.tail.drain(..overflow);
        self.dropped += overflow;
        self.tail.extend(bytes);
    }

    /// The [`ExecOutput`] of a finished command from its two captured streams.
    pub(crate) fn finish_exec(
        stdout: Self,
        stderr: Self,
        exit_code: i32,
        timed_out: bool,
        duration: std::time::Duration,
    ) -> ExecOutput {
        let (stdout, stdout_truncated) = stdout.finish();
        let (stderr, stderr_truncated) = stderr.finish();
        ExecOutput { exit_code, stdout, stderr, timed_out, truncated: stdout_truncated || stderr_truncated, duration }
    }

    /// The text and whether anything was cut.
    pub(crate) fn finish(self) -> (String, bool) {
        let truncated = self.dropped > 0;
        let mut bytes = self.head;
        if truncated {
            if !bytes.ends_with(b"\n") {
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(TRUNCATION_MARKER.as_bytes());
            bytes.push(b'\n');
        }
        bytes.extend(self.tail);
        (String::from_utf8_lossy(&bytes).into_owned(), truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(cap: usize, chunks: &[&str]) -> (String, bool) {
        let mut output = CappedOutput::new(cap);
        for chunk in chunks {
            output.push(chunk.as_bytes());
        }
        output.finish()
    }

    #[test]
    fn output_under_the_cap_is_kept_whole() {
        assert_eq!(capture(10, &["abc", "defg", "hij"]), ("abcdefghij".to_owned(), false));
    }

    #[test]
    fn output_over_the_cap_keeps_head_and_tail() {
        assert_eq!(capture(6, &["abcd", "efgh", "ij"]), ("abc\n[... output truncated ...]\nhij".to_owned(), true));
        assert_eq!(capture(6, &["a", "bcdefghijklmn"]), ("abc\n[... output truncated ...]\nlmn".to_owned(), true));
    }

    #[test]
    fn a_zero_cap_keeps_only_the_marker() {
        assert_eq!(capture(0, &["abc"]), ("\n[... output truncated ...]\n".to_owned(), true));
    }
}
