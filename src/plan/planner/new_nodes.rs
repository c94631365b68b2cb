//! New nodes: register the target code version, then launch and trust them in rounds (a
//! canary first, one at a time when sequential), trusting in batches the caught-up nodes can
//! commit without.

use super::{Planning, RunContext};
use crate::ccf::types::short_id;
use crate::plan::gates::{Gate, f_during_catch_up, trust_batch_limit};
use crate::plan::spec::{Strategy, UpgradeSpec};
use crate::plan::step::Step;
use crate::plan::view::ServiceView;

impl Planning<'_> {
    /// The register, canary soak, launch and trust steps.
    pub(super) fn new_nodes(&mut self) {
        if self.need_new == 0 {
            return;
        }
        let spec = self.spec;
        let have = self.split.new.len();
        let sequential = spec.nodes.strategy == Strategy::Sequential;
        // A canary: the first nodes are launched, trusted and soaked before the rest.
        let canary = spec.nodes.canary.min(self.ctx.desired);
        let canary_round = canary > 0 && have < canary;
        let canary_unsoaked =
            canary > 0 && have >= canary && self.need_new > 0 && self.ctx.soaked_new < canary;
        let register = spec.target.register_actions(&self.view.join_policy);
        if !register.is_empty() {
            self.push(
                Step::RegisterCode { actions: register },
                Gate::RegisterCode,
                false,
            );
        }
        if canary_unsoaked {
            self.push(self.soak_step(), Gate::CanarySoak, false);
        }
        let mut launches_left = self.ctx.launches_left();
        let mut remaining = self.need_new;
        let mut round = if canary_round {
            canary - have
        } else if sequential {
            self.need_new.min(1)
        } else {
            self.need_new
        };
        let mut first_round = true;
        while remaining > 0 {
            launches_left -= self.launch_round(round, remaining, launches_left, first_round);
            self.trust_round(round, first_round);
            remaining -= round;
            if first_round && canary_round && remaining > 0 {
                self.push(self.soak_step(), Gate::CanarySoak, false);
            }
            first_round = false;
            round = if sequential { 1 } else { remaining };
        }
    }

    /// The soak step of the plan file.
    pub(super) fn soak_step(&self) -> Step {
        Step::Soak {
            duration: self.spec.safety.soak,
        }
    }

    /// Launch what a round of `round` nodes lacks beyond the Pending ones waiting, within the
    /// launch budget (saying so when it runs out). Returns the launches planned.
    fn launch_round(
        &mut self,
        round: usize,
        remaining: usize,
        launches_left: usize,
        first_round: bool,
    ) -> usize {
        let to_launch = round.saturating_sub(self.waiting.len());
        let launch_now = to_launch.min(launches_left);
        if launch_now < to_launch && self.out.launch_budget_spent.is_none() {
            self.out.launch_budget_spent =
                Some(budget_spent(self.view, self.spec, self.ctx, remaining));
        }
        if launch_now > 0 && self.ctx.fresh_snapshot && self.ctx.snapshot.is_none() {
            let planned = self.out.steps.iter().any(|p| p.step == Step::FreshSnapshot);
            if !planned {
                self.push(Step::FreshSnapshot, Gate::FreshSnapshot, false);
            }
        }
        if launch_now > 0 {
            let gate = if first_round {
                Gate::FirstLaunch
            } else {
                Gate::NextLaunch
            };
            self.push(Step::LaunchNodes { count: launch_now }, gate, false);
        }
        launch_now
    }

    /// Trust a round of `round` nodes in batches the caught-up nodes can commit without.
    fn trust_round(&mut self, round: usize, first_round: bool) {
        let mut left = round;
        while left > 0 {
            let k = left.min(trust_batch_limit(self.trusted, self.caught_up));
            let take = k.min(self.waiting.len());
            let node_ids: Vec<String> = self.waiting.drain(..take).collect();
            let during = f_during_catch_up(self.trusted, self.caught_up, k);
            self.trusted += k;
            let gate = if first_round && left == round {
                Gate::FirstTrust
            } else {
                Gate::NextTrust
            };
            self.push(Step::TrustNodes { node_ids, count: k }, gate, false);
            if let Some(last) = self.out.steps.last_mut() {
                last.f_during_catch_up = Some(during.unwrap_or(0));
                last.stalls_writes = during.is_none();
            }
            self.caught_up += k;
            left -= k;
        }
    }
}

/// Why the launch budget cannot finish the job: each node this run launched and what became
/// of it.
fn budget_spent(view: &ServiceView, spec: &UpgradeSpec, ctx: &RunContext, need: usize) -> String {
    let fates: Vec<String> = ctx
        .launched
        .iter()
        .map(|l| {
            let name = l
                .node_id
                .as_deref()
                .map(|id| short_id(id).to_string())
                .or_else(|| l.rpc_address.as_ref().map(ToString::to_string))
                .unwrap_or_else(|| "?".into());
            let fate = match view.nodes.iter().find(|n| l.is(n)) {
                None => "not in the node table (never joined, or removed)".to_string(),
                Some(n) => match (&n.claims, n.status) {
                    (Some(c), _) if !spec.target.matches(c) => format!(
                        "{} but attests host data {}…, not the target",
                        n.status.as_str(),
                        short_id(&c.host_data)
                    ),
                    (_, status) => format!("{} (counted)", status.as_str()),
                },
            };
            format!("{name}: {fate}")
        })
        .collect();
    format!(
        "the launch budget is spent: this run launched {} (at most {}: [nodes] count) and the target still needs {need} more; {}; fix the launcher or the nodes, then re-run",
        crate::english::count(ctx.launches, "node"),
        ctx.launch_budget.unwrap_or(ctx.desired),
        if fates.is_empty() {
            "no launched node is known".to_string()
        } else {
            fates.join("; ")
        }
    )
}
