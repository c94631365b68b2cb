//! Preflight: read-only checks before a run changes anything. Each check is a small function
//! of what was seen, returning a [`Check`]; [`Preflight::run`] gathers what they need (a few
//! extra looks at nodes, the constitution, the launcher's commands) and runs them in order.

use super::launcher::CommandLauncher;
use super::options::RunOptions;
use crate::ccf::actions::{
    ADD_SNP_HOST_DATA, ADD_SNP_MEASUREMENT, ADD_VIRTUAL_HOST_DATA, ADD_VIRTUAL_MEASUREMENT,
    REMOVE_NODE, REMOVE_SNP_HOST_DATA, REMOVE_SNP_MEASUREMENT, REMOVE_VIRTUAL_HOST_DATA,
    TRANSITION_NODE_TO_TRUSTED, TRIGGER_SNAPSHOT, UPGRADE_ACTIONS,
};
use crate::ccf::governance::Governance;
use crate::ccf::types::{MemberStatus, NodeStatus, ServiceStatus, short_id};
use crate::ccf::{CcfClient, NodeAddr};
use crate::observe::{Observation, OpenProposal};
use crate::plan::version::{self, CcfVersion};
use crate::plan::{CodePlatform, NodeView, RunContext, ServiceView, Step, UpgradeSpec};
use crate::plan::{gates, planner};
use crate::wait::Cancel;
use std::time::Duration;

/// A preflight check's result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Check {
    /// Name.
    pub name: &'static str,
    /// Passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
    /// A passed check still worth showing: a note, or a warning.
    pub notice: Option<Notice>,
}

/// How a passed check is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// Something `plan` shows (what the run will use).
    Note,
    /// Something that may hurt the upgrade and is not refused.
    Warning,
}

impl Notice {
    /// As JSON and human output spell it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Notice::Note => "note",
            Notice::Warning => "warning",
        }
    }
}

fn check(name: &'static str, ok: bool, detail: String) -> Check {
    Check {
        name,
        ok,
        detail,
        notice: None,
    }
}

fn notice(name: &'static str, notice: Notice, detail: String) -> Check {
    Check {
        name,
        ok: true,
        detail,
        notice: Some(notice),
    }
}

/// Whether an open proposal is part of an upgrade (it has one of [`UPGRADE_ACTIONS`]).
pub(crate) fn is_upgrade_proposal(p: &OpenProposal) -> bool {
    p.actions
        .iter()
        .any(|a| UPGRADE_ACTIONS.contains(&a.as_str()))
}

/// Whether an open proposal blocks a run: an upgrade proposal with an action other than
/// `trigger_snapshot`, which any member may propose routinely (a backup, a join) and which
/// changes no node or code version. `vote --follow` and withdrawing our own proposals still
/// count it ([`is_upgrade_proposal`]).
fn conflicts(p: &OpenProposal) -> bool {
    p.actions
        .iter()
        .any(|a| a != TRIGGER_SNAPSHOT && UPGRADE_ACTIONS.contains(&a.as_str()))
}

/// What the checks of one run look with.
pub(crate) struct Preflight<'a> {
    /// The patient client.
    pub(crate) client: &'a CcfClient,
    /// The quick client, for per-node looks.
    pub(crate) probe: &'a CcfClient,
    /// Ctrl-C / SIGTERM.
    pub(crate) cancel: &'a Cancel,
    /// The upgrade.
    pub(crate) spec: &'a UpgradeSpec,
    /// The configured members.
    pub(crate) gov: &'a Governance,
    /// The launch and stop commands.
    pub(crate) launcher: &'a CommandLauncher,
    /// What the run is asked to do.
    pub(crate) options: &'a RunOptions,
    /// The run's numbers, once planned.
    pub(crate) ctx: Option<&'a RunContext>,
}

impl Preflight<'_> {
    /// Every check, in order (read-only).
    pub(crate) async fn run(&self, obs: &Observation, view: &ServiceView) -> Vec<Check> {
        let mut checks = vec![service_open(obs.network.service_status)];
        let trusted = view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted)
            .count();
        let unreachable = self.unreachable_trusted(view).await;
        checks.push(majority_running(trusted, &unreachable));
        checks.push(all_reachable(&unreachable));
        let disagree = match &view.primary {
            Some(p) => self.disagreeing_on(view, p).await,
            None => Vec::new(),
        };
        checks.push(primary_agreed(view.primary.as_deref(), &disagree));
        let active: Vec<&str> = obs
            .members
            .iter()
            .filter(|m| m.status == MemberStatus::Active)
            .map(|m| m.member_id.as_str())
            .collect();
        let configured: Vec<&str> = self.gov.members().iter().map(|m| m.id()).collect();
        checks.push(members_active(&configured, &active));
        checks.push(signers_for_majority(&configured, &active));
        let constitution = self
            .client
            .constitution(&obs.answered_by)
            .await
            .map_err(|e| e.to_string());
        checks.push(constitution_has(
            &needed_actions(self.spec, view),
            constitution.as_deref().map_err(String::as_str),
        ));
        let ctx = self.ctx.cloned().unwrap_or_default();
        let remaining = self.remaining_steps(view);
        let (launch, _) = commands_needed(remaining.as_deref());
        let ends_with = match (self.options.rollback.is_some(), launch) {
            (false, _) => EndsWith::NewNodes,
            (true, true) => EndsWith::Relaunched,
            (true, false) => EndsWith::Remaining,
        };
        checks.push(fault_tolerance_floor(
            ctx.desired,
            ctx.min_fault_tolerance,
            ends_with,
        ));
        checks.push(guard::version_guard_of(view, self.spec, self.options));
        checks.extend(snp_minimum_tcb(
            self.spec,
            view,
            constitution.as_deref().ok(),
        ));
        let owned = self.options.owns_open_proposals();
        checks.push(no_conflicting_upgrade(
            &obs.open_proposals,
            &configured,
            owned,
        ));
        if !owned {
            let signs = crate::plan::inprogress::signs(view, self.spec, &ctx.launched);
            checks.push(no_upgrade_elsewhere(&signs));
        }
        checks.extend(self.commands_start(remaining.as_deref()).await);
        checks.extend(self.certificates(obs, view).await);
        checks.extend(self.startup_snapshot(view).await);
        checks
    }

    /// The commands the remaining steps run must at least start: a launcher's typo found at
    /// the first launch costs a registration and its rollback, a missing hook found at its
    /// point stops the run half-way.
    async fn commands_start(&self, remaining: Option<&[Step]>) -> Vec<Check> {
        let (launch, stop) = commands_needed(remaining);
        let mut checks = vec![commands_resolve(
            "launch and stop commands resolve",
            self.launcher.preflight(launch, stop).await,
        )];
        let rollback = self.options.rollback.is_some();
        let hooks = super::hooks::preflight(self.spec, remaining, rollback);
        if let Some(verdict) = hooks.startable(self.launcher.dir()).await {
            checks.push(commands_resolve(
                "hook and notify commands resolve",
                verdict,
            ));
        }
        checks
    }

    /// The validity trust proposals will carry (a note), and the certificates the upgrade
    /// relies on that expire before it may be done (warnings: CCF keeps running, but clients
    /// that check dates stop trusting them).
    async fn certificates(&self, obs: &Observation, view: &ServiceView) -> Vec<Check> {
        use super::certs::{ValidityError, read_node_cert_validity, relied_on};
        use crate::plan::certs::{expected_duration, expiring_warnings};
        const VALIDITY: &str = "node certificate validity";
        let at = [obs.answered_by.clone()];
        let steps = self
            .ctx
            .map(|ctx| planner::plan(view, self.spec, ctx).steps)
            .unwrap_or_default();
        let trusts = steps
            .iter()
            .any(|s| matches!(s.step, Step::TrustNodes { .. }));
        let mut out = Vec::new();
        // The validity is what trust proposals carry: a note only for a run that trusts nodes
        // (a clean rollback and a finalize launch none), but a refusal always.
        match read_node_cert_validity(self.client, &at, self.spec).await {
            Ok(v) if trusts => out.push(notice(VALIDITY, Notice::Note, v.describe())),
            Ok(_) => {}
            Err(ValidityError::Refused(why)) => out.push(check(VALIDITY, false, why)),
            Err(ValidityError::Client(e)) => out.push(check(
                VALIDITY,
                false,
                format!("cannot read GET /gov/service/info: {e}"),
            )),
        }
        let run = match (&self.options.rollback, trusts) {
            (Some(_), _) => "the rollback's",
            (None, true) => "the upgrade's",
            (None, false) => "the run's",
        };
        let duration = expected_duration(&steps, self.spec);
        let warnings = expiring_warnings(&relied_on(obs), jiff::Timestamp::now(), duration);
        const OUTLAST: &str = "certificates outlast the upgrade";
        if warnings.is_empty() {
            out.push(check(
                OUTLAST,
                true,
                format!(
                    "the service certificate and the Trusted nodes' certificates are valid for {run} longest expected duration ({}s) plus a day",
                    duration.as_secs()
                ),
            ));
        }
        out.extend(
            warnings
                .into_iter()
                .map(|w| notice(OUTLAST, Notice::Warning, w)),
        );
        out
    }

    /// Trusted nodes that do not answer (short ids), each asked again a few times: one failed
    /// look is not enough to refuse. A rollback retires every node not of the version it
    /// goes back to (a dead one too): those are not counted.
    async fn unreachable_trusted(&self, view: &ServiceView) -> Vec<String> {
        let stays = |n: &NodeView| {
            self.options.rollback.is_none()
                || n.claims
                    .as_ref()
                    .is_some_and(|c| self.spec.target.matches(c))
        };
        let mut unreachable = Vec::new();
        for n in view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted && !n.reachable && stays(n))
        {
            if !self.answers_again(n.address.as_ref()).await {
                unreachable.push(short_id(&n.node_id).to_string());
            }
        }
        unreachable
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

    /// Reachable trusted nodes (short ids) that name a primary other than `primary`.
    async fn disagreeing_on(&self, view: &ServiceView, primary: &str) -> Vec<String> {
        let mut disagree = Vec::new();
        for n in view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted && n.reachable)
        {
            if let Some(a) = &n.address
                && let Ok(net) = self.probe.network(a).await
                && net.primary_id.as_deref() != Some(primary)
            {
                disagree.push(short_id(&n.node_id).to_string());
            }
        }
        disagree
    }

    /// The steps still to run (`None` before the run is planned: then every command counts).
    fn remaining_steps(&self, view: &ServiceView) -> Option<Vec<Step>> {
        let ctx = self.ctx?;
        let steps = planner::plan(view, self.spec, ctx).steps;
        Some(steps.into_iter().map(|s| s.step).collect())
    }
}

/// [`commands_of`] the remaining steps (`None`, not planned yet: both).
fn commands_needed(remaining: Option<&[Step]>) -> (bool, bool) {
    match remaining {
        Some(steps) => commands_of(&steps.iter().collect::<Vec<_>>()),
        None => (true, true),
    }
}

/// Whether `steps` launch nodes, and whether they stop any (a never-joined node's stop
/// aside: in a rollback its failure is a warning).
fn commands_of(steps: &[&Step]) -> (bool, bool) {
    let launch = steps.iter().any(|s| matches!(s, Step::LaunchNodes { .. }));
    let stop = steps.iter().any(|s| {
        matches!(
            s,
            Step::RetireNode { .. } | Step::RemoveRetired { .. } | Step::RemovePending { .. }
        )
    });
    (launch, stop)
}

fn service_open(status: ServiceStatus) -> Check {
    check(
        "service open",
        status == ServiceStatus::Open,
        format!("service status {status}"),
    )
}

fn majority_running(trusted: usize, unreachable: &[String]) -> Check {
    let answering = trusted - unreachable.len();
    check(
        "a majority of trusted nodes running",
        gates::majority_running(trusted, answering),
        format!("{answering} of {trusted} trusted nodes answer"),
    )
}

fn all_reachable(unreachable: &[String]) -> Check {
    check(
        "all trusted nodes reachable",
        unreachable.is_empty(),
        if unreachable.is_empty() {
            "all answer".into()
        } else {
            format!("not answering: {}", unreachable.join(", "))
        },
    )
}

fn primary_agreed(primary: Option<&str>, disagree: &[String]) -> Check {
    let Some(p) = primary else {
        return check(
            "primary known",
            false,
            "no primary (an election is in progress); retry shortly".into(),
        );
    };
    check(
        "primary known and agreed",
        disagree.is_empty(),
        if disagree.is_empty() {
            format!("primary {}", short_id(p))
        } else {
            format!("nodes {} see another primary", disagree.join(", "))
        },
    )
}

fn members_active(configured: &[&str], active: &[&str]) -> Check {
    let inactive: Vec<String> = configured
        .iter()
        .filter(|id| !active.contains(id))
        .map(|id| short_id(id).to_string())
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
    )
}

/// Informational: too few signers only means proposals wait for other members' votes.
fn signers_for_majority(configured: &[&str], active: &[&str]) -> Check {
    let signers = configured.iter().filter(|id| active.contains(id)).count();
    check(
        "signers for a majority",
        true,
        if signers >= gates::majority(active.len()) {
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
    )
}

/// `constitution`: its text, or why it could not be read.
fn constitution_has(needed: &[&str], constitution: Result<&str, &str>) -> Check {
    const NAME: &str = "constitution has the actions needed";
    let text = match constitution {
        Ok(text) => text,
        Err(e) => return check(NAME, false, format!("cannot read it: {e}")),
    };
    let missing: Vec<&str> = needed
        .iter()
        .filter(|a| !text.contains(&format!("\"{a}\"")) && !text.contains(&format!("'{a}'")))
        .copied()
        .collect();
    check(
        NAME,
        missing.is_empty(),
        if missing.is_empty() {
            format!("{} actions present", needed.len())
        } else {
            format!("missing: {}", missing.join(", "))
        },
    )
}

/// The nodes a run ends with, as the floor check words them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndsWith {
    /// An upgrade: its new nodes.
    NewNodes,
    /// A rollback that launches nodes of the previous version.
    Relaunched,
    /// A rollback that launches nothing: the previous version's nodes that stay.
    Remaining,
}

/// The nodes the run ends with can give the fault-tolerance floor (the rule:
/// [`gates::floor_reachable`]).
fn fault_tolerance_floor(desired: usize, min_fault_tolerance: usize, ends: EndsWith) -> Check {
    let (ok, detail) = gates::floor_reachable(desired, min_fault_tolerance);
    let f = gates::fault_tolerance(desired);
    let detail = match ends {
        EndsWith::NewNodes => detail,
        EndsWith::Relaunched => format!(
            "the rollback ends with {desired} nodes of the previous version: f = {f}; the minimum is {min_fault_tolerance}"
        ),
        EndsWith::Remaining => format!(
            "nothing to launch: the {desired} nodes of the previous version that stay give f = {f}; the minimum is {min_fault_tolerance}"
        ),
    };
    check("fault tolerance floor reachable", ok, detail)
}

/// An SNP target needs a minimum TCB version for its nodes' CPU model in the join policy, or
/// a 6.x/7.x primary refuses them at join ([`version::SNP_MINIMUM_TCB_RULE`]; a conservative
/// guard, as some versions skip the check). No flag lets it through: the fix is a proposal,
/// named in the detail.
fn snp_minimum_tcb(
    spec: &UpgradeSpec,
    view: &ServiceView,
    constitution: Option<&str>,
) -> Option<Check> {
    if spec.target.platform != CodePlatform::Snp {
        return None;
    }
    let target = spec
        .target
        .ccf_version
        .as_deref()
        .and_then(CcfVersion::parse);
    let tcb = view
        .join_policy
        .snp
        .as_ref()
        .and_then(|s| s.tcb_versions.as_ref());
    const NAME: &str = "SNP minimum TCB version set";
    Some(
        match version::snp_minimum_tcb(tcb, constitution, target.as_ref()) {
            None => check(
                NAME,
                true,
                format!(
                    "nodes.snp.tcb_versions has {}",
                    crate::english::count(tcb.map(|t| t.len()).unwrap_or(0), "CPU model")
                ),
            ),
            Some(why) => check(NAME, false, why),
        },
    )
}

/// `owned`: the configured members' open proposals are this run's to finish (resuming our
/// journal, continuing an upgrade started elsewhere) or to withdraw (a rollback).
fn no_conflicting_upgrade(open: &[OpenProposal], configured: &[&str], owned: bool) -> Check {
    let conflicting: Vec<String> = open
        .iter()
        .filter(|p| conflicts(p))
        .filter(|p| !(owned && configured.contains(&p.proposal.proposer_id.as_str())))
        .map(|p| {
            format!(
                "{} ({})",
                short_id(&p.proposal.proposal_id),
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
    )
}

fn no_upgrade_elsewhere(signs: &[String]) -> Check {
    check(
        "no upgrade in progress elsewhere",
        signs.is_empty(),
        if signs.is_empty() {
            "one build, no unknown Pending node of the target".into()
        } else {
            format!(
                "{}: an upgrade seems to be under way that this machine has no journal of. If it is yours (another machine, a lost state directory), continue it with `noderoll apply --adopt`; otherwise let it finish first",
                signs.join("; ")
            )
        },
    )
}

/// Whether the plan's commands can start ([`super::shell::startable`]): what they resolve
/// to, or what is wrong with them.
fn commands_resolve(name: &'static str, verdict: Result<String, String>) -> Check {
    let ok = verdict.is_ok();
    let (Ok(detail) | Err(detail)) = verdict;
    check(name, ok, detail)
}

/// The governance actions the constitution must know for this upgrade.
pub(crate) fn needed_actions(spec: &UpgradeSpec, view: &ServiceView) -> Vec<&'static str> {
    let mut v = vec![TRANSITION_NODE_TO_TRUSTED, REMOVE_NODE];
    v.extend(match spec.target.platform {
        CodePlatform::Virtual => [ADD_VIRTUAL_HOST_DATA, REMOVE_VIRTUAL_HOST_DATA],
        CodePlatform::Snp => [ADD_SNP_HOST_DATA, REMOVE_SNP_HOST_DATA],
    });
    if spec.target.platform == CodePlatform::Snp {
        v.extend([ADD_SNP_MEASUREMENT, REMOVE_SNP_MEASUREMENT]);
    }
    if spec.target.platform == CodePlatform::Virtual
        && view
            .join_policy
            .virtual_
            .as_ref()
            .is_none_or(|p| p.measurements.is_empty())
    {
        v.push(ADD_VIRTUAL_MEASUREMENT);
    }
    v
}

mod guard;
mod snapshot;
#[cfg(test)]
use guard::{running_versions, version_guard};
#[cfg(test)]
mod tests;
