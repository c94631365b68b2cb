//! Where a service's nodes were last seen: `addresses.json` in its state directory, the
//! service's Trusted nodes (id and RPC address) as the latest observation found them,
//! rewritten when they change. A rolling upgrade retires every node it started with, so the
//! addresses a plan's `[service] url` names stop answering once it is done; commands then
//! fall back on these (`observe::find_answering_node`) instead of failing.
//!
//! The file is a hint, never trusted by itself: a node reached through it must still present
//! a certificate the service certificate endorses, and must be listed by the service as a
//! Trusted node at that address.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::ccf::AddressHints;
pub(crate) use crate::ccf::KnownNode;

/// The file's name inside the service's state directory.
pub(crate) const FILE_NAME: &str = "addresses.json";

/// The version of the file's format this build writes and reads.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// `addresses.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    schema_version: u32,
    /// RFC 3339: when these nodes were first seen as the service's Trusted nodes.
    updated_at: String,
    nodes: Vec<KnownNode>,
}

/// One service's `addresses.json`, shared by everything one command does.
#[derive(Debug)]
pub(crate) struct AddressBook {
    path: PathBuf,
    /// What this process last read or wrote, so that an unchanged service is not rewritten.
    last: Mutex<Option<Vec<KnownNode>>>,
    /// This process reached the service only through these addresses.
    fell_back: AtomicBool,
}

impl AddressBook {
    /// The book of the service whose certificate has this SHA-256, under `state_dir`.
    /// Nothing is created until there is something to keep.
    pub(crate) fn for_service(state_dir: &Path, service_cert_sha256: &str) -> Self {
        Self::at(super::ServiceState::dir_for(state_dir, service_cert_sha256).join(FILE_NAME))
    }

    /// The book kept in `path`.
    pub(crate) fn at(path: PathBuf) -> Self {
        AddressBook {
            path,
            last: Mutex::new(None),
            fell_back: AtomicBool::new(false),
        }
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The nodes kept (none if there is no file, or one this build cannot read).
    pub(crate) fn recall(&self) -> Vec<KnownNode> {
        let nodes = self.read();
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(nodes.clone());
        nodes
    }

    fn read(&self) -> Vec<KnownNode> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => {
                tracing::debug!("cannot read {}: {e}", self.path.display());
                return Vec::new();
            }
        };
        match serde_json::from_str::<Stored>(&text) {
            Ok(s) if s.schema_version == SCHEMA_VERSION => s.nodes,
            Ok(s) => {
                tracing::debug!(
                    "{} has schema version {}, not {SCHEMA_VERSION}: ignored",
                    self.path.display(),
                    s.schema_version
                );
                Vec::new()
            }
            Err(e) => {
                tracing::debug!("{} is not readable: {e}", self.path.display());
                Vec::new()
            }
        }
    }

    /// Keep `nodes` as the service's Trusted nodes (written only when they changed). A state
    /// directory that cannot be written loses the fallback, not the command: logged only.
    pub(crate) fn remember(&self, mut nodes: Vec<KnownNode>) {
        if nodes.is_empty() {
            return;
        }
        nodes.sort();
        nodes.dedup();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none() {
            *last = Some(self.read());
        }
        if last.as_ref() == Some(&nodes) {
            return;
        }
        let stored = Stored {
            schema_version: SCHEMA_VERSION,
            updated_at: jiff::Timestamp::now().to_string(),
            nodes,
        };
        match self.write(&stored) {
            Ok(()) => *last = Some(stored.nodes),
            Err(e) => tracing::debug!(
                "cannot keep the service's addresses in {}: {e}",
                self.path.display()
            ),
        }
    }

    fn write(&self, stored: &Stored) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Replaced atomically: a reader never sees half a file, and two commands writing at
        // once each leave a whole one.
        let tmp = self
            .path
            .with_extension(format!("json.{}.tmp", std::process::id()));
        let text = serde_json::to_string_pretty(stored).expect("addresses serialise");
        std::fs::write(&tmp, format!("{text}\n"))?;
        std::fs::rename(&tmp, &self.path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    /// Record that the service was reached only through these addresses; true the first time
    /// (one warning per command).
    pub(crate) fn note_fallback(&self) -> bool {
        !self.fell_back.swap(true, Ordering::SeqCst)
    }

    /// Whether this command reached the service only through these addresses.
    pub(crate) fn fell_back(&self) -> bool {
        self.fell_back.load(Ordering::SeqCst)
    }
}

/// The client's fallback addresses are this book (installed by `observe::service_clients`).
impl AddressHints for AddressBook {
    fn path(&self) -> &Path {
        AddressBook::path(self)
    }

    fn recall(&self) -> Vec<KnownNode> {
        AddressBook::recall(self)
    }

    fn remember(&self, nodes: Vec<KnownNode>) {
        AddressBook::remember(self, nodes)
    }

    fn note_fallback(&self) -> bool {
        AddressBook::note_fallback(self)
    }

    fn fell_back(&self) -> bool {
        AddressBook::fell_back(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccf::NodeAddr;

    fn node(id: &str, port: u16) -> KnownNode {
        KnownNode {
            node_id: id.repeat(32),
            rpc_address: NodeAddr::new("127.0.0.1", port),
        }
    }

    #[test]
    fn kept_nodes_are_recalled_and_rewritten_only_when_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let book = AddressBook::for_service(dir.path(), &"ab".repeat(32));
        assert_eq!(book.recall(), vec![], "nothing kept yet");
        assert!(
            !book.path().exists(),
            "nothing created until there is something to keep"
        );
        book.remember(vec![node("bb", 8001), node("aa", 8000)]);
        let text = std::fs::read_to_string(book.path()).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["schema_version"], 1);
        assert_eq!(doc["nodes"][0]["rpc_address"], "127.0.0.1:8000");
        assert_eq!(doc["nodes"][1]["node_id"], "bb".repeat(32));
        // Another command's book reads the same file.
        let other = AddressBook::for_service(dir.path(), &"ab".repeat(32));
        assert_eq!(other.recall(), vec![node("aa", 8000), node("bb", 8001)]);
        // Unchanged (in any order): not rewritten.
        other.remember(vec![node("bb", 8001), node("aa", 8000)]);
        assert_eq!(std::fs::read_to_string(book.path()).unwrap(), text);
        other.remember(vec![node("cc", 8002)]);
        assert_eq!(book.recall(), vec![node("cc", 8002)]);
    }

    #[test]
    fn an_unreadable_or_newer_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let book = AddressBook::at(dir.path().join(FILE_NAME));
        std::fs::write(book.path(), "not json").unwrap();
        assert_eq!(book.recall(), vec![]);
        std::fs::write(
            book.path(),
            r#"{"schema_version": 2, "updated_at": "x", "nodes": []}"#,
        )
        .unwrap();
        assert_eq!(book.recall(), vec![]);
    }

    #[test]
    fn a_fallback_is_announced_once() {
        let book = AddressBook::at(PathBuf::from("/nonexistent/addresses.json"));
        assert!(!book.fell_back());
        assert!(book.note_fallback());
        assert!(!book.note_fallback());
        assert!(book.fell_back());
    }
}
