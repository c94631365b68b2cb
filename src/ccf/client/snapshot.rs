//! Finding a node's latest committed snapshot: `GET /node/snapshot?since=S`. It never lists:
//! the answering node redirects (308) to `/node/snapshot/{name}` of its latest committed
//! snapshot after `since`, or answers `404 ResourceNotFound "This node has no committed
//! snapshots since S"`. Two shapes:
//!
//! * CCF 6.x (`src/node/rpc/node_frontend.h`): on every interface, no redirect to the
//!   primary, each node looks only in its own snapshots directory (which only the primary
//!   writes, so a backup answers 404), strictly after `since` (`idx > since`), and the
//!   `Location` is relative;
//! * newer CCF (`src/node/rpc/file_serving_handlers.h`, `find_snapshot`): a backup redirects
//!   (308) to the primary's `/node/snapshot`, the file is served with
//!   `x-ms-ccf-snapshot-name`, and only on an interface with the `SnapshotRead` operator
//!   feature: without it CCF answers a bodiless 404 (`frontend.h`, `check_uri_allowed`).
//!
//! The client's redirect policy stops at `/node/snapshot/{name}` (the file itself can be
//! gigabytes), so its name is read from the `Location` header, absolute or relative.

use std::sync::atomic::Ordering;

use reqwest::Method;

use super::{CcfClient, NodeAddr};
use crate::ccf::error::{ClientError, ErrorKind, parse_error_body};

/// What `/node/snapshot` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotLookup {
    /// A committed snapshot at or after the seqno asked for.
    Found {
        /// File name, `snapshot_<seqno>_<evidence_seqno>.committed`.
        name: String,
        /// Its seqno.
        seqno: u64,
    },
    /// None committed at or after that seqno yet.
    NoneYet,
    /// The service does not serve snapshots here (why): the interface lacks `SnapshotRead`,
    /// or the CCF version has no such endpoint.
    NotServed(String),
}

/// The path prefix of a named snapshot: redirects to it are not followed.
pub(super) const NAMED_SNAPSHOT_PATH: &str = "/node/snapshot/";

/// CCF's message when no committed snapshot is at or after `since`.
const NONE_SINCE: &str = "This node has no committed snapshots since";

impl CcfClient {
    /// The latest committed snapshot at or after `since`, as `node` (or the primary it
    /// redirects to) has it. One attempt: callers poll.
    pub async fn latest_snapshot(
        &self,
        node: &NodeAddr,
        since: u64,
    ) -> Result<SnapshotLookup, ClientError> {
        let url = Self::url(node, &format!("/node/snapshot?since={since}"));
        let err = |kind| ClientError::new(Method::GET.to_string(), url.clone(), kind);
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let resp = self
            .inner
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| err(self.map_transport(e)))?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.bytes().await.unwrap_or_default();
        match (status, location) {
            (307 | 308, Some(loc)) => {
                let name = loc
                    .split_once(NAMED_SNAPSHOT_PATH)
                    .map(|(_, n)| n.split(['?', '#']).next().unwrap_or(n).to_string())
                    .unwrap_or_default();
                match committed_snapshot_seqno(&name) {
                    Some(seqno) => Ok(SnapshotLookup::Found { name, seqno }),
                    None => Ok(SnapshotLookup::NotServed(format!(
                        "it redirected to {loc}, not to a committed snapshot"
                    ))),
                }
            }
            (404, _) => {
                let (_, message) = parse_error_body(&body);
                Ok(if message.starts_with(NONE_SINCE) {
                    SnapshotLookup::NoneYet
                } else {
                    SnapshotLookup::NotServed(format!(
                        "GET /node/snapshot answered 404{}: enable the SnapshotRead operator feature on the RPC interface (enabled_operator_features), or the CCF version has no such endpoint",
                        if message.is_empty() {
                            String::new()
                        } else {
                            format!(" ({message})")
                        }
                    ))
                })
            }
            _ => {
                let (code, message) = parse_error_body(&body);
                Err(err(ErrorKind::Http {
                    status,
                    code,
                    message,
                    retry_after: None,
                }))
            }
        }
    }
}

/// The seqno in a committed snapshot's file name, `snapshot_<seqno>_<evidence_seqno>.committed`
/// (CCF `src/snapshots/filenames.h`, `get_snapshot_idx_from_file_name`; only names ending in
/// `.committed` are committed, `is_snapshot_file_committed`).
pub fn committed_snapshot_seqno(name: &str) -> Option<u64> {
    let rest = name.strip_prefix("snapshot_")?.strip_suffix(".committed")?;
    let (seqno, evidence) = rest.split_once('_')?;
    evidence.parse::<u64>().ok()?;
    seqno.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seqno_of_committed_snapshot_names_only() {
        assert_eq!(
            committed_snapshot_seqno("snapshot_120_124.committed"),
            Some(120)
        );
        assert_eq!(committed_snapshot_seqno("snapshot_120_124"), None);
        assert_eq!(committed_snapshot_seqno("snapshot_x_124.committed"), None);
        assert_eq!(committed_snapshot_seqno("ledger_1-5.committed"), None);
    }
}
