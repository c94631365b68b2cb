//! A primary that started from a snapshot refuses joiners that start from an older one (or
//! from none): CCF `src/node/rpc/node_frontend.h`, the `/join` handler refuses with
//! `StartupSeqnoIsOld` when `this_startup_seqno > in.startup_seqno`; the seqno a node started
//! from is `startup_seqno` of its `GET /node/state` (`get_state`, 0 when it started without
//! one). That makes `[nodes] fresh_snapshot` on by default; where the plan turns it off,
//! noderoll hands its launches no snapshot, so the launcher must: only a warning, since a
//! launcher may well copy a recent snapshot itself.

use super::{Check, Notice, Preflight, notice};
use crate::plan::{ServiceView, Step, planner};

const NAME: &str = "joiners' snapshot";

impl Preflight<'_> {
    /// A warning when the run launches nodes without a fresh snapshot and the primary
    /// started from a snapshot (as the observer read it, else read here); nothing when that
    /// cannot be read (the absent-node diagnosis reads it again if a joiner never appears).
    pub(super) async fn startup_snapshot(&self, view: &ServiceView) -> Option<Check> {
        if crate::plan::snapshot::fresh_snapshot_wanted(self.spec, view) {
            return None;
        }
        let ctx = self.ctx?;
        let launches = planner::plan(view, self.spec, ctx)
            .steps
            .iter()
            .any(|s| matches!(s.step, Step::LaunchNodes { .. }));
        if !launches {
            return None;
        }
        let seqno = match view.primary_startup_seqno {
            Some(seqno) => seqno,
            None => {
                let primary = view.primary.as_ref()?;
                let at = view.nodes.iter().find(|n| &n.node_id == primary)?;
                self.client
                    .state(at.address.as_ref()?)
                    .await
                    .ok()?
                    .startup_seqno
            }
        };
        (seqno > 0).then(|| {
            notice(
                NAME,
                Notice::Warning,
                format!(
                    "the primary started from a snapshot at seqno {seqno}: CCF refuses a joiner that starts from an older snapshot or none (StartupSeqnoIsOld, after the step timeout here), and this run makes no fresh snapshot; set [nodes] fresh_snapshot = true or leave it unset (the launcher is handed one as NODEROLL_SNAPSHOT_NAME and NODEROLL_SNAPSHOT_SEQNO), or have the launcher start new nodes from a committed snapshot at seqno {seqno} or later"
                ),
            )
        })
    }
}
