//! Rolling back: take away what the abandoned upgrade started and never finished (first), and
//! deregister its code version (last).

use super::Planning;
use crate::ccf::types::NodeStatus;
use crate::plan::gates::Gate;
use crate::plan::step::Step;

impl Planning<'_> {
    /// Its Pending nodes are removed, and its launches that never joined stopped.
    pub(super) fn abandoned_leftovers(&mut self) {
        let Some(a) = &self.ctx.abandon else {
            return;
        };
        let view = self.view;
        let pending: Vec<_> = view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Pending && self.abandoned(n))
            .collect();
        for n in pending {
            self.push(
                Step::RemovePending {
                    node_id: n.node_id.clone(),
                    address: n.address.clone(),
                },
                Gate::AbandonedPending,
                false,
            );
        }
        for l in &a.launched {
            let joined = view.nodes.iter().any(|n| l.is(n));
            if !joined && !self.ctx.stopped.iter().any(|s| s.same_node(l)) {
                self.push(
                    Step::StopLaunched { node: l.clone() },
                    Gate::AbandonedLaunch,
                    false,
                );
            }
        }
    }

    /// Its code version is deregistered once nothing else is left to do.
    pub(super) fn abandoned_code(&mut self) {
        let Some(a) = &self.ctx.abandon else {
            return;
        };
        let actions = a
            .target
            .deregister_actions(&self.view.join_policy, &self.spec.target);
        if !actions.is_empty() {
            self.push(
                Step::RemoveAbandonedCode { actions },
                Gate::RemoveAbandonedCode,
                false,
            );
        }
    }
}
