//! Logs and progress on stderr: a tracing subscriber whose `-v` levels `AGENTLESS_LOG` overrides, and the pipeline
//! stage named by `stage` fields of log events, shown by a spinner on a terminal or, when stderr is a file or a CI
//! job log, as one plain line each time the stage changes.

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::args::GlobalArgs;
use crate::env::EnvVars;

/// Whether stderr may carry colour: a terminal, and `NO_COLOR` unset or empty.
pub fn color_enabled() -> bool {
    io::stderr().is_terminal() && std::env::var_os(EnvVars::NO_COLOR).is_none_or(|value| value.is_empty())
}

/// Install the subscriber; returns the progress spinner (hidden when progress is off or stderr is not a terminal).
pub fn init(global: &GlobalArgs) -> ProgressBar {
    let terminal = io::stderr().is_terminal();
    let progress = if global.no_progress || global.quiet || !terminal {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    };
    let default_level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = std::env::var(EnvVars::AGENTLESS_LOG)
        .ok()
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(default_level));
    let writer_bar = progress.clone();
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(color_enabled())
        .with_target(global.verbose > 1)
        .without_time()
        .with_writer(move || SuspendingWriter { bar: writer_bar.clone() })
        .with_filter(filter);
    // In a job log the INFO lines of `-v` already say where the run is.
    let shown = match (global.quiet, terminal, global.verbose) {
        (true, _, _) => StageDisplay::Hidden,
        (false, false, 0) => StageDisplay::Lines(StageLines::default()),
        (false, _, _) => StageDisplay::Spinner(progress.clone()),
    };
    let stages = StageLayer { shown };
    // A second initialisation (only possible in tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(fmt).with(stages).try_init();
    progress
}

/// Writes a log line with the spinner cleared, so the two never interleave.
struct SuspendingWriter {
    bar: ProgressBar,
}

impl Write for SuspendingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bar.suspend(|| io::stderr().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Shows the stage of INFO events that carry a `stage` field.
struct StageLayer {
    shown: StageDisplay,
}

enum StageDisplay {
    /// `--quiet`.
    Hidden,
    /// The spinner's message follows every stage event (a hidden spinner when progress is off).
    Spinner(ProgressBar),
    /// stderr is not a terminal: a line when the stage changes, so a job log shows where a run is.
    Lines(StageLines),
}

/// The stage last printed, and when the process started, for [`StageDisplay::Lines`].
struct StageLines {
    started: Instant,
    last: Mutex<Option<String>>,
}

impl Default for StageLines {
    fn default() -> Self {
        Self { started: Instant::now(), last: Mutex::new(None) }
    }
}

impl StageLines {
    /// The line to print for an event of `stage`, or `None` when its pipeline stage (`validate` of
    /// `validate.regression`) is the one last printed.
    fn line(&self, stage: &str, message: Option<&str>) -> Option<String> {
        let stage = stage.split('.').next().unwrap_or(stage);
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.as_deref() == Some(stage) {
            return None;
        }
        *last = Some(stage.to_owned());
        let elapsed = self.started.elapsed().as_secs();
        Some(match message {
            Some(message) => format!("[{elapsed:>4} s] {stage}: {message}"),
            None => format!("[{elapsed:>4} s] {stage}"),
        })
    }
}

impl<S: Subscriber> Layer<S> for StageLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() > Level::INFO {
            return;
        }
        let mut visitor = StageVisitor::default();
        event.record(&mut visitor);
        let Some(stage) = visitor.stage else {
            return;
        };
        match &self.shown {
            StageDisplay::Hidden => {}
            StageDisplay::Spinner(bar) => bar.set_message(match visitor.message {
                Some(message) => format!("{stage}: {message}"),
                None => stage,
            }),
            StageDisplay::Lines(lines) => {
                if let Some(line) = lines.line(&stage, visitor.message.as_deref()) {
                    let _ = writeln!(io::stderr(), "{line}");
                }
            }
        }
    }
}

#[derive(Default)]
struct StageVisitor {
    stage: Option<String>,
    message: Option<String>,
}

impl Visit for StageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "stage" => self.stage = Some(value.to_owned()),
            "message" => self.message = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "stage" => self.stage = Some(format!("{value:?}").trim_matches('"').to_owned()),
            "message" => self.message = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_log_gets_one_line_per_stage_change() {
        let lines = StageLines::default();
        let printed: Vec<String> = [
            ("localize", Some("ranking files")),
            ("localize", Some("related elements")),
            ("repair", None),
            ("validate", Some("patch 1/4")),
            ("validate.regression", Some("running the tests on the original")),
            ("validate", Some("patch 2/4")),
            ("localize", Some("again")),
        ]
        .into_iter()
        .filter_map(|(stage, message)| lines.line(stage, message))
        .map(|line| line.split_once("] ").map(|(_, rest)| rest.to_owned()).unwrap_or(line))
        .collect();
        assert_eq!(printed, ["localize: ranking files", "repair", "validate: patch 1/4", "localize: again"]);
    }
}
