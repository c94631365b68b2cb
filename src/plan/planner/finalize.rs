//! Finalize: remove the old code version (the point of no return) once no old node is left.

use super::Planning;
use crate::plan::gates::{Gate, Scene};
use crate::plan::spec::FinalizeMode;
use crate::plan::step::Step;

impl Planning<'_> {
    /// The finalize step, behind [`Gate::Finalize`].
    pub(super) fn finalize(&mut self) {
        let finalize = self.spec.target.finalize_actions(&self.view.join_policy);
        let old_remains = !self.split.old.is_empty()
            || self
                .out
                .steps
                .iter()
                .any(|s| matches!(s.step, Step::RetireNode { .. }));
        if finalize.is_empty() || !(old_remains || self.out.blocked.is_none()) {
            return;
        }
        let gate = Gate::Finalize {
            manual: self.spec.safety.finalize == FinalizeMode::Manual,
        };
        let step = Step::Finalize { actions: finalize };
        if self.out.blocked.is_none() && self.out.steps.is_empty() {
            // The next step is finalize: its gate must hold on the service as it is.
            let scene = Scene {
                view: self.view,
                target: &self.spec.target,
                trusted: self.trusted,
            };
            self.out.blocked = gate.check(&step, &scene).err();
        }
        self.push(step, gate, true);
    }
}
