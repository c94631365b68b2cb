//! The execution engine: a reconciler. Each turn it observes the service, plans the steps still
//! needed (a pure function), checks the next step's gate against what it just saw, and runs
//! that one step, whose every wait is bounded by `[safety] step_timeout` and cancellable. It
//! never prints: it emits [`Event`]s to a [`Reporter`].
//!
//! This file wires an engine and answers what commands ask before and after a run; the loop
//! is in `reconcile`, the launches an earlier run left in flight in `in_flight`, the steps in
//! [`super::steps`] and the checks before the first step in [`super::preflight`].

mod in_flight;
mod reconcile;

use std::path::PathBuf;
use std::sync::Arc;

use super::budget::Budget;
use super::events::{Event, Reporter};
use super::hooks::HookRunner;
use super::launcher::CommandLauncher;
use super::observer::{Observer, PrimaryStart};
use super::preflight::Preflight;
use super::steps::StepCx;
use crate::ccf::governance::{GovEvent, Governance};
use crate::ccf::{CcfClient, NodeAddr};
use crate::observe::Observation;
use crate::plan::planner;
use crate::plan::{Launched, Plan, RunContext, ServiceView, Step, UpgradeSpec};
use crate::wait::Cancel;

pub(crate) use super::error::EngineError;
pub(crate) use super::options::{FinalizePolicy, RunOptions};
pub(crate) use super::preflight::Check;
pub(crate) use crate::observe::view_of;

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The service already runs the target.
    NothingToDo,
    /// The upgrade completed.
    Upgraded {
        /// Steps executed.
        steps: usize,
    },
    /// Everything but finalize is done (`[safety] finalize = "manual"`): the old code version
    /// is still registered, so its nodes could still join.
    FinalizePending {
        /// Steps executed.
        steps: usize,
    },
    /// A rollback completed: the service runs the previous version again (the engine
    /// reports [`Outcome::Upgraded`]; commands name it).
    RolledBack {
        /// Steps executed.
        steps: usize,
    },
}

/// What an engine talks to and through.
pub(crate) struct EngineParts {
    /// The patient client (retries).
    pub client: CcfClient,
    /// The quick client, for per-node probes.
    pub probe: CcfClient,
    /// Proposals and ballots of the configured members.
    pub gov: Governance,
    /// The plan's service addresses.
    pub seeds: Vec<NodeAddr>,
    /// The service certificate file, for launched nodes to join with.
    pub service_cert: PathBuf,
    /// Starts and stops nodes.
    pub launcher: CommandLauncher,
    /// The plan's hooks.
    pub hooks: HookRunner,
    /// Where events go.
    pub reporter: Arc<dyn Reporter>,
    /// Ctrl-C / SIGTERM.
    pub cancel: Cancel,
    /// The primary's startup seqno, shared by the command's engines.
    pub primary_start: PrimaryStart,
}

/// Everything a run needs.
pub(crate) struct Engine {
    client: CcfClient,
    probe: CcfClient,
    gov: Governance,
    service_cert: PathBuf,
    spec: UpgradeSpec,
    launcher: CommandLauncher,
    hooks: HookRunner,
    reporter: Arc<dyn Reporter>,
    cancel: Cancel,
    run_id: String,
    /// What the run was asked to do; `adopted` grows as launches left in flight are adopted,
    /// `in_flight` empties once they are settled.
    options: RunOptions,
    observer: Observer,
    ctx: Option<RunContext>,
    executed: usize,
    budget: Budget,
}

impl Engine {
    /// This run's id.
    pub(crate) fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Wire an engine for `spec`, run as `options` say.
    pub(crate) fn new(parts: EngineParts, spec: UpgradeSpec, options: RunOptions) -> Self {
        let gov = parts
            .gov
            .with_observer(governance_reporter(parts.reporter.clone()));
        let run_id = format!("{:x}", jiff::Timestamp::now().as_millisecond());
        Engine {
            observer: Observer::new(
                parts.client.clone(),
                parts.probe.clone(),
                parts.seeds,
                parts.cancel.clone(),
                parts.primary_start,
            ),
            client: parts.client,
            probe: parts.probe,
            gov,
            service_cert: parts.service_cert,
            spec,
            launcher: parts.launcher,
            hooks: parts.hooks,
            reporter: parts.reporter,
            cancel: parts.cancel,
            run_id,
            options,
            ctx: None,
            executed: 0,
            budget: Budget::default(),
        }
    }

    /// What this run is asked to do, to complete before it first plans (a preview learns which
    /// nodes to adopt from its first look).
    pub(crate) fn options_mut(&mut self) -> &mut RunOptions {
        &mut self.options
    }

    /// Every node this run launched or adopted (what a rollback after it must clean up).
    pub(crate) fn launched(&self) -> Vec<Launched> {
        match &self.ctx {
            Some(c) => c.launched.clone(),
            None => self.options.adopted.clone(),
        }
    }

    /// Whether this run may take the finalize step.
    fn finalize(&self) -> FinalizePolicy {
        self.options.finalize_policy(&self.spec)
    }

    /// How a run on `plan` ends without executing anything, if it does: nothing to do, only
    /// a held finalize left, or a finalize-only run with other steps remaining.
    pub(crate) fn settled(&self, plan: &Plan) -> Option<Result<Outcome, EngineError>> {
        let only_finalize = plan
            .steps
            .iter()
            .all(|s| matches!(s.step, Step::Finalize { .. }));
        match self.finalize() {
            _ if plan.is_done() => Some(Ok(Outcome::NothingToDo)),
            FinalizePolicy::Hold if only_finalize => {
                Some(Ok(Outcome::FinalizePending { steps: 0 }))
            }
            FinalizePolicy::Only if !only_finalize => Some(Err(EngineError::NotReadyToFinalize {
                remaining: plan
                    .steps
                    .iter()
                    .filter(|s| !matches!(s.step, Step::Finalize { .. }))
                    .map(|s| s.step.describe())
                    .collect(),
            })),
            _ => None,
        }
    }

    fn report(&self, e: Event) {
        self.reporter.report(&e);
    }

    /// Observe the service (read-only), through the nodes seen last time and then the plan's
    /// addresses: the plan may name nodes this run has since retired.
    pub(crate) async fn observe(&mut self) -> Result<(Observation, ServiceView), EngineError> {
        self.observer.look().await
    }

    /// The validity this run's trust proposals carry; a plan value above the service's
    /// maximum is refused here, before anything is written (exit 64).
    pub(crate) async fn node_cert_validity(
        &self,
        obs: &Observation,
    ) -> Result<crate::plan::certs::NodeCertValidity, EngineError> {
        use super::certs::{ValidityError, read_node_cert_validity};
        let at = [obs.answered_by.clone()];
        read_node_cert_validity(&self.client, &at, &self.spec)
            .await
            .map_err(|e| match e {
                ValidityError::Refused(why) => EngineError::Config(why),
                ValidityError::Client(c) => crate::observe::ObserveError::Client(c).into(),
            })
    }

    /// Steps this engine started (a step that failed included).
    pub(crate) fn executed(&self) -> usize {
        self.executed
    }

    /// Nodes of the service as last observed, then the plan's addresses.
    pub(crate) fn known_nodes(&self) -> Vec<NodeAddr> {
        self.observer.known_nodes()
    }

    /// The plan for what was just observed (resolving the run's numbers on first use).
    pub(crate) fn plan_for(&mut self, view: &ServiceView) -> Plan {
        // The budget is the upgrade's, not one process's: launches of the unfinished runs
        // this one continues (from the journal) count, so re-running never adds nodes.
        let earlier_launches = self.options.adopted.len() + self.options.in_flight.len();
        if self.ctx.is_none() && (!self.options.in_flight.is_empty() || self.options.adopting) {
            // Nodes whose launch answer a crash lost (or, with a bare `--adopt`, every node
            // of an upgrade started elsewhere): Pending, on the target, unaccounted for.
            let take = if self.options.adopting {
                usize::MAX
            } else {
                self.options.in_flight.len()
            };
            let found = in_flight::unclaimed_pending(view, &self.spec, &self.options.adopted, take);
            self.options.adopted.extend(found);
        }
        let ctx = self.ctx.get_or_insert_with(|| {
            let abandon = self.options.rollback.clone();
            let (desired, min_fault_tolerance) = match &abandon {
                Some(_) => crate::plan::rollback::resolve_context(view, &self.spec),
                None => planner::resolve_context(view, &self.spec),
            };
            RunContext {
                launched: self.options.adopted.clone(),
                soaked_new: 0,
                desired,
                min_fault_tolerance,
                launches: if abandon.is_some() {
                    0
                } else {
                    earlier_launches
                },
                abandon,
                stopped: Vec::new(),
                launch_budget: None,
                retired: Vec::new(),
                fresh_snapshot: crate::plan::snapshot::fresh_snapshot_wanted(&self.spec, view),
                snapshot: None,
            }
        });
        // The primary's startup seqno is read once a primary is known: a run that first
        // planned during an election may learn it later. Turned on before any launch, the
        // default still guards them all; it is never turned off.
        if !ctx.fresh_snapshot && ctx.launches == 0 && ctx.launched.is_empty() {
            ctx.fresh_snapshot = crate::plan::snapshot::fresh_snapshot_wanted(&self.spec, view);
        }
        planner::plan(view, &self.spec, ctx)
    }

    /// Preflight checks (read-only), each reported.
    pub(crate) async fn preflight(&mut self, obs: &Observation, view: &ServiceView) -> Vec<Check> {
        let checks = Preflight {
            client: &self.client,
            probe: &self.probe,
            cancel: &self.cancel,
            spec: &self.spec,
            gov: &self.gov,
            launcher: &self.launcher,
            options: &self.options,
            ctx: self.ctx.as_ref(),
        }
        .run(obs, view)
        .await;
        for c in &checks {
            self.report(Event::PreflightChecked {
                check: c.name.into(),
                ok: c.ok,
                detail: c.detail.clone(),
            });
            if c.notice == Some(super::preflight::Notice::Warning) {
                self.report(Event::Warning {
                    message: c.detail.clone(),
                });
            }
        }
        checks
    }

    /// What a step works with (after the first plan).
    fn step_cx(&mut self) -> StepCx<'_> {
        StepCx {
            client: &self.client,
            probe: &self.probe,
            gov: &mut self.gov,
            spec: &self.spec,
            launcher: &self.launcher,
            hooks: &self.hooks,
            reporter: &*self.reporter,
            cancel: &self.cancel,
            run_id: &self.run_id,
            service_cert: &self.service_cert,
            run: self.ctx.get_or_insert_with(RunContext::default),
            observer: &mut self.observer,
        }
    }
}

/// A governance observer that reports what governance does as [`Event`]s.
fn governance_reporter(r: Arc<dyn Reporter>) -> crate::ccf::governance::GovObserver {
    Arc::new(move |e: &GovEvent| match e {
        GovEvent::Proposed {
            proposal_id,
            actions,
            ..
        } => r.report(&Event::ProposalSubmitted {
            proposal_id: proposal_id.clone(),
            actions: actions.clone(),
        }),
        GovEvent::WaitingForMembers {
            proposal_id,
            needed,
            voted,
        } => r.report(&Event::WaitingForMembers {
            proposal_id: proposal_id.clone(),
            needed: *needed,
            votes_cast: *voted,
        }),
        GovEvent::Restamped { created_at } => r.report(&Event::Warning {
            message: format!("the service refused a stale created_at; re-signed with {created_at}"),
        }),
        GovEvent::Voted { .. } => {}
    })
}
