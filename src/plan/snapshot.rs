//! Snapshots for joining nodes. CCF refuses a joiner whose startup snapshot is older than the
//! one the node handling its join started from (`StartupSeqnoIsOld`, CCF
//! `src/node/rpc/node_frontend.h`, the `/join` handler: `this_startup_seqno >
//! in.startup_seqno`, 400), and the joiner shuts down (6.x, 7.0 `src/node/node_state.h`: a
//! 4xx answer to the join is fatal; only the newest CCF re-fetches and retries). `[nodes]
//! fresh_snapshot` makes a committed snapshot before the run's first launch (the
//! `trigger_snapshot` proposal) and hands it to the launcher. This file holds the rule that
//! decides it by default and the snapshot's name and seqno.

use serde::{Deserialize, Serialize};

use super::spec::UpgradeSpec;
use super::version::CcfVersion;
use super::view::ServiceView;
use crate::ccf::types::NodeStatus;

/// A committed snapshot the run hands to its launches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshSnapshot {
    /// Its file name (`snapshot_<seqno>_<evidence_seqno>.committed`), when the service lists
    /// it; `None` where it cannot be observed: the launcher then needs a committed snapshot
    /// at or after `seqno`.
    pub name: Option<String>,
    /// Its seqno (or, without a name, the seqno it is at or after).
    pub seqno: u64,
}

/// Whether the run makes a fresh snapshot: `[nodes] fresh_snapshot` if given; by default on
/// when the primary started from a snapshot (`startup_seqno` above 0: a joiner that starts
/// from none or an older one is refused, and whether it fetches a recent one itself depends on
/// its configuration and the service's), and for joins into 7.x from 6.x (the 6 → 7 migration guide has 7.x nodes join from a
/// snapshot a 6.0.21+ node made, and the newest CCF fetches one itself only after being
/// refused, and only where the target enables `SnapshotRead`); off otherwise.
pub fn fresh_snapshot_wanted(spec: &UpgradeSpec, view: &ServiceView) -> bool {
    if let Some(on) = spec.nodes.fresh_snapshot {
        return on;
    }
    if view.primary_startup_seqno.is_some_and(|s| s > 0) {
        return true;
    }
    let target_major = spec
        .target
        .ccf_version
        .as_deref()
        .and_then(CcfVersion::parse)
        .map(|v| v.major);
    let running: Vec<CcfVersion> = view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted)
        .filter_map(|n| n.version.as_deref().and_then(CcfVersion::parse))
        .collect();
    target_major == Some(7) && running.iter().any(|v| v.major == 6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{node, service, spec};

    fn on_versions(target: Option<&str>, running: &[&str], set: Option<bool>) -> bool {
        let mut s = spec();
        s.target.ccf_version = target.map(Into::into);
        s.nodes.fresh_snapshot = set;
        let mut nodes = vec![node(9, NodeStatus::Retired, "aa")];
        for (i, r) in running.iter().enumerate() {
            let mut n = node(i, NodeStatus::Trusted, "aa");
            n.version = Some((*r).into());
            nodes.push(n);
        }
        fresh_snapshot_wanted(&s, &service(nodes, &[]))
    }

    #[test]
    fn on_by_default_only_for_joins_into_7_from_6() {
        assert!(on_versions(Some("ccf-7.0.2"), &["ccf-6.0.21"], None));
        assert!(on_versions(
            Some("ccf-7.0.2"),
            &["ccf-6.0.22", "ccf-7.0.1"],
            None
        ));
        assert!(!on_versions(Some("ccf-7.0.2"), &["ccf-7.0.1"], None));
        assert!(!on_versions(Some("ccf-6.0.22"), &["ccf-6.0.21"], None));
        assert!(!on_versions(None, &["ccf-6.0.21"], None));
        assert!(!on_versions(Some("ccf-7.0.2"), &[], None));
        // The plan file decides when it says.
        assert!(!on_versions(
            Some("ccf-7.0.2"),
            &["ccf-6.0.21"],
            Some(false)
        ));
        assert!(on_versions(Some("ccf-6.0.22"), &["ccf-6.0.21"], Some(true)));
    }

    #[test]
    fn on_by_default_when_the_primary_started_from_a_snapshot() {
        let wanted = |startup: Option<u64>, set: Option<bool>| {
            let mut s = spec();
            s.target.ccf_version = Some("ccf-7.0.2".into());
            s.nodes.fresh_snapshot = set;
            let mut n = node(0, NodeStatus::Trusted, "aa");
            n.version = Some("ccf-7.0.1".into());
            let mut view = service(vec![n], &[]);
            view.primary_startup_seqno = startup;
            fresh_snapshot_wanted(&s, &view)
        };
        assert!(wanted(Some(40), None));
        // Started without a snapshot, or not read: the version rule alone.
        assert!(!wanted(Some(0), None));
        assert!(!wanted(None, None));
        // The plan file decides when it says.
        assert!(!wanted(Some(40), Some(false)));
        assert!(wanted(Some(0), Some(true)));
    }
}
