//! Logs and progress on stderr: a tracing subscriber whose `-v` levels `AGENTLESS_LOG` overrides, and a spinner
//! that shows the pipeline stage named by `stage` fields of log events.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

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
    let progress = if global.no_progress || global.quiet || !io::stderr().is_terminal() {
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
    let stages = StageLayer { bar: progress.clone() };
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

/// Sets the spinner's message from INFO events that carry a `stage` field.
struct StageLayer {
    bar: ProgressBar,
}

impl<S: Subscriber> Layer<S> for StageLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() > Level::INFO {
            return;
        }
        let mut visitor = StageVisitor::default();
        event.record(&mut visitor);
        if let Some(stage) = visitor.stage {
            let message = match visitor.message {
                Some(message) => format!("{stage}: {message}"),
                None => stage,
            };
            self.bar.set_message(message);
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
