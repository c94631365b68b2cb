//! The soak before retiring, and the retirement of the old nodes: backups first (in id order,
//! for a stable plan), the primary last, each behind [`Gate::RetireNode`].

use super::Planning;
use crate::plan::gates::{Gate, Scene, retire_floor};
use crate::plan::step::Step;
use crate::plan::view::NodeView;

impl Planning<'_> {
    /// Soak the new nodes before any old one is retired. A clean rollback keeps nodes that ran
    /// all along: nothing new to soak. One that rolled forward launched replacements (they are
    /// among the nodes it launched): those are soaked, also once they are all trusted.
    pub(super) fn soak_before_retiring(&mut self) {
        let rolled_forward = self.split.new.iter().any(|n| self.ours(n));
        let clean_rollback = self.ctx.abandon.is_some() && self.need_new == 0 && !rolled_forward;
        if !self.split.old.is_empty() && self.ctx.soaked_new < self.ctx.desired && !clean_rollback {
            self.push(self.soak_step(), Gate::Soak, false);
        }
    }

    /// One retirement per old node, as long as the floor holds; the gate of the first is
    /// checked on the service as it is when it is the next step.
    pub(super) fn retirements(&mut self) {
        let view = self.view;
        let primary = |n: &NodeView| view.primary.as_deref() == Some(n.node_id.as_str());
        let mut order: Vec<&NodeView> = self.split.old.clone();
        order.sort_by_key(|n| (primary(n), n.node_id.clone()));
        let planning_ahead = !self.out.steps.is_empty();
        let gate = Gate::RetireNode {
            min_fault_tolerance: self.ctx.min_fault_tolerance,
        };
        for n in order {
            if let Err(why) = retire_floor(&n.node_id, self.trusted, self.ctx.min_fault_tolerance) {
                self.out.blocked.get_or_insert(why);
                break;
            }
            let step = Step::RetireNode {
                node_id: n.node_id.clone(),
                address: n.address.clone(),
                primary: primary(n),
            };
            if !planning_ahead && self.out.blocked.is_none() {
                // The next step is this retirement: its gate must hold on the service as it is.
                let scene = Scene {
                    view,
                    target: &self.spec.target,
                    trusted: self.trusted,
                };
                self.out.blocked = gate.check(&step, &scene).err();
            }
            self.trusted -= 1;
            self.push(step, gate.clone(), false);
        }
    }
}
