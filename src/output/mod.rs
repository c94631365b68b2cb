//! Output: human tables and JSON documents. Stdout carries data only; diagnostics go to
//! stderr (through tracing).
//!
//! Commands build documents (one type per document, each rendered both ways by its
//! [`Document`] impl) and hand them to the [`Printer`], the one place `--output` and `-q` are
//! decided; [`schema`] is the one place `schema_version` is written.

pub(crate) mod channel;
pub(crate) mod events;
pub(crate) mod journal;
pub(crate) mod next_step;
pub(crate) mod plan;
pub(crate) mod printer;
pub(crate) mod progress;
pub(crate) mod rollback;
pub(crate) mod schema;
pub(crate) mod status;
pub(crate) mod summary;
pub(crate) mod vote;
pub(crate) mod watch;

pub(crate) use printer::{Document, Printer, WriteError};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// Tables for people.
    Human,
    /// One JSON document (or JSON Lines for event streams), with `schema_version`.
    Json,
}

/// A table as every human view draws it: condensed UTF-8 borders, columns fitted to the
/// terminal, and 80 columns where the terminal reports none (some report 0, which would
/// squeeze every column to one character).
pub(crate) fn table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if let Some(w) = usable_width(t.width()) {
        t.set_width(w);
    }
    t
}

/// The width to force on a table whose terminal reports `detected`: 80 for a width of 0.
fn usable_width(detected: Option<u16>) -> Option<u16> {
    (detected == Some(0)).then_some(80)
}

/// `1 step`, `8 steps`: a count with its noun, singular or plural.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_terminal_of_no_width_gets_eighty_columns() {
        assert_eq!(super::usable_width(Some(0)), Some(80));
        assert_eq!(super::usable_width(Some(120)), None);
        assert_eq!(super::usable_width(None), None);
    }

    #[test]
    fn counts_read_as_english() {
        assert_eq!(super::count(1, "step"), "1 step");
        assert_eq!(super::count(0, "step"), "0 steps");
        assert_eq!(super::count(8, "step"), "8 steps");
    }
}
