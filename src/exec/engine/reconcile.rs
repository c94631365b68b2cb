//! The loop: observe → plan → check the next step's gate → run it → report, until nothing
//! is left, the run is told to stop, or a step fails.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Engine, EngineError, FinalizePolicy, Outcome};
use crate::exec::events::Event;
use crate::exec::hooks::HookPoint;
use crate::exec::steps::{self, StepError, run_hook};
use crate::observe::Observation;
use crate::plan::{PlannedStep, ServiceView, Step};
use crate::wait::Poller;

impl Engine {
    /// Run the upgrade to completion.
    pub(crate) async fn run(&mut self) -> Result<Outcome, EngineError> {
        if let Some(settled) = self.begin().await? {
            return settled;
        }
        loop {
            if let Some(outcome) = self.turn().await? {
                return Ok(outcome);
            }
        }
    }

    /// Everything before the first step: adopt what an earlier run left in flight, plan,
    /// report the start, preflight, and (rolling back) withdraw the abandoned upgrade's
    /// proposals. `Some`: how the run ends without a step.
    async fn begin(&mut self) -> Result<Option<Result<Outcome, EngineError>>, EngineError> {
        let (obs, view) = self.observe().await?;
        // A certificate validity the service refuses would fail every trust proposal: said
        // now, before anything is written.
        self.node_cert_validity(&obs).await?;
        // Launches an earlier run left in flight come first: adopted once their node is
        // Pending, cancelled by name if it never comes, before anything new is launched.
        let (obs, view) = if !self.options.in_flight.is_empty() && self.ctx.is_none() {
            self.settle_in_flight(obs, view).await?
        } else {
            (obs, view)
        };
        let plan = self.plan_for(&view);
        if let Some(settled) = self.settled(&plan) {
            for w in &plan.warnings {
                self.report(Event::Warning { message: w.clone() });
            }
            return Ok(Some(settled));
        }
        self.report(Event::RunStarted {
            run_id: self.run_id.clone(),
            target: self.spec.target.reference(),
            // A rollback's steps in its own words, as its progress lines have them.
            steps: plan.worded_for(self.options.rollback.is_some()).steps,
            rollback: self.options.rollback.is_some(),
            from: match self.options.rollback {
                Some(_) => None,
                None => crate::plan::rollback::running_build(&view, &self.spec.target)
                    .map(|t| t.reference()),
            },
        });
        for w in &plan.warnings {
            self.report(Event::Warning { message: w.clone() });
        }
        // An election in progress (often the one a previous run's retirement started) ends
        // by itself: wait for it, bounded, rather than refuse.
        let (obs, view) = if view.primary.is_none() {
            self.wait_for_primary().await?
        } else {
            (obs, view)
        };
        let failed: Vec<String> = self
            .preflight(&obs, &view)
            .await
            .into_iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        if !failed.is_empty() {
            return Err(EngineError::Preflight { failed });
        }
        if self.options.rollback.is_some() {
            steps::rollback::withdraw_own_proposals(&self.gov, &*self.reporter, &obs).await;
        }
        Ok(None)
    }

    /// One turn: observe, plan, check the next step's gate, run the step. `Some`: the run is
    /// over.
    async fn turn(&mut self) -> Result<Option<Outcome>, EngineError> {
        let (_, view) = self.observe().await?;
        self.gov.set_nodes(self.observer.node_order(Some(&view)));
        let plan = self.plan_for(&view);
        let Some(next) = plan.steps.first().cloned() else {
            return Ok(Some(Outcome::Upgraded {
                steps: self.executed,
            }));
        };
        if self.finalize() == FinalizePolicy::Hold && matches!(next.step, Step::Finalize { .. }) {
            return Ok(Some(Outcome::FinalizePending {
                steps: self.executed,
            }));
        }
        let description = next.step.describe_for(self.options.rollback.is_some());
        if self.cancel.is_cancelled() {
            return Err(EngineError::Cancelled { step: description });
        }
        if let Some(reason) = plan.launch_budget_spent {
            return Err(EngineError::LaunchBudgetSpent { reason });
        }
        if plan.blocked.is_some()
            && matches!(next.step, Step::RetireNode { .. } | Step::Finalize { .. })
        {
            self.wait_for_gate(&description).await?;
            return Ok(None);
        }
        let repeat_key = format!("{:?} {}", next.step, crate::plan::saved::fingerprint(&view));
        if !self.budget.attempt(&repeat_key) {
            return Err(EngineError::Step {
                step: description,
                new_node: false,
                source: StepError::Other(
                    "the step ran three times on an unchanged service without taking effect".into(),
                ),
            });
        }
        self.run_step(&next, &view, description, &repeat_key)
            .await?;
        Ok(None)
    }

    /// Run `next`, reporting its start and end.
    async fn run_step(
        &mut self,
        next: &PlannedStep,
        view: &ServiceView,
        description: String,
        repeat_key: &str,
    ) -> Result<(), EngineError> {
        self.executed += 1;
        let index = self.executed;
        self.report(Event::StepStarted {
            index,
            description: description.clone(),
            f_after: next.f_after,
        });
        let started = Instant::now();
        let result = steps::execute(&mut self.step_cx(), &next.step, view).await;
        if let Err(source) = result {
            return self
                .step_failed(source, &next.step, index, description, repeat_key)
                .await;
        }
        self.report(Event::StepFinished {
            index,
            description,
            elapsed: started.elapsed(),
        });
        Ok(())
    }

    /// Step `index` failed: `Ok` when the failure was transient and the loop should look at
    /// the service again, else why the run stops (after the `on_failure` hook).
    async fn step_failed(
        &mut self,
        source: StepError,
        step: &Step,
        index: usize,
        description: String,
        repeat_key: &str,
    ) -> Result<(), EngineError> {
        if source.cancelled() || self.cancel.is_cancelled() {
            return Err(EngineError::Cancelled { step: description });
        }
        // The service did not answer (after the client's own retries): look again and
        // re-plan, as a re-run after a crash would. Bounded per run.
        if source.transient()
            && let Some(pause) = self.budget.transient(repeat_key)
        {
            self.report(Event::Warning {
                message: format!(
                    "step {index} ({description}) was interrupted by a transient failure ({}); looking at the service again",
                    crate::error_chain::one_line(&source)
                ),
            });
            if !self.cancel.sleep(pause).await {
                return Err(EngineError::Cancelled { step: description });
            }
            return Ok(());
        }
        let context = json!({ "step": description, "error": crate::error_chain::render(&source) });
        let _ = run_hook(
            &self.hooks,
            &self.run_id,
            &*self.reporter,
            HookPoint::OnFailure,
            None,
            context,
        )
        .await;
        // A launcher or hook that cannot be run is the plan's mistake: stop, fix, re-run.
        let new_node = self.options.rollback.is_none()
            && !source.is_configuration()
            && matches!(
                step,
                Step::LaunchNodes { .. } | Step::TrustNodes { .. } | Step::Soak { .. }
            );
        Err(EngineError::Step {
            step: description,
            new_node,
            source,
        })
    }

    /// Re-observe until the service has a primary, for at most a step timeout; returns the
    /// last observation either way (preflight then says what it sees).
    async fn wait_for_primary(&mut self) -> Result<(Observation, ServiceView), EngineError> {
        self.report(Event::Waiting {
            what: "a primary (an election is in progress)".into(),
        });
        let deadline = Instant::now() + self.spec.safety.step_timeout;
        let mut poller = Poller::new(Duration::from_millis(100), Duration::from_secs(1));
        loop {
            let (obs, view) = self.observe().await?;
            if view.primary.is_some() || Instant::now() >= deadline {
                return Ok((obs, view));
            }
            if !self.cancel.sleep(poller.next_delay()).await {
                return Err(EngineError::Cancelled {
                    step: "preflight".into(),
                });
            }
        }
    }

    /// Re-observe until the next retirement's gate holds (or time out): re-plan, whose
    /// `blocked` is the gates' own check ([`crate::plan::gates::Gate::check`] for the next step,
    /// [`crate::plan::gates::retire_floor`] for the retirements after it), for at most a step
    /// timeout.
    async fn wait_for_gate(&mut self, step: &str) -> Result<(), EngineError> {
        self.report(Event::Waiting {
            what: format!("the gate of: {step}"),
        });
        let deadline = Instant::now() + self.spec.safety.step_timeout;
        let mut poller = Poller::new(Duration::from_millis(100), Duration::from_secs(2));
        loop {
            let (_, view) = self.observe().await?;
            let plan = self.plan_for(&view);
            match plan.blocked {
                None => return Ok(()),
                Some(reason) if Instant::now() >= deadline => {
                    return Err(EngineError::Blocked {
                        step: step.into(),
                        reason,
                    });
                }
                Some(_) => {
                    if !self.cancel.sleep(poller.next_delay()).await {
                        return Err(EngineError::Cancelled { step: step.into() });
                    }
                }
            }
        }
    }
}
