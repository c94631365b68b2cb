//! The journal: the durable "upgrade in progress" record of one service, as JSON Lines in its
//! state directory, appended and fsynced record by record, plus an atomically replaced
//! snapshot (`state.json`) of the latest run. It is a hint for resuming (the service is the
//! truth) and never holds key material: ids, addresses, action names, step descriptions.
//!
//! Here the journal file itself; `record` is what it holds, `history` what its records say
//! about earlier runs, `reporter` what a run writes to it.

mod history;
mod record;
mod reporter;

use std::fs::File;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::lock::ServiceState;

pub(crate) use history::Unsettled;
pub(crate) use record::{Record, RecordedTarget};
pub(crate) use reporter::JournalReporter;

/// Format version written by this noderoll; journals with a newer one are not written to.
/// 2: targets are recorded whole (`{platform, host_data, ccf_version}`), no longer as their
/// description; format 1's descriptions are still read, and a noderoll that reads only
/// format 1 refuses a journal this one wrote instead of skipping its records.
pub(crate) const FORMAT_VERSION: u32 = 2;

/// A journal problem.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JournalError {
    /// Unreadable or unwritable.
    #[error("journal {}", .path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Written by a newer noderoll.
    #[error("journal {} was written by a newer noderoll (format {found}, this one writes {FORMAT_VERSION}); upgrade noderoll", .path.display())]
    Newer {
        /// File.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
}

/// An open journal.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    snapshot: PathBuf,
    file: Mutex<File>,
    records: Vec<Record>,
}

impl Journal {
    /// Open (creating) the journal of a service; refuse one written by a newer format.
    pub(crate) fn open(state: &ServiceState) -> Result<Journal, JournalError> {
        let path = state.dir().join("journal.jsonl");
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        let mut records = Vec::new();
        if let Ok(f) = File::open(&path) {
            for line in std::io::BufReader::new(f).lines() {
                let line = line.map_err(io)?;
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && let Some(found) = v.get("format_version").and_then(|x| x.as_u64())
                    && found as u32 > FORMAT_VERSION
                {
                    return Err(JournalError::Newer {
                        path,
                        found: found as u32,
                    });
                }
                // A torn last line (killed mid-write) or an unknown record is skipped.
                if let Ok(r) = serde_json::from_str::<Record>(&line) {
                    records.push(r);
                }
            }
        }
        let file = File::options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok(Journal {
            snapshot: state.dir().join("state.json"),
            path,
            file: Mutex::new(file),
            records,
        })
    }

    /// Every record, oldest first.
    pub(crate) fn records(&self) -> &[Record] {
        &self.records
    }

    /// Append a record and fsync it; then replace the snapshot atomically.
    pub(crate) fn append(&self, r: &Record) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let line = serde_json::to_string(r).expect("records serialise");
        f.write_all(format!("{line}\n").as_bytes()).map_err(io)?;
        f.sync_data().map_err(io)?;
        drop(f);
        write_atomically(
            &self.snapshot,
            &serde_json::to_string_pretty(r).expect("records serialise"),
        )
        .map_err(|source| JournalError::Io {
            path: self.snapshot.clone(),
            source,
        })
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}
