//! Nodes to take away once the upgrade no longer needs them: retired nodes (stopped and
//! deleted once removable) and Pending nodes it launched and will not trust.

use super::Planning;
use crate::ccf::types::{NodeStatus, short_id};
use crate::plan::gates::Gate;
use crate::plan::step::Step;

impl Planning<'_> {
    /// Retired nodes whose retirement completes.
    pub(super) fn retired_removals(&mut self) {
        let view = self.view;
        for n in view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Retired)
        {
            // Wait only for retirements that complete: listed as removable already, or retired
            // by this run. A node retired before a disaster recovery never becomes removable on
            // CCF 6.x and early 7.x (CCF #6604): waiting for it would time out every run.
            let ours = self.ctx.retired.contains(&n.node_id);
            if !n.removable && !ours && n.retired_before_recovery {
                self.out.warnings.push(format!(
                    "retired node {} is from before the service's last disaster recovery and never becomes removable (CCF #6604); it is left alone",
                    short_id(&n.node_id)
                ));
                continue;
            }
            self.push(
                Step::RemoveRetired {
                    node_id: n.node_id.clone(),
                    address: n.address.clone(),
                },
                Gate::RemoveRetired,
                false,
            );
        }
    }

    /// Launched by this upgrade and more than it needs (a crash left launches in flight that
    /// came up after others replaced them), or not the target's.
    pub(super) fn surplus_removals(&mut self) {
        let waiting = &self.waiting;
        let mut surplus = std::mem::take(&mut self.surplus);
        surplus.extend(
            self.pending_ours
                .iter()
                .filter(|n| waiting.contains(&n.node_id)),
        );
        for n in surplus {
            self.push(
                Step::RemovePending {
                    node_id: n.node_id.clone(),
                    address: n.address.clone(),
                },
                Gate::SurplusPending,
                false,
            );
        }
    }
}
