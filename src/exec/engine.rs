//! The execution engine: a reconciler. Each turn it observes the service, plans the steps still
//! needed (a pure function), checks the next step's gate against what it just saw, and runs
//! that one step, whose every wait is bounded by `[safety] step_timeout` and cancellable. It
//! never prints: it emits [`Event`]s to a [`Reporter`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::events::{Event, Reporter};
use super::hooks::{HookError, HookPoint, HookRunner};
use super::launcher::{CommandLauncher, LaunchError, LaunchRequest};
use crate::ccf::governance::{GovError, GovEvent, Governance};
use crate::ccf::types::{Action, NodeStatus, ProposalBody, ProposalState};
use crate::ccf::{CcfClient, ClientError, NodeAddr, NodeFilter, Retry};
use crate::observe::Observation;
pub use crate::observe::view_of;
use crate::plan::planner::{self, Abandon, majority};
use crate::plan::{Launched, NodeView, Plan, RunContext, ServiceView, Step, UpgradeSpec};
use crate::wait::{Cancel, Poller, Probe, WaitError, wait_until};

/// Actions whose presence in an open proposal means an upgrade is in progress.
const UPGRADE_ACTIONS: &[&str] = &[
    "add_virtual_host_data",
    "remove_virtual_host_data",
    "add_virtual_measurement",
    "remove_virtual_measurement",
    "add_snp_measurement",
    "remove_snp_measurement",
    "add_snp_host_data",
    "remove_snp_host_data",
    "add_snp_uvm_endorsement",
    "remove_snp_uvm_endorsement",
    "transition_node_to_trusted",
    "remove_node",
];

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A precondition failed; nothing was changed.
    #[error("preflight failed: {}", .failed.join("; "))]
    Preflight {
        /// Failed checks.
        failed: Vec<String>,
    },
    /// The next step's gate did not hold in time.
    #[error("step {step} is blocked: {reason}")]
    Blocked {
        /// Step description.
        step: String,
        /// Why.
        reason: String,
    },
    /// A step failed.
    #[error("step {step} failed")]
    Step {
        /// Step description.
        step: String,
        /// A new node failed to join, attest, catch up or stay healthy: what
        /// `[safety] on_failure = "rollback"` rolls back.
        new_node: bool,
        /// Why.
        #[source]
        source: StepError,
    },
    /// The run launched as many nodes as the plan asks for and the target still lacks
    /// nodes: it stops rather than launch more.
    #[error("{reason}")]
    LaunchBudgetSpent {
        /// The launched nodes and why none qualified.
        reason: String,
    },
    /// `noderoll finalize` before the rest of the upgrade is done.
    #[error(
        "not ready to finalize: {} step(s) of the upgrade remain (next: {}); run `noderoll apply` first",
        .remaining.len(),
        .remaining.first().map(String::as_str).unwrap_or("-")
    )]
    NotReadyToFinalize {
        /// Descriptions of the steps left before finalize.
        remaining: Vec<String>,
    },
    /// Ctrl-C / SIGTERM.
    #[error("interrupted during step {step}; re-run the same command to continue")]
    Cancelled {
        /// Step description.
        step: String,
    },
    /// The service could not be observed.
    #[error(transparent)]
    Observe(Box<crate::observe::ObserveError>),
}

impl From<crate::observe::ObserveError> for EngineError {
    fn from(e: crate::observe::ObserveError) -> Self {
        // A look cut short by a stop request is an interruption, not an unreachable service.
        if e.is_cancelled() {
            EngineError::Cancelled {
                step: "observe the service".into(),
            }
        } else {
            EngineError::Observe(Box::new(e))
        }
    }
}

/// What went wrong inside a step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Governance.
    #[error(transparent)]
    Gov(#[from] GovError),
    /// A request.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A wait.
    #[error(transparent)]
    Wait(#[from] WaitError<ClientError>),
    /// The launcher.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// A gating hook.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// Anything else, described.
    #[error("{0}")]
    Other(String),
}

/// A new node the primary has not heard from for longer than this (its consensus `acks`)
/// is not healthy: well above CCF's 100 ms message timeout, below its 5 s election timeout.
const ACK_SILENCE_MS: u64 = 3_000;

/// Transient failures a run rides out by re-observing and re-planning.
const MAX_TRANSIENT_FAILURES: usize = 8;

impl StepError {
    /// A request that failed for a reason that passes (unreachable, busy, reset), after the
    /// client's own retries.
    fn transient(&self) -> bool {
        let transient = |c: &ClientError| matches!(c.retry(), Retry::Transient(_));
        match self {
            StepError::Client(c) | StepError::Gov(GovError::Client(c)) => transient(c),
            _ => false,
        }
    }

    fn cancelled(&self) -> bool {
        matches!(
            self,
            StepError::Wait(WaitError::Cancelled { .. })
                | StepError::Gov(GovError::Wait(WaitError::Cancelled { .. }))
        )
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
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

/// Whether this run may take the finalize step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalizePolicy {
    /// Finalize as the last step.
    Auto,
    /// Stop before finalize (`[safety] finalize = "manual"`).
    Hold,
    /// Only finalize, refusing while any other step remains (`noderoll finalize`).
    Only,
}

/// A preflight check's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Name.
    pub name: &'static str,
    /// Passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

/// Everything a run needs.
pub struct Engine {
    client: CcfClient,
    probe: CcfClient,
    gov: Governance,
    seeds: Vec<NodeAddr>,
    service_cert: PathBuf,
    spec: UpgradeSpec,
    launcher: CommandLauncher,
    hooks: HookRunner,
    reporter: Arc<dyn Reporter>,
    cancel: Cancel,
    run_id: String,
    ctx: Option<RunContext>,
    known: Vec<NodeAddr>,
    probes: crate::observe::ProbeCache,
    executed: usize,
    repeats: BTreeMap<String, usize>,
    allow_downgrade: bool,
    allow_version_jump: bool,
    adopted: Vec<Launched>,
    in_flight: Vec<String>,
    resuming: bool,
    transient_failures: usize,
    adopting: bool,
    abandon: Option<Abandon>,
    finalize: FinalizePolicy,
}

impl Engine {
    /// Wire an engine. `seeds` are the plan's service addresses.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: CcfClient,
        probe: CcfClient,
        gov: Governance,
        seeds: Vec<NodeAddr>,
        service_cert: PathBuf,
        spec: UpgradeSpec,
        launcher: CommandLauncher,
        hooks: HookRunner,
        reporter: Arc<dyn Reporter>,
        cancel: Cancel,
    ) -> Self {
        let finalize = match spec.safety.finalize {
            crate::plan::spec::FinalizeMode::Auto => FinalizePolicy::Auto,
            crate::plan::spec::FinalizeMode::Manual => FinalizePolicy::Hold,
        };
        let r = reporter.clone();
        let gov = gov.with_observer(Arc::new(move |e: &GovEvent| match e {
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
                ..
            } => r.report(&Event::WaitingForMembers {
                proposal_id: proposal_id.clone(),
                needed: *needed,
            }),
            GovEvent::Restamped { created_at } => r.report(&Event::Warning {
                message: format!(
                    "the service refused a stale created_at; re-signed with {created_at}"
                ),
            }),
            GovEvent::Voted { .. } => {}
        }));
        let run_id = format!("{:x}", jiff::Timestamp::now().as_millisecond());
        Engine {
            client,
            probe,
            gov,
            seeds,
            service_cert,
            spec,
            launcher,
            hooks,
            reporter,
            cancel,
            run_id,
            ctx: None,
            known: Vec::new(),
            probes: Default::default(),
            executed: 0,
            repeats: BTreeMap::new(),
            allow_downgrade: false,
            allow_version_jump: false,
            adopted: Vec::new(),
            in_flight: Vec::new(),
            resuming: false,
            transient_failures: 0,
            adopting: false,
            abandon: None,
            finalize,
        }
    }

    /// Let the version guard pass a downgrade and/or a skipped major version.
    pub fn allow_versions(&mut self, downgrade: bool, major_jump: bool) {
        self.allow_downgrade = downgrade;
        self.allow_version_jump = major_jump;
    }

    /// Treat these nodes (launched by an earlier run that did not finish, from the journal) as
    /// launched by this run: trusted if they are Pending with the target attestation, never
    /// launched again.
    pub fn adopt(&mut self, launched: Vec<Launched>) {
        self.adopted = launched;
    }

    /// Launches of an unfinished run that were in flight when it stopped (their names):
    /// that many Pending nodes of the target, not otherwise accounted for, are this run's;
    /// `run` waits for them (bounded by `launch_timeout`) and cancels those that never come.
    pub fn adopt_in_flight(&mut self, names: Vec<String>) {
        self.in_flight = names;
    }

    /// This run continues one the journal shows unfinished: its members' open proposals are
    /// its own to finish, not a conflicting upgrade.
    pub fn set_resuming(&mut self, resuming: bool) {
        self.resuming = resuming;
    }

    /// `apply --adopt` with no node named: continue an upgrade started elsewhere. Every
    /// Pending node attesting the target is this run's, and the configured members' open
    /// proposals are this run's to finish.
    pub fn set_adopting(&mut self, adopting: bool) {
        self.adopting = adopting;
    }

    /// Make this a rollback: the spec's target is the version to go back to, `abandon` the
    /// upgrade given up. The version guard does not apply (going back is the point) and the
    /// abandoned version is deregistered at the end without waiting for `noderoll finalize`.
    pub fn set_rollback(&mut self, abandon: Abandon) {
        self.abandon = Some(abandon);
        self.allow_downgrade = true;
        self.allow_version_jump = true;
        self.resuming = true;
        self.finalize = FinalizePolicy::Auto;
    }

    /// Every node this run launched or adopted (what a rollback after it must clean up).
    pub fn launched(&self) -> Vec<Launched> {
        match &self.ctx {
            Some(c) => c.launched.clone(),
            None => self.adopted.clone(),
        }
    }

    /// Override `[safety] finalize` (`noderoll finalize` uses [`FinalizePolicy::Only`]).
    pub fn set_finalize(&mut self, policy: FinalizePolicy) {
        self.finalize = policy;
    }

    /// How a run on `plan` ends without executing anything, if it does: nothing to do, only
    /// a held finalize left, or a finalize-only run with other steps remaining.
    pub fn settled(&self, plan: &Plan) -> Option<Result<Outcome, EngineError>> {
        let only_finalize = plan
            .steps
            .iter()
            .all(|s| matches!(s.step, Step::Finalize { .. }));
        match self.finalize {
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

    /// This run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    fn report(&self, e: Event) {
        self.reporter.report(&e);
    }

    /// Observe the service (read-only), through the nodes seen last time and then the plan's
    /// addresses: the plan may name nodes this run has since retired.
    pub async fn observe(&mut self) -> Result<(Observation, ServiceView), EngineError> {
        let mut order = self.known.clone();
        order.extend(
            self.node_order(None)
                .into_iter()
                .filter(|a| !self.known.contains(a)),
        );
        // An observation reads a dozen endpoints; on a busy service one of them can still
        // fail after its own retries. Look again a few times before giving up.
        let mut poller = Poller::new(Duration::from_millis(100), Duration::from_secs(1));
        let mut attempt = 1;
        let obs = loop {
            match crate::observe::observe_cached(&self.client, &self.probe, &order, &self.probes)
                .await
            {
                Ok(obs) => break obs,
                Err(e) if attempt < 4 && e.is_transient() && !self.cancel.is_cancelled() => {
                    attempt += 1;
                    tracing::debug!("observation failed, looking again: {e}");
                    if !self.cancel.sleep(poller.next_delay()).await {
                        return Err(e.into());
                    }
                }
                Err(e) => return Err(e.into()),
            }
        };
        let view = view_of(&obs);
        self.known = view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted && n.reachable)
            .filter_map(|n| n.address.clone())
            .collect();
        Ok((obs, view))
    }

    /// Nodes of the service as last observed, then the plan's addresses.
    pub fn known_nodes(&self) -> Vec<NodeAddr> {
        let mut out = self.known.clone();
        out.extend(
            self.seeds
                .iter()
                .filter(|a| !self.known.contains(a))
                .cloned(),
        );
        out
    }

    /// Addresses to talk to: known trusted nodes (primary first), then the plan's seeds.
    fn node_order(&self, view: Option<&ServiceView>) -> Vec<NodeAddr> {
        let mut out = Vec::new();
        if let Some(v) = view {
            let mut trusted: Vec<&NodeView> = v
                .nodes
                .iter()
                .filter(|n| n.status == NodeStatus::Trusted && n.reachable && n.ready)
                .collect();
            trusted.sort_by_key(|n| v.primary.as_deref() != Some(n.node_id.as_str()));
            out.extend(trusted.iter().filter_map(|n| n.address.clone()));
        }
        for s in &self.seeds {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }

    /// The plan for what was just observed (resolving the run's numbers on first use).
    pub fn plan_for(&mut self, view: &ServiceView) -> Plan {
        // The budget is the upgrade's, not one process's: launches of the unfinished runs
        // this one continues (from the journal) count, so re-running never adds nodes.
        let earlier_launches = self.adopted.len() + self.in_flight.len();
        if self.ctx.is_none() && (!self.in_flight.is_empty() || self.adopting) {
            // Nodes whose launch answer a crash lost (or, with a bare `--adopt`, every node
            // of an upgrade started elsewhere): Pending, on the target, unaccounted for.
            let take = if self.adopting {
                usize::MAX
            } else {
                self.in_flight.len()
            };
            let known = |n: &NodeView| self.adopted.iter().any(|l| l.is(n));
            let found: Vec<Launched> = view
                .nodes
                .iter()
                .filter(|n| n.status == NodeStatus::Pending && !known(n))
                .filter(|n| {
                    n.claims
                        .as_ref()
                        .is_some_and(|c| self.spec.target.matches(c))
                })
                .take(take)
                .map(|n| Launched {
                    node_id: Some(n.node_id.clone()),
                    rpc_address: n.address.clone(),
                })
                .collect();
            self.adopted.extend(found);
        }
        let ctx = self.ctx.get_or_insert_with(|| {
            let (desired, min_fault_tolerance) = match &self.abandon {
                Some(_) => crate::plan::rollback::resolve_context(view, &self.spec),
                None => planner::resolve_context(view, &self.spec),
            };
            RunContext {
                launched: self.adopted.clone(),
                soaked_new: 0,
                desired,
                min_fault_tolerance,
                abandon: self.abandon.clone(),
                stopped: Vec::new(),
                launches: if self.abandon.is_some() {
                    0
                } else {
                    earlier_launches
                },
                launch_budget: None,
                retired: Vec::new(),
            }
        });
        planner::plan(view, &self.spec, ctx)
    }

    /// Whether a node that did not answer an observation answers one of a few more looks.
    async fn answers_again(&self, address: Option<&NodeAddr>) -> bool {
        let Some(addr) = address else {
            return false;
        };
        for _ in 0..3 {
            if self.probe.version(addr).await.is_ok() {
                return true;
            }
            if !self.cancel.sleep(Duration::from_millis(200)).await {
                return false;
            }
        }
        false
    }

    /// Whether the steps still to run call the launcher's `launch` and `stop` commands.
    /// Stopping a never-joined node in a rollback is not counted: its failure is a warning.
    fn commands_needed(&self, view: &ServiceView) -> (bool, bool) {
        let Some(ctx) = &self.ctx else {
            return (true, true);
        };
        let steps = planner::plan(view, &self.spec, ctx).steps;
        let launch = steps
            .iter()
            .any(|s| matches!(s.step, Step::LaunchNodes { .. }));
        let stop = steps.iter().any(|s| {
            matches!(
                s.step,
                Step::RetireNode { .. } | Step::RemoveRetired { .. } | Step::RemovePending { .. }
            )
        });
        (launch, stop)
    }

    /// Preflight checks (read-only).
    pub async fn preflight(&mut self, obs: &Observation, view: &ServiceView) -> Vec<Check> {
        let mut checks = Vec::new();
        let mut check =
            |name: &'static str, ok: bool, detail: String| checks.push(Check { name, ok, detail });
        check(
            "service open",
            obs.is_open(),
            format!("service status {}", obs.network.service_status),
        );
        let trusted: Vec<&NodeView> = view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted)
            .collect();
        // A rollback retires every node not of the version it goes back to (a dead one too).
        let stays = |n: &NodeView| {
            self.abandon.is_none()
                || n.claims
                    .as_ref()
                    .is_some_and(|c| self.spec.target.matches(c))
        };
        // One failed look is not enough to refuse: a busy node is asked again.
        let mut unreachable: Vec<String> = Vec::new();
        for n in trusted.iter().filter(|n| !n.reachable && stays(n)) {
            if !self.answers_again(n.address.as_ref()).await {
                unreachable.push(short(&n.node_id));
            }
        }
        check(
            "a majority of trusted nodes running",
            trusted.len() - unreachable.len() >= majority(trusted.len()),
            format!(
                "{} of {} trusted nodes answer",
                trusted.len() - unreachable.len(),
                trusted.len()
            ),
        );
        check(
            "all trusted nodes reachable",
            unreachable.is_empty(),
            if unreachable.is_empty() {
                "all answer".into()
            } else {
                format!("not answering: {}", unreachable.join(", "))
            },
        );
        match &view.primary {
            None => check(
                "primary known",
                false,
                "no primary (an election is in progress); retry shortly".into(),
            ),
            Some(p) => {
                let mut disagree = Vec::new();
                for n in trusted.iter().filter(|n| n.reachable) {
                    if let Some(a) = &n.address
                        && let Ok(net) = self.probe.network(a).await
                        && net.primary_id.as_deref() != Some(p.as_str())
                    {
                        disagree.push(short(&n.node_id));
                    }
                }
                check(
                    "primary known and agreed",
                    disagree.is_empty(),
                    if disagree.is_empty() {
                        format!("primary {}", short(p))
                    } else {
                        format!("nodes {} see another primary", disagree.join(", "))
                    },
                );
            }
        }
        let active: Vec<&str> = obs
            .members
            .iter()
            .filter(|m| m.status == crate::ccf::types::MemberStatus::Active)
            .map(|m| m.member_id.as_str())
            .collect();
        let configured: Vec<&str> = self.gov.members().iter().map(|m| m.id()).collect();
        let inactive: Vec<String> = configured
            .iter()
            .filter(|id| !active.contains(id))
            .map(|id| short(id))
            .collect();
        check(
            "configured members are Active",
            !configured.is_empty() && inactive.is_empty(),
            if configured.is_empty() {
                "no [[members]] configured".into()
            } else if inactive.is_empty() {
                format!("{} configured, all Active", configured.len())
            } else {
                format!(
                    "not Active members of this service: {}",
                    inactive.join(", ")
                )
            },
        );
        let signers = configured.iter().filter(|id| active.contains(id)).count();
        check(
            "signers for a majority",
            true,
            if signers >= majority(active.len()) {
                format!(
                    "{signers} of {} Active members configured: enough to accept proposals",
                    active.len()
                )
            } else {
                format!(
                    "{signers} of {} Active members configured: proposals will wait for other members' votes",
                    active.len()
                )
            },
        );
        let needed = needed_actions(&self.spec, view);
        match self.client.constitution(&obs.answered_by).await {
            Ok(text) => {
                let missing: Vec<&str> = needed
                    .iter()
                    .filter(|a| {
                        !text.contains(&format!("\"{a}\"")) && !text.contains(&format!("'{a}'"))
                    })
                    .copied()
                    .collect();
                check(
                    "constitution has the actions needed",
                    missing.is_empty(),
                    if missing.is_empty() {
                        format!("{} actions present", needed.len())
                    } else {
                        format!("missing: {}", missing.join(", "))
                    },
                );
            }
            Err(e) => check(
                "constitution has the actions needed",
                false,
                format!("cannot read it: {e}"),
            ),
        }
        let ctx = self.ctx.clone().unwrap_or_default();
        check(
            "fault tolerance floor reachable",
            planner::fault_tolerance(ctx.desired) >= ctx.min_fault_tolerance,
            format!(
                "{} new nodes give f = {}; the minimum is {}",
                ctx.desired,
                planner::fault_tolerance(ctx.desired),
                ctx.min_fault_tolerance
            ),
        );
        let running: Vec<String> = view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted)
            .filter(|n| {
                !n.claims
                    .as_ref()
                    .is_some_and(|c| self.spec.target.matches(c))
            })
            .filter_map(|n| n.version.clone())
            .collect();
        let (ok, detail) =
            match crate::plan::version::check(self.spec.target.ccf_version.as_deref(), &running) {
                crate::plan::version::Verdict::Allowed(d) => (true, d),
                crate::plan::version::Verdict::Downgrade(d) if self.allow_downgrade => {
                    (true, format!("{d} (allowed by --allow-downgrade)"))
                }
                crate::plan::version::Verdict::Downgrade(d) => (
                    false,
                    format!("{d}; pass --allow-downgrade if this is intended"),
                ),
                crate::plan::version::Verdict::MajorJump(d) if self.allow_version_jump => {
                    (true, format!("{d} (allowed by --allow-version-jump)"))
                }
                crate::plan::version::Verdict::MajorJump(d) => (
                    false,
                    format!("{d}; pass --allow-version-jump if this is intended"),
                ),
            };
        check("version guard", ok, detail);
        let conflicting: Vec<String> = obs
            .open_proposals
            .iter()
            .filter(|p| {
                p.actions
                    .iter()
                    .any(|a| UPGRADE_ACTIONS.contains(&a.as_str()))
            })
            // Our own members' proposals are this run's to finish when resuming our journal
            // or continuing an upgrade started elsewhere (a rollback withdraws them).
            .filter(|p| {
                !((self.resuming || self.adopting)
                    && configured.contains(&p.proposal.proposer_id.as_str()))
            })
            .map(|p| {
                format!(
                    "{} ({})",
                    short(&p.proposal.proposal_id),
                    p.actions.join(", ")
                )
            })
            .collect();
        check(
            "no conflicting upgrade in progress",
            conflicting.is_empty(),
            if conflicting.is_empty() {
                "no open upgrade proposals".into()
            } else {
                format!("open proposals: {}", conflicting.join("; "))
            },
        );
        if !(self.resuming || self.adopting) {
            let known = self
                .ctx
                .as_ref()
                .map(|c| c.launched.clone())
                .unwrap_or_default();
            let signs = crate::plan::inprogress::signs(view, &self.spec, &known);
            checks.push(Check {
                name: "no upgrade in progress elsewhere",
                ok: signs.is_empty(),
                detail: if signs.is_empty() {
                    "one build, no unknown Pending node of the target".into()
                } else {
                    format!(
                        "{}: an upgrade seems to be under way that this machine has no journal of. If it is yours (another machine, a lost state directory), continue it with `noderoll apply --adopt`; otherwise let it finish first",
                        signs.join("; ")
                    )
                },
            });
        }
        // The launch and stop commands the remaining steps run must at least start: a typo
        // found at the first launch costs a registration and its rollback.
        let (launch, stop) = self.commands_needed(view);
        let (ok, detail) = match self.launcher.preflight(launch, stop).await {
            Ok(found) => (true, found),
            Err(problems) => (false, problems),
        };
        checks.push(Check {
            name: "launch and stop commands resolve",
            ok,
            detail,
        });
        for c in &checks {
            self.report(Event::PreflightChecked {
                check: c.name.into(),
                ok: c.ok,
                detail: c.detail.clone(),
            });
        }
        checks
    }

    /// Run the upgrade to completion.
    pub async fn run(&mut self) -> Result<Outcome, EngineError> {
        let (obs, view) = self.observe().await?;
        // Launches an earlier run left in flight come first: adopted once their node is
        // Pending, cancelled by name if it never comes, before anything new is launched.
        let (obs, view) = if !self.in_flight.is_empty() && self.ctx.is_none() {
            self.settle_in_flight(obs, view).await?
        } else {
            (obs, view)
        };
        let plan = self.plan_for(&view);
        if let Some(settled) = self.settled(&plan) {
            for w in &plan.warnings {
                self.report(Event::Warning { message: w.clone() });
            }
            return settled;
        }
        self.report(Event::RunStarted {
            run_id: self.run_id.clone(),
            target: self.spec.target.describe(),
            steps: plan.steps.clone(),
            rollback: self.abandon.is_some(),
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
        if self.abandon.is_some() {
            self.withdraw_own_proposals(&obs).await;
        }
        loop {
            let (_, view) = self.observe().await?;
            self.gov.set_nodes(self.node_order(Some(&view)));
            let plan = self.plan_for(&view);
            let Some(next) = plan.steps.first().cloned() else {
                break;
            };
            if self.finalize == FinalizePolicy::Hold && matches!(next.step, Step::Finalize { .. }) {
                return Ok(Outcome::FinalizePending {
                    steps: self.executed,
                });
            }
            let description = next.step.describe();
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
                continue;
            }
            let repeat_key = format!("{:?} {}", next.step, crate::plan::saved::fingerprint(&view));
            let seen = self.repeats.entry(repeat_key.clone()).or_default();
            *seen += 1;
            if *seen > 3 {
                return Err(EngineError::Step {
                    step: description,
                    new_node: false,
                    source: StepError::Other(
                        "the step ran three times on an unchanged service without taking effect"
                            .into(),
                    ),
                });
            }
            self.executed += 1;
            let index = self.executed;
            self.report(Event::StepStarted {
                index,
                description: description.clone(),
                f_after: next.f_after,
            });
            let started = Instant::now();
            if let Err(source) = self.execute(&next.step, &view).await {
                if source.cancelled() || self.cancel.is_cancelled() {
                    return Err(EngineError::Cancelled { step: description });
                }
                // The service did not answer (after the client's own retries): look again
                // and re-plan, as a re-run after a crash would. Bounded per run.
                if source.transient() && self.transient_failures < MAX_TRANSIENT_FAILURES {
                    self.transient_failures += 1;
                    if let Some(seen) = self.repeats.get_mut(&repeat_key) {
                        *seen -= 1;
                    }
                    self.report(Event::Warning {
                        message: format!(
                            "step {index} ({description}) was interrupted by a transient failure ({}); looking at the service again",
                            crate::errors::one_line(&source)
                        ),
                    });
                    let pause = Duration::from_millis(250 * self.transient_failures as u64);
                    if !self.cancel.sleep(pause).await {
                        return Err(EngineError::Cancelled { step: description });
                    }
                    continue;
                }
                let context =
                    json!({ "step": description, "error": crate::errors::render(&source) });
                let _ = self.hook(HookPoint::OnFailure, None, context).await;
                let new_node = self.abandon.is_none()
                    && matches!(
                        next.step,
                        Step::LaunchNodes { .. } | Step::TrustNodes { .. } | Step::Soak { .. }
                    );
                return Err(EngineError::Step {
                    step: description,
                    new_node,
                    source,
                });
            }
            self.report(Event::StepFinished {
                index,
                description,
                elapsed: started.elapsed(),
            });
        }
        Ok(Outcome::Upgraded {
            steps: self.executed,
        })
    }

    /// Give each launch an earlier run left in flight its chance: wait, for at most
    /// `launch_timeout`, until as many unclaimed Pending nodes of the target are listed (a
    /// node whose `node_data` carries `noderoll_name` is matched to its launch exactly), adopt
    /// them, and cancel the launches that never produced one with the stop command by name.
    async fn settle_in_flight(
        &mut self,
        mut obs: Observation,
        mut view: ServiceView,
    ) -> Result<(Observation, ServiceView), EngineError> {
        let names = std::mem::take(&mut self.in_flight);
        self.report(Event::Waiting {
            what: format!(
                "{} launch(es) an earlier run left in flight ({}) to appear Pending",
                names.len(),
                names.join(", ")
            ),
        });
        let deadline = Instant::now() + self.spec.nodes.launch_timeout;
        let mut poller = Poller::new(Duration::from_millis(100), Duration::from_secs(1));
        let (tagged, untagged) = loop {
            let (tagged, untagged) = self.in_flight_candidates(&obs, &view, &names);
            if tagged.len() + untagged.len() >= names.len() || Instant::now() >= deadline {
                break (tagged, untagged);
            }
            if !self.cancel.sleep(poller.next_delay()).await {
                return Err(EngineError::Cancelled {
                    step: "wait for launches left in flight".into(),
                });
            }
            (obs, view) = self.observe().await?;
        };
        let mut unmatched: Vec<String> = names
            .iter()
            .filter(|n| !tagged.iter().any(|(name, _)| name == *n))
            .cloned()
            .collect();
        let by_count = untagged.len().min(unmatched.len());
        let adopted_untagged = by_count > 0;
        unmatched.drain(..by_count);
        self.adopted.extend(tagged.into_iter().map(|(_, l)| l));
        self.adopted.extend(untagged.into_iter().take(by_count));
        for name in unmatched {
            // Without a name in node_data, a launch matched by count could be this one:
            // stopping by name might stop an adopted node. Say so instead.
            let message = if adopted_untagged {
                format!(
                    "launch {name} left in flight by an earlier run cannot be told apart from the nodes adopted (its launcher does not put noderoll_name in node_data); if it is still starting, stop it by hand"
                )
            } else {
                match self.launcher.cancel(&name, &self.run_id).await {
                    Ok(()) => format!(
                        "launch {name} left in flight by an earlier run produced no Pending node within launch_timeout; cancelled with the stop command"
                    ),
                    Err(e) => format!(
                        "launch {name} left in flight by an earlier run produced no Pending node and could not be cancelled; stop it by hand: {}",
                        crate::errors::one_line(&e)
                    ),
                }
            };
            self.report(Event::Warning { message });
        }
        Ok((obs, view))
    }

    /// Pending nodes no run has claimed that could be the target's (what they attest is the
    /// target's, or unreadable): those whose `node_data.noderoll_name` names one of `names`,
    /// with the name, and the others.
    fn in_flight_candidates(
        &self,
        obs: &Observation,
        view: &ServiceView,
        names: &[String],
    ) -> (Vec<(String, Launched)>, Vec<Launched>) {
        let (mut tagged, mut untagged) = (Vec::new(), Vec::new());
        for (o, n) in obs.nodes.iter().zip(&view.nodes) {
            let claimed = self.adopted.iter().any(|l| l.is(n));
            let could_be_target = n
                .claims
                .as_ref()
                .is_none_or(|c| self.spec.target.matches(c));
            if n.status != NodeStatus::Pending || claimed || !could_be_target {
                continue;
            }
            let launched = Launched {
                node_id: Some(n.node_id.clone()),
                rpc_address: n.address.clone(),
            };
            match o
                .info
                .node_data
                .get("noderoll_name")
                .and_then(|v| v.as_str())
            {
                Some(name) if names.iter().any(|x| x == name) => {
                    tagged.push((name.to_string(), launched));
                }
                // Tagged by another launch (of a run that is not this one's): not ours.
                Some(_) => {}
                None => untagged.push(launched),
            }
        }
        (tagged, untagged)
    }

    /// Rolling back: the configured members' open proposals with upgrade actions belong to the
    /// abandoned upgrade; withdraw them so they cannot pass later.
    async fn withdraw_own_proposals(&self, obs: &Observation) {
        for p in obs.open_proposals.iter().filter(|p| {
            p.actions
                .iter()
                .any(|a| UPGRADE_ACTIONS.contains(&a.as_str()))
        }) {
            let Some(member) = self
                .gov
                .members()
                .iter()
                .find(|m| m.id() == p.proposal.proposer_id)
                .cloned()
            else {
                continue;
            };
            let message = match self.gov.withdraw(&member, &p.proposal.proposal_id).await {
                Ok(_) => format!(
                    "withdrew open proposal {} ({}) of the abandoned upgrade",
                    short(&p.proposal.proposal_id),
                    p.actions.join(", ")
                ),
                Err(e) => format!(
                    "could not withdraw open proposal {}: {}",
                    short(&p.proposal.proposal_id),
                    crate::errors::render(&e)
                ),
            };
            self.report(Event::Warning { message });
        }
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

    /// Re-observe until the next retirement's gate holds (or time out).
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

    async fn execute(&mut self, step: &Step, view: &ServiceView) -> Result<(), StepError> {
        match step {
            Step::RegisterCode { actions } => self.propose(actions.clone()).await,
            Step::LaunchNodes { count } => {
                let before = self.ctx.as_ref().map(|c| c.launched.len()).unwrap_or(0);
                self.launch(*count, view).await?;
                let ids: Vec<String> = self
                    .ctx
                    .as_ref()
                    .map(|c| {
                        c.launched[before..]
                            .iter()
                            .filter_map(|l| l.node_id.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                self.hook(
                    HookPoint::AfterLaunch,
                    None,
                    json!({ "step": step.describe(), "nodes": ids }),
                )
                .await
            }
            Step::TrustNodes { node_ids, .. } => {
                self.trust(node_ids, view).await?;
                self.hook(
                    HookPoint::AfterTrust,
                    None,
                    json!({ "step": step.describe(), "nodes": node_ids }),
                )
                .await
            }
            Step::Soak { duration } => self.soak(*duration, view).await,
            Step::RetireNode {
                node_id,
                address,
                primary,
            } => {
                let ctx =
                    json!({ "step": step.describe(), "node_id": node_id, "primary": primary });
                self.hook(HookPoint::BeforeRetire, Some(node_id), ctx.clone())
                    .await?;
                self.retire(node_id, address.as_ref(), *primary, view)
                    .await?;
                self.hook(HookPoint::AfterRetire, Some(node_id), ctx).await
            }
            Step::RemoveRetired { node_id, address } => {
                self.remove(node_id, address.as_ref(), view).await?;
                self.hook(
                    HookPoint::AfterRetire,
                    Some(node_id),
                    json!({ "step": step.describe(), "node_id": node_id }),
                )
                .await
            }
            Step::RemovePending { node_id, address } => {
                // Stopped first: a Pending joiner still running re-registers (CCF #6463).
                self.launcher.stop(node_id, address.as_ref()).await?;
                self.mark_stopped(Some(node_id), address.as_ref());
                self.propose(vec![Action::new(
                    "remove_node",
                    json!({ "node_id": node_id }),
                )])
                .await?;
                self.report(Event::NodeRemoved {
                    node_id: node_id.clone(),
                });
                Ok(())
            }
            Step::StopLaunched { node } => {
                // The node is not part of the service: failing to stop it leaks a process
                // or VM, not safety. Say so and go on.
                if let Err(e) = self
                    .launcher
                    .stop(
                        node.node_id.as_deref().unwrap_or_default(),
                        node.rpc_address.as_ref(),
                    )
                    .await
                {
                    self.report(Event::Warning {
                        message: format!(
                            "could not stop a launched node that never joined; stop it by hand: {}",
                            crate::errors::one_line(&e)
                        ),
                    });
                }
                self.mark_stopped(node.node_id.as_ref(), node.rpc_address.as_ref());
                Ok(())
            }
            Step::RemoveAbandonedCode { actions } => {
                self.propose(actions.clone()).await?;
                let (_, after) = self
                    .observe()
                    .await
                    .map_err(|e| StepError::Other(e.to_string()))?;
                if let Some(a) = &self.abandon {
                    let left = a
                        .target
                        .deregister_actions(&after.join_policy, &self.spec.target);
                    if !left.is_empty() {
                        return Err(StepError::Other(format!(
                            "the abandoned code version is still registered: {left:?}"
                        )));
                    }
                }
                Ok(())
            }
            Step::Finalize { actions } => {
                self.propose(actions.clone()).await?;
                let (_, after) = self
                    .observe()
                    .await
                    .map_err(|e| StepError::Other(e.to_string()))?;
                let left = self.spec.target.finalize_actions(&after.join_policy);
                if !left.is_empty() {
                    return Err(StepError::Other(format!(
                        "the join policy still holds other code versions: {left:?}"
                    )));
                }
                self.verify_versions(&after)?;
                self.hook(
                    HookPoint::AfterFinalize,
                    None,
                    json!({ "step": step.describe(), "target": self.spec.target }),
                )
                .await
            }
        }
    }

    /// Remember that a node is stopped, so a rollback does not stop it again.
    fn mark_stopped(&mut self, node_id: Option<&String>, address: Option<&NodeAddr>) {
        if let Some(ctx) = self.ctx.as_mut() {
            ctx.stopped.push(Launched {
                node_id: node_id.cloned(),
                rpc_address: address.cloned(),
            });
        }
    }

    /// Run a hook: a failing gating hook fails the step; others are reported.
    async fn hook(
        &self,
        point: HookPoint,
        node_id: Option<&str>,
        context: serde_json::Value,
    ) -> Result<(), StepError> {
        match self.hooks.run(point, &self.run_id, node_id, context).await {
            Ok(true) => {
                self.report(Event::HookRan {
                    hook: point.name().into(),
                });
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(e) if point.gating() => Err(e.into()),
            Err(e) => {
                self.report(Event::Warning {
                    message: e.to_string(),
                });
                Ok(())
            }
        }
    }

    /// Pass a proposal, proposing again if another member's "add" dropped it.
    async fn propose(&self, actions: Vec<Action>) -> Result<(), StepError> {
        let body = ProposalBody { actions };
        for _ in 0..3 {
            match self.gov.pass(&body, &self.cancel).await {
                Ok(p) => {
                    self.report(Event::ProposalCommitted {
                        proposal_id: p.proposal_id,
                    });
                    return Ok(());
                }
                Err(GovError::NotAccepted {
                    state: ProposalState::Dropped,
                    proposal_id,
                    ..
                }) => self.report(Event::Warning {
                    message: format!(
                        "proposal {} was dropped by another member's proposal; proposing again",
                        short(&proposal_id)
                    ),
                }),
                Err(e) => return Err(e.into()),
            }
        }
        Err(StepError::Other(
            "the proposal was dropped three times by other members' proposals".into(),
        ))
    }

    fn any_node(&self, view: &ServiceView, avoid: Option<&str>) -> Vec<NodeAddr> {
        let mut order = self.node_order(Some(view));
        if let Some(avoid) = avoid
            && let Some(addr) = view
                .nodes
                .iter()
                .find(|n| n.node_id == avoid)
                .and_then(|n| n.address.clone())
        {
            order.retain(|a| *a != addr);
        }
        order
    }

    async fn launch(&mut self, count: usize, view: &ServiceView) -> Result<(), StepError> {
        let target = self
            .any_node(view, None)
            .into_iter()
            .next()
            .ok_or_else(|| StepError::Other("no node to join through".into()))?;
        let already = self.ctx.as_ref().map(|c| c.launched.len()).unwrap_or(0);
        // Counted before any command runs: a launch that fails or hangs still spent budget.
        if let Some(ctx) = self.ctx.as_mut() {
            ctx.launches += count;
        }
        let semaphore = Arc::new(tokio::sync::Semaphore::new(
            self.spec.nodes.max_parallel_launches,
        ));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..count {
            let index = already + i;
            let req = LaunchRequest {
                run_id: self.run_id.clone(),
                index,
                name: format!("noderoll-{}-{index}", self.run_id),
                target_rpc_address: target.clone(),
                service_cert: self.service_cert.clone(),
            };
            self.report(Event::LaunchStarted {
                name: req.name.clone(),
            });
            let (launcher, sem) = (self.launcher.clone(), semaphore.clone());
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await;
                (req.name.clone(), launcher.launch(&req).await)
            });
        }
        let mut first_error = None;
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok((name, Ok(l))) => {
                    self.report(Event::NodeLaunched {
                        name,
                        node_id: l.node_id.clone(),
                        rpc_address: l.rpc_address.as_ref().map(ToString::to_string),
                    });
                    if let Some(ctx) = self.ctx.as_mut() {
                        ctx.launched.push(l);
                    }
                }
                Ok((_, Err(e))) => {
                    first_error.get_or_insert(StepError::Launch(e));
                }
                Err(e) => {
                    first_error
                        .get_or_insert(StepError::Other(format!("a launch task failed: {e}")));
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let launched: Vec<Launched> = self
            .ctx
            .as_ref()
            .map(|c| c.launched[already..].to_vec())
            .unwrap_or_default();
        let ask = self.any_node(view, None);
        for l in launched {
            let what = match (&l.node_id, &l.rpc_address) {
                (Some(id), _) => format!("node {} to appear Pending", short(id)),
                (None, Some(a)) => format!("the node launched at {a} to appear Pending"),
                (None, None) => unreachable!("launcher output is validated"),
            };
            self.report(Event::Waiting { what: what.clone() });
            let found = wait_until(
                what,
                self.spec.safety.step_timeout,
                &self.cancel,
                Poller::service_default(),
                || {
                    let (c, ask, l) = (self.client.clone(), ask.clone(), l.clone());
                    async move {
                        for a in &ask {
                            let r = match (&l.node_id, &l.rpc_address) {
                                (Some(id), _) => c
                                    .node(a, id)
                                    .await
                                    .map(|n| n.into_iter().collect::<Vec<_>>()),
                                (None, Some(addr)) => {
                                    c.nodes(
                                        a,
                                        &NodeFilter {
                                            host: Some(addr.host().into()),
                                            port: Some(addr.port()),
                                            status: None,
                                        },
                                    )
                                    .await
                                }
                                _ => Ok(vec![]),
                            };
                            match r {
                                Ok(nodes) => {
                                    return Ok(
                                        match nodes
                                            .into_iter()
                                            .find(|n| n.status != NodeStatus::Retired)
                                        {
                                            Some(n) => Probe::Ready(n.node_id),
                                            None => {
                                                Probe::NotYet("not in the node table yet".into())
                                            }
                                        },
                                    );
                                }
                                Err(e) if matches!(e.retry(), Retry::Transient(_)) => continue,
                                Err(e) => return Err(e),
                            }
                        }
                        Ok(Probe::NotYet("no node answered".into()))
                    }
                },
            )
            .await?;
            if let Some(ctx) = self.ctx.as_mut()
                && let Some(entry) = ctx.launched.iter_mut().find(|x| **x == l)
            {
                entry.node_id = Some(found.clone());
            }
            self.report(Event::NodePending { node_id: found });
        }
        Ok(())
    }

    async fn trust(&mut self, node_ids: &[String], view: &ServiceView) -> Result<(), StepError> {
        if node_ids.is_empty() {
            return Err(StepError::Other(
                "no Pending node launched by this run attests the target code version".into(),
            ));
        }
        // A run resumed after a crash must propose the very same actions, so that its earlier
        // open proposal is found and finished instead of a second one made: the open trust
        // proposal of our members for these nodes gives `valid_from`, whatever day it is.
        // Otherwise the start of the day (UTC).
        let valid_from = self
            .open_trust_valid_from(node_ids)
            .await?
            .unwrap_or_else(|| jiff::Timestamp::now().strftime("%y%m%d000000Z").to_string());
        let actions = node_ids
            .iter()
            .map(|id| {
                Action::new(
                    "transition_node_to_trusted",
                    json!({ "node_id": id, "valid_from": valid_from }),
                )
            })
            .collect();
        self.propose(actions).await?;
        for id in node_ids {
            let addr = view
                .nodes
                .iter()
                .find(|n| n.node_id == *id)
                .and_then(|n| n.address.clone())
                .ok_or_else(|| {
                    StepError::Other(format!("node {} has no RPC address", short(id)))
                })?;
            let what = format!(
                "node {} to serve governance over the service certificate",
                short(id)
            );
            self.report(Event::Waiting { what: what.clone() });
            let want = self.spec.target.ccf_version.clone();
            let target = self.spec.target.clone();
            let served = wait_until(
                what,
                self.spec.safety.step_timeout,
                &self.cancel,
                Poller::service_default(),
                || {
                    let (c, a, want, target) =
                        (self.probe.clone(), addr.clone(), want.clone(), target.clone());
                    async move {
                        match c.ready_gov(&a).await {
                            Ok(true) => {}
                            Ok(false) => return Ok(Probe::NotYet("not ready yet".into())),
                            Err(e) => return Ok(Probe::NotYet(e.to_string())),
                        }
                        if let Err(e) = c.commit(&a).await {
                            return Ok(Probe::NotYet(e.to_string()));
                        }
                        // Caught up, the node has its own row: its quote is readable now (a
                        // Pending node's is not, CCF `get_quote_for_this_node_v1`). CCF
                        // admitted it because it matched *a* registered code version, and
                        // during an upgrade the old one is registered too: only its quote
                        // says which, and a wrong one will not change.
                        match c.quote_self(&a).await {
                            Ok(q) => match q.claims() {
                                Some(claims) if target.matches(&claims) => {}
                                Some(claims) => {
                                    return Ok(Probe::Ready(Err(format!(
                                        "its quote attests host data {} (measurement {}), not the target's {}",
                                        claims.host_data, claims.measurement, target.host_data
                                    ))));
                                }
                                None => {
                                    return Ok(Probe::Ready(Err(format!(
                                        "its quote (format {}) could not be read to check it attests the target",
                                        q.format
                                    ))));
                                }
                            },
                            Err(e) => return Ok(Probe::NotYet(e.to_string())),
                        }
                        match c.version(&a).await {
                            Ok(v) if want.as_ref().is_none_or(|w| *w == v.ccf_version) => {
                                Ok(Probe::Ready(Ok(v.ccf_version)))
                            }
                            Ok(v) => Ok(Probe::NotYet(format!(
                                "reports {} instead of {}",
                                v.ccf_version,
                                want.unwrap_or_default()
                            ))),
                            Err(e) => Ok(Probe::NotYet(e.to_string())),
                        }
                    }
                },
            )
            .await?;
            let version = served.map_err(|why| {
                StepError::Other(format!("node {} was trusted but {why}", short(id)))
            })?;
            self.report(Event::NodeServing {
                node_id: id.clone(),
                ccf_version: version,
            });
        }
        Ok(())
    }

    /// `valid_from` of an open proposal by the configured members that trusts exactly
    /// `node_ids`.
    async fn open_trust_valid_from(
        &self,
        node_ids: &[String],
    ) -> Result<Option<String>, StepError> {
        let wanted: std::collections::BTreeSet<&str> =
            node_ids.iter().map(String::as_str).collect();
        let found = self
            .gov
            .find_open_where(|body| {
                body.actions
                    .iter()
                    .all(|a| a.name == "transition_node_to_trusted")
                    && body
                        .actions
                        .iter()
                        .filter_map(|a| a.args.get("node_id")?.as_str())
                        .collect::<std::collections::BTreeSet<_>>()
                        == wanted
            })
            .await?;
        Ok(found.and_then(|(_, body)| {
            body.actions
                .first()?
                .args
                .get("valid_from")?
                .as_str()
                .map(str::to_string)
        }))
    }

    /// The primary's commit seqno, and its acknowledgement table where it exposes one.
    async fn primary_commit(&self, view: &ServiceView) -> Option<(u64, BTreeMap<String, u64>)> {
        let primary = view.primary.as_ref()?;
        let addr = view
            .nodes
            .iter()
            .find(|n| n.node_id == *primary)?
            .address
            .clone()?;
        let commit = self.probe.commit(&addr).await.ok()?.transaction_id.seqno;
        let acks = match self.probe.consensus(&addr).await {
            Ok(c) => c
                .details
                .acks
                .into_iter()
                .map(|(id, a)| (id, a.last_received_ms))
                .collect(),
            Err(_) => BTreeMap::new(),
        };
        Some((commit, acks))
    }

    /// Health of the nodes that stay, for the soak's duration. An idle service signs nothing,
    /// so commits need not advance (CCF `src/node/history.h`: a signature only when there are
    /// unsigned transactions); what is judged is that every new node is ready, agrees with
    /// the others on primary and view, has reached the primary's commit as of the previous
    /// look (as of the soak's start, first), and is heard from by the primary.
    async fn soak(&mut self, duration: Duration, view: &ServiceView) -> Result<(), StepError> {
        self.report(Event::Waiting {
            what: format!("{}s of the new nodes healthy", duration.as_secs_f64()),
        });
        // The soak judges the nodes that stay (the target's): an old node that drops out is
        // retired anyway, and the retirement gates keep a healthy majority.
        let stays = |n: &NodeView| {
            n.claims
                .as_ref()
                .is_some_and(|c| self.spec.target.matches(c))
        };
        let trusted: Vec<(String, NodeAddr)> = view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted && stays(n))
            .filter_map(|n| Some((n.node_id.clone(), n.address.clone()?)))
            .collect();
        // Every new node must reach what the primary had committed when the soak began.
        let mut level_with = self.primary_commit(view).await.map(|(c, _)| c);
        let end = Instant::now() + duration;
        let mut poller = Poller::new(Duration::from_millis(100), Duration::from_millis(500));
        // One failed look is a blip (a busy node answers 503, an election is brief); the same
        // node failing three looks in a row has dropped out. The soak ends on a clean look.
        const STRIKES: usize = 3;
        let mut strikes: BTreeMap<&str, (usize, String)> = BTreeMap::new();
        let mut disagreements = 0;
        loop {
            let primary = self.primary_commit(view).await;
            let mut seen = std::collections::BTreeSet::new();
            let mut clean = true;
            for (id, addr) in &trusted {
                let problem = self
                    .soak_look(id, addr, level_with, primary.as_ref(), &mut seen)
                    .await;
                let entry = strikes.entry(id.as_str()).or_default();
                match problem {
                    None => *entry = (0, String::new()),
                    Some(p) => {
                        clean = false;
                        *entry = (entry.0 + 1, p);
                        if entry.0 >= STRIKES {
                            return Err(StepError::Other(format!(
                                "node {} {} during the soak ({STRIKES} looks in a row)",
                                short(id),
                                entry.1
                            )));
                        }
                    }
                }
            }
            if seen.len() != 1 || seen.iter().any(|(p, _)| p.is_none()) {
                clean = false;
                disagreements += 1;
                if disagreements >= STRIKES {
                    return Err(StepError::Other(format!(
                        "the new nodes disagree on the primary and view during the soak: {seen:?}"
                    )));
                }
            } else {
                disagreements = 0;
            }
            if let Some((commit, _)) = primary {
                level_with = Some(commit);
            }
            if clean && Instant::now() >= end {
                break;
            }
            let delay = poller
                .next_delay()
                .min(end.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(if clean { 0 } else { 50 }));
            if !self.cancel.sleep(delay).await {
                return Err(StepError::Wait(WaitError::Cancelled {
                    what: "the soak".into(),
                }));
            }
        }
        let soaked = planner::count_new(view, &self.spec);
        if let Some(ctx) = self.ctx.as_mut() {
            ctx.soaked_new = soaked;
        }
        Ok(())
    }

    /// One look at one new node during the soak: what is wrong with it, if anything. Adds the
    /// (primary, view) it reports to `seen`.
    async fn soak_look(
        &self,
        id: &str,
        addr: &NodeAddr,
        level_with: Option<u64>,
        primary: Option<&(u64, BTreeMap<String, u64>)>,
        seen: &mut std::collections::BTreeSet<(Option<String>, u64)>,
    ) -> Option<String> {
        let net = match self.probe.network(addr).await {
            Ok(net) => net,
            Err(e) => return Some(format!("dropped out: {e}")),
        };
        seen.insert((net.primary_id.clone(), net.current_view));
        match self.probe.ready_gov(addr).await {
            Ok(true) => {}
            Ok(false) => return Some("stopped serving governance".into()),
            Err(e) => return Some(format!("stopped serving governance: {e}")),
        }
        let commit = match self.probe.commit(addr).await {
            Ok(c) => c.transaction_id.seqno,
            Err(e) => return Some(format!("did not report its commit: {e}")),
        };
        if let Some(want) = level_with
            && commit < want
        {
            return Some(format!(
                "is behind: committed {commit}, the primary had {want}"
            ));
        }
        // The primary's own view of the node, where it exposes one (CCF fills `acks` on
        // every node; only the primary's are meaningful). The primary itself has no entry.
        if let Some((_, acks)) = primary
            && let Some(ms) = acks.get(id)
            && *ms > ACK_SILENCE_MS
        {
            return Some(format!(
                "has not been heard from by the primary for {ms} ms"
            ));
        }
        None
    }

    async fn retire(
        &mut self,
        node_id: &str,
        address: Option<&NodeAddr>,
        primary: bool,
        view: &ServiceView,
    ) -> Result<(), StepError> {
        let others = self.any_node(view, Some(node_id));
        let watch = others
            .first()
            .cloned()
            .ok_or_else(|| StepError::Other("no other node to watch the retirement from".into()))?;
        let before = self.client.network(&watch).await?;
        self.gov.set_nodes(others.clone());
        if let Some(ctx) = self.ctx.as_mut() {
            ctx.retired.push(node_id.to_string());
        }
        self.propose(vec![Action::new(
            "remove_node",
            json!({ "node_id": node_id }),
        )])
        .await?;
        if primary {
            let what = format!("a new primary after retiring {}", short(node_id));
            self.report(Event::Waiting { what: what.clone() });
            let net = wait_until(
                what,
                self.spec.safety.step_timeout,
                &self.cancel,
                Poller::service_default(),
                || {
                    let (c, w, old, view) = (
                        self.client.clone(),
                        watch.clone(),
                        node_id.to_string(),
                        before.current_view,
                    );
                    async move {
                        match c.network(&w).await {
                            Ok(n)
                                if n.primary_id.as_ref().is_some_and(|p| *p != old)
                                    && n.current_view > view =>
                            {
                                Ok(Probe::Ready(n))
                            }
                            Ok(n) => Ok(Probe::NotYet(format!(
                                "primary {:?} in view {}",
                                n.primary_id.as_deref().map(short),
                                n.current_view
                            ))),
                            Err(e) => Ok(Probe::NotYet(e.to_string())),
                        }
                    }
                },
            )
            .await?;
            let new_primary = net.primary_id.clone().unwrap_or_default();
            self.report(Event::ElectionObserved {
                previous: node_id.into(),
                primary: new_primary.clone(),
                view: net.current_view,
            });
            // The new primary governs and commits.
            if let Some(addr) = view
                .nodes
                .iter()
                .find(|n| n.node_id == new_primary)
                .and_then(|n| n.address.clone())
            {
                self.client.members(&addr).await?;
                self.client.commit(&addr).await?;
            }
        }
        self.remove(node_id, address, view).await
    }

    async fn remove(
        &mut self,
        node_id: &str,
        address: Option<&NodeAddr>,
        view: &ServiceView,
    ) -> Result<(), StepError> {
        let others = self.any_node(view, Some(node_id));
        let what = format!("node {} to be listed by removable_nodes", short(node_id));
        self.report(Event::Waiting { what: what.clone() });
        wait_until(
            what,
            self.spec.safety.step_timeout,
            &self.cancel,
            Poller::service_default(),
            || {
                let (c, others, id) = (self.client.clone(), others.clone(), node_id.to_string());
                async move {
                    for a in &others {
                        match c.removable_nodes(a).await {
                            Ok(list) if list.iter().any(|n| n.node_id == id) => {
                                return Ok(Probe::Ready(()));
                            }
                            Ok(_) => return Ok(Probe::NotYet("retired, not yet removable".into())),
                            Err(e) if matches!(e.retry(), Retry::Transient(_)) => continue,
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(Probe::NotYet("no node answered".into()))
                }
            },
        )
        .await?;
        self.launcher.stop(node_id, address).await?;
        let what = format!("DELETE of node {} to commit", short(node_id));
        self.report(Event::Waiting { what: what.clone() });
        let tx = wait_until(
            what,
            self.spec.safety.step_timeout,
            &self.cancel,
            Poller::service_default(),
            || {
                let (c, others, id) = (self.client.clone(), others.clone(), node_id.to_string());
                async move {
                    for a in &others {
                        match c.delete_node(a, &id).await {
                            Ok(tx) => return Ok(Probe::Ready(tx)),
                            Err(e) if e.is(404, "ResourceNotFound") => {
                                return Ok(Probe::Ready(None));
                            }
                            // A primary that has not seen the retirement commit yet (CCF's harness retries).
                            Err(e) if e.is(400, "NodeNotRetiredCommitted") => {
                                return Ok(Probe::NotYet(e.to_string()));
                            }
                            Err(e) if matches!(e.retry(), Retry::Transient(_)) => continue,
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(Probe::NotYet("no node answered".into()))
                }
            },
        )
        .await?;
        if let Some(tx) = tx {
            self.gov.wait_committed(tx, &self.cancel).await?;
        }
        if let Some(a) = address {
            self.known.retain(|k| k != a);
        }
        self.mark_stopped(Some(&node_id.to_string()), address);
        self.report(Event::NodeRemoved {
            node_id: node_id.into(),
        });
        Ok(())
    }

    fn verify_versions(&self, view: &ServiceView) -> Result<(), StepError> {
        let Some(want) = &self.spec.target.ccf_version else {
            return Ok(());
        };
        let wrong: Vec<String> = view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted && n.version.as_ref() != Some(want))
            .map(|n| {
                format!(
                    "{} reports {}",
                    short(&n.node_id),
                    n.version.as_deref().unwrap_or("nothing")
                )
            })
            .collect();
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(StepError::Other(format!(
                "not every node reports {want}: {}",
                wrong.join(", ")
            )))
        }
    }
}

fn needed_actions(spec: &UpgradeSpec, view: &ServiceView) -> Vec<&'static str> {
    let mut v = vec!["transition_node_to_trusted", "remove_node"];
    v.extend(match spec.target.platform {
        crate::plan::CodePlatform::Virtual => ["add_virtual_host_data", "remove_virtual_host_data"],
        crate::plan::CodePlatform::Snp => ["add_snp_host_data", "remove_snp_host_data"],
    });
    if spec.target.platform == crate::plan::CodePlatform::Snp {
        v.extend(["add_snp_measurement", "remove_snp_measurement"]);
    }
    if spec.target.platform == crate::plan::CodePlatform::Virtual
        && view
            .join_policy
            .virtual_
            .as_ref()
            .is_none_or(|p| p.measurements.is_empty())
    {
        v.push("add_virtual_measurement");
    }
    v
}

fn short(id: &str) -> String {
    id.get(..8).unwrap_or(id).to_string()
}
