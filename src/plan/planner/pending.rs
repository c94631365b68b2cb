//! Pending nodes (and trusted ones of unknown attestation): which this run trusts, which it
//! removes, which it leaves alone with a warning.

use super::Planning;
use crate::ccf::types::{NodeStatus, short_id};

impl Planning<'_> {
    /// Sort the Pending nodes not of an abandoned upgrade into `pending_ours` (to trust),
    /// `surplus` (to remove) and warnings (left alone).
    pub(super) fn pending_nodes(&mut self) {
        for n in &self.split.unknown {
            self.out.warnings.push(format!(
                "trusted node {} does not show what it attests (no quote in the service's store); it is neither counted as the target's nor retired",
                short_id(&n.node_id)
            ));
        }
        let target = &self.spec.target;
        let on_target =
            |n: &crate::plan::view::NodeView| n.claims.as_ref().is_some_and(|c| target.matches(c));
        let view = self.view;
        let pending: Vec<_> = view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Pending && !self.abandoned(n))
            .collect();
        for n in pending {
            let id = short_id(&n.node_id);
            match (self.ours(n), &n.claims) {
                (true, Some(_)) if on_target(n) => self.pending_ours.push(n),
                // CCF admitted it (its attestation matched a registered code version) but keeps
                // no readable report for a Pending node on SNP: this run launched it for the
                // target, so it is trusted and its quote checked once it has caught up.
                (true, None) => self.pending_ours.push(n),
                (true, Some(_)) => {
                    self.out.warnings.push(format!(
                        "node {id} was launched by this run but does not attest the target code version; it is not trusted"
                    ));
                    self.surplus.push(n);
                }
                (false, _) => self.out.warnings.push(format!(
                    "unknown Pending node {id} (not launched by this run) is left alone; `apply --adopt {id}` takes it over"
                )),
            }
        }
        self.waiting = self
            .pending_ours
            .iter()
            .map(|n| n.node_id.clone())
            .collect();
    }
}
