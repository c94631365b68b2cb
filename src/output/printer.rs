//! The printer: the one value that knows whether stdout gets tables or JSON (`--output`)
//! and how much (`-q`). Commands build documents; the printer writes them.

use std::io::Write;
use std::sync::Arc;

use super::OutputFormat;
use super::events::JsonReporter;
use super::progress::HumanReporter;
use super::watch::{HumanWatchReporter, JsonWatchReporter};
use crate::exec::Reporter;
use crate::watch::WatchReporter;

/// A document (not a notice, nor an event) reached stdout: a command that fails after this
/// has printed its own; one that fails before gets a `summary` (`--output json`).
static PRINTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a document was printed (see [`PRINTED`]).
pub(crate) fn printed_document() -> bool {
    PRINTED.load(std::sync::atomic::Ordering::Relaxed)
}

fn mark_printed() {
    PRINTED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Writing to stdout failed (a closed pipe included).
#[derive(Debug, thiserror::Error)]
#[error("cannot write output")]
pub(crate) struct WriteError(#[source] pub std::io::Error);

/// Something noderoll prints: text for people, and the same content as JSON.
pub(crate) trait Document {
    /// The human view, as written to stdout.
    fn human(&self) -> String;
    /// The JSON text, as written to stdout (ending with a newline).
    fn json(&self) -> String;
}

/// Where and how command output goes, decided once from `--output`, `-q` and `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Printer {
    format: OutputFormat,
    quiet: bool,
    verbose: u8,
}

impl Printer {
    /// A printer for `--output format`, `-q` when `quiet`, `-v` given `verbose` times.
    pub(crate) fn new(format: OutputFormat, quiet: bool, verbose: u8) -> Self {
        Printer {
            format,
            quiet,
            verbose,
        }
    }

    /// `--output`.
    pub(crate) fn format(&self) -> OutputFormat {
        self.format
    }

    /// `--output json`.
    pub(crate) fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// The reporter of a run's events: progress for people (returned too, to end it when
    /// the run ends; each preflight check's line with `-v`), JSON Lines for machines.
    pub(crate) fn run_reporter(&self) -> (Option<Arc<HumanReporter>>, Arc<dyn Reporter>) {
        match self.format {
            OutputFormat::Human => {
                let human = Arc::new(HumanReporter::new(self.quiet, self.verbose > 0));
                (Some(human.clone()), human)
            }
            OutputFormat::Json => (None, Arc::new(JsonReporter)),
        }
    }

    /// The reporter of `noderoll watch`'s events.
    pub(crate) fn watch_reporter(&self) -> Arc<dyn WatchReporter> {
        match self.format {
            OutputFormat::Human => Arc::new(HumanWatchReporter { quiet: self.quiet }),
            OutputFormat::Json => Arc::new(JsonWatchReporter),
        }
    }

    /// The global flags that make a child noderoll print as this one does (`-v` included).
    pub(crate) fn global_args(&self) -> Vec<String> {
        let mut args = vec![
            "--output".to_string(),
            match self.format {
                OutputFormat::Human => "human",
                OutputFormat::Json => "json",
            }
            .to_string(),
        ];
        if self.quiet {
            args.push("--quiet".into());
        }
        args.extend((0..self.verbose).map(|_| "--verbose".to_string()));
        args
    }

    /// Write `doc` in the chosen format; for people, nothing with `-q` (errors only: a
    /// script asking for data asks for JSON, which `-q` leaves alone).
    pub(crate) fn print(&self, doc: &dyn Document) -> Result<(), WriteError> {
        mark_printed();
        match self.format {
            OutputFormat::Human if self.quiet => Ok(()),
            OutputFormat::Human => write_stdout(&doc.human()),
            OutputFormat::Json => write_stdout(&doc.json()),
        }
    }

    /// A document that is a record of a JSON Lines stream (a run's events come before or
    /// after it): in JSON it is written as every record is (a closed stdout is ignored: the
    /// exit code still tells the outcome).
    pub(crate) fn print_record(&self, doc: &dyn Document) -> Result<(), WriteError> {
        mark_printed();
        self.write_record(doc)
    }

    /// `doc` as a record (JSON) or text (people), marking nothing.
    fn write_record(&self, doc: &dyn Document) -> Result<(), WriteError> {
        match self.format {
            OutputFormat::Json => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(doc.json().as_bytes());
                let _ = out.flush();
                Ok(())
            }
            OutputFormat::Human if self.quiet => Ok(()),
            OutputFormat::Human => write_stdout(&doc.human()),
        }
    }

    /// The outcome of a run, the last of its records; for people, nothing with `-q` (errors
    /// only, on stderr).
    pub(crate) fn print_outcome(&self, doc: &dyn Document) -> Result<(), WriteError> {
        if self.quiet && !self.is_json() {
            return Ok(());
        }
        self.print_record(doc)
    }

    /// A notice of what the command does next: a record in JSON (a closed stdout is
    /// ignored), a diagnostic on stderr for people (none with `-q`).
    pub(crate) fn notice(&self, doc: &dyn Document) {
        match self.format {
            OutputFormat::Json => {
                let _ = self.write_record(doc);
            }
            OutputFormat::Human if self.quiet => {}
            OutputFormat::Human => {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(doc.human().as_bytes());
            }
        }
    }

    /// Text for people only: nothing is written with `--output json` (which keeps stdout
    /// to its documents), nor with `-q`.
    pub(crate) fn human(&self, text: &str) -> Result<(), WriteError> {
        match self.format {
            OutputFormat::Human if self.quiet => Ok(()),
            OutputFormat::Human => write_stdout(text),
            OutputFormat::Json => Ok(()),
        }
    }
}

/// Write to stdout and flush.
pub(crate) fn write_stdout(text: &str) -> Result<(), WriteError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(WriteError)
}

/// A document that is the same text in both formats' place: `human` for people, `json`
/// (already stamped) for machines.
pub(crate) struct Text {
    /// The human text.
    pub human: String,
    /// The JSON text, ending with a newline.
    pub json: String,
}

impl Document for Text {
    fn human(&self) -> String {
        self.human.clone()
    }
    fn json(&self) -> String {
        self.json.clone()
    }
}

/// `v` as one line of JSON text (compact), with its newline.
pub(crate) fn json_line(v: &impl serde::Serialize) -> String {
    format!(
        "{}\n",
        serde_json::to_string(v).expect("documents serialise")
    )
}

/// `v` as pretty JSON text, with its newline.
pub(crate) fn json_pretty(v: &impl serde::Serialize) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(v).expect("documents serialise")
    )
}
