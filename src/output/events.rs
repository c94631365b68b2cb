//! The JSON Lines reporter (`--output json`): one object per event on stdout, each with
//! `schema_version`, `type` and `at` (RFC 3339), ending with one `summary` record that the
//! command writes. The event fields are those of [`crate::exec::Event`].

use std::io::Write;

use serde_json::Value;

pub(crate) use super::schema::envelope;
use crate::exec::{Event, Reporter};

/// Writes events as JSON Lines to stdout.
pub(crate) struct JsonReporter;

/// Write one JSON line to stdout (a closed stdout is ignored: the run goes on).
pub(crate) fn write_line(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

impl Reporter for JsonReporter {
    fn report(&self, e: &Event) {
        write_line(&super::schema::record(e));
    }
}
