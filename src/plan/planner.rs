//! Planning: a pure function of (observed service, plan file, what this run launched) that
//! returns the steps still needed, in order, each with the node count and fault tolerance
//! after it and the gate it must pass. No I/O; unit- and property-tested.
//!
//! The rules (CCF's code-upgrade procedure):
//! * register the target code version (all "add" actions in one proposal) before launching;
//! * launch enough new nodes, trust only Pending nodes this run launched whose attestation is
//!   the target's, all in one proposal;
//! * soak, then retire old nodes one at a time, backups first and the primary last, never
//!   leaving f below the minimum or the healthy nodes below a majority;
//! * clean up retired nodes (removable → stop → DELETE);
//! * finalize (remove the old code version: the point of no return) once no old node is left.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::spec::{FinalizeMode, Target, UpgradeSpec};
use crate::ccf::NodeAddr;
use crate::ccf::types::{Action, JoinPolicy, NodeStatus, QuoteClaims};

/// One node as the planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    /// Node id.
    pub node_id: String,
    /// Status in the node table.
    pub status: NodeStatus,
    /// RPC address.
    pub address: Option<NodeAddr>,
    /// What it attests (from its own quote), if it could be read.
    pub claims: Option<QuoteClaims>,
    /// `ccf_version` it reports, if it answered.
    pub version: Option<String>,
    /// Answered at all.
    pub reachable: bool,
    /// `/node/ready/gov` answered 204 over service-certificate TLS.
    pub ready: bool,
    /// Listed by `/node/network/removable_nodes`.
    pub removable: bool,
    /// Retired in the service's previous life: its row was last written before the
    /// transaction that created the current service after a disaster recovery. Such nodes
    /// never become removable on CCF 6.x and early 7.x (CCF #6604).
    pub retired_before_recovery: bool,
}

/// The service as the planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceView {
    /// Current primary.
    pub primary: Option<String>,
    /// Nodes in the node table.
    pub nodes: Vec<NodeView>,
    /// Registered code versions.
    pub join_policy: JoinPolicy,
}

/// A node this run launched (from the launcher's answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launched {
    /// Node id, if the launcher reported it.
    pub node_id: Option<String>,
    /// RPC address, if the launcher reported it.
    pub rpc_address: Option<NodeAddr>,
}

impl Launched {
    /// Whether both describe the same node (same id, or same address when an id is missing).
    pub fn same_node(&self, other: &Launched) -> bool {
        match (&self.node_id, &other.node_id) {
            (Some(a), Some(b)) => a == b,
            _ => self.rpc_address.is_some() && self.rpc_address == other.rpc_address,
        }
    }

    /// Whether `n` is this launched node (by id, else by address).
    pub fn is(&self, n: &NodeView) -> bool {
        match (&self.node_id, &self.rpc_address) {
            (Some(id), _) => *id == n.node_id,
            (None, Some(addr)) => n.address.as_ref() == Some(addr),
            (None, None) => false,
        }
    }
}

/// What this run knows beyond the service.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// Nodes this run launched.
    pub launched: Vec<Launched>,
    /// New trusted nodes when the last soak passed (0: none yet).
    pub soaked_new: usize,
    /// New nodes wanted (resolved once per run).
    pub desired: usize,
    /// Minimum fault tolerance (resolved once per run).
    pub min_fault_tolerance: usize,
    /// Rolling back: the upgrade being abandoned (the spec's target is then the version
    /// rolled back to).
    pub abandon: Option<Abandon>,
    /// Launched nodes (of this run or the abandoned one) already stopped.
    pub stopped: Vec<Launched>,
    /// Launch commands this run has started (adopted nodes of earlier runs not included).
    pub launches: usize,
    /// Most launches this run may start; `None`: the new node count (`desired`).
    pub launch_budget: Option<usize>,
    /// Nodes this run proposed to retire: waited for even when not yet removable.
    pub retired: Vec<String>,
}

impl RunContext {
    /// Launches this run may still start.
    pub fn launches_left(&self) -> usize {
        self.launch_budget
            .unwrap_or(self.desired)
            .saturating_sub(self.launches)
    }
}

/// The upgrade a rollback abandons.
#[derive(Debug, Clone, PartialEq)]
pub struct Abandon {
    /// Its target: Pending nodes attesting it are stopped and removed, and its code version
    /// is deregistered last.
    pub target: Target,
    /// Nodes it launched: any that never joined are stopped.
    pub launched: Vec<Launched>,
}

/// A step of the upgrade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// Register the target code version.
    RegisterCode {
        /// The "add" actions.
        actions: Vec<Action>,
    },
    /// Launch new nodes and wait until each is Pending.
    LaunchNodes {
        /// How many.
        count: usize,
    },
    /// Trust new nodes in one proposal and wait until they serve.
    TrustNodes {
        /// Pending nodes known now (more may come from launches planned before this step).
        node_ids: Vec<String>,
        /// How many will be trusted.
        count: usize,
    },
    /// Watch every node stay healthy for a while.
    Soak {
        /// How long.
        #[serde(with = "duration_ms")]
        duration: Duration,
    },
    /// Retire one old node; stop and delete it once removable.
    RetireNode {
        /// Node id.
        node_id: String,
        /// Its address.
        address: Option<NodeAddr>,
        /// It is the primary (an election follows).
        primary: bool,
    },
    /// A node already retired: stop and delete it once removable.
    RemoveRetired {
        /// Node id.
        node_id: String,
        /// Its address.
        address: Option<NodeAddr>,
    },
    /// Remove the old code version (the point of no return).
    Finalize {
        /// The "remove" actions.
        actions: Vec<Action>,
    },
    /// Rollback: stop a Pending node of the abandoned upgrade, then `remove_node` it.
    RemovePending {
        /// Node id.
        node_id: String,
        /// Its address.
        address: Option<NodeAddr>,
    },
    /// Rollback: stop a node the abandoned upgrade launched that never joined.
    StopLaunched {
        /// What the launcher reported.
        node: Launched,
    },
    /// Rollback: deregister the abandoned code version.
    RemoveAbandonedCode {
        /// The "remove" actions.
        actions: Vec<Action>,
    },
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

impl Step {
    /// A one-line description.
    pub fn describe(&self) -> String {
        let short = |id: &str| id.get(..8).unwrap_or(id).to_string();
        match self {
            Step::RegisterCode { actions } => {
                format!("register the new code version ({})", names(actions))
            }
            Step::LaunchNodes { count } => format!(
                "launch {count} new node{}",
                if *count == 1 { "" } else { "s" }
            ),
            Step::TrustNodes { count, .. } => format!(
                "trust {count} new node{} in one proposal",
                if *count == 1 { "" } else { "s" }
            ),
            Step::Soak { duration } => format!(
                "soak for {}s: new nodes ready, agreeing on primary and view, caught up",
                duration.as_secs_f64()
            ),
            Step::RetireNode {
                node_id, primary, ..
            } => {
                format!(
                    "retire old node {}{}, then stop and delete it",
                    short(node_id),
                    if *primary {
                        " (the primary: election)"
                    } else {
                        ""
                    }
                )
            }
            Step::RemoveRetired { node_id, .. } => {
                format!("stop and delete retired node {}", short(node_id))
            }
            Step::Finalize { actions } => format!(
                "remove the old code version ({} action{})",
                actions.len(),
                if actions.len() == 1 { "" } else { "s" }
            ),
            Step::RemovePending { node_id, .. } => {
                format!("stop Pending node {} and remove it", short(node_id))
            }
            Step::StopLaunched { node } => format!(
                "stop node {} (launched, never joined)",
                node.node_id
                    .as_deref()
                    .map(short)
                    .or_else(|| node.rpc_address.as_ref().map(ToString::to_string))
                    .unwrap_or_default()
            ),
            Step::RemoveAbandonedCode { actions } => {
                format!("remove the abandoned code version ({})", names(actions))
            }
        }
    }

    /// The nodes this step touches (ids, or a description).
    pub fn touches(&self) -> String {
        match self {
            Step::RegisterCode { .. }
            | Step::Finalize { .. }
            | Step::Soak { .. }
            | Step::RemoveAbandonedCode { .. } => "-".into(),
            Step::LaunchNodes { count } => format!("{count} new"),
            Step::TrustNodes { node_ids, count } if node_ids.len() == *count => node_ids
                .iter()
                .map(|i| i.get(..8).unwrap_or(i))
                .collect::<Vec<_>>()
                .join(", "),
            Step::TrustNodes { count, .. } => format!("the {count} launched"),
            Step::RetireNode { node_id, .. }
            | Step::RemoveRetired { node_id, .. }
            | Step::RemovePending { node_id, .. } => node_id.get(..8).unwrap_or(node_id).into(),
            Step::StopLaunched { node } => node
                .node_id
                .as_deref()
                .map(|i| i.get(..8).unwrap_or(i).to_string())
                .or_else(|| node.rpc_address.as_ref().map(ToString::to_string))
                .unwrap_or_default(),
        }
    }

    /// True for steps that change the service.
    pub fn writes(&self) -> bool {
        !matches!(self, Step::Soak { .. })
    }
}

/// Action names, comma-separated.
fn names(actions: &[Action]) -> String {
    actions
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A step with its consequences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStep {
    /// The step.
    pub step: Step,
    /// Trusted nodes after it.
    pub trusted_after: usize,
    /// Fault tolerance after it.
    pub f_after: usize,
    /// Trusting nodes: the fault tolerance while they catch up (only the caught-up nodes
    /// acknowledge, and commit needs a majority of the configuration that includes the new
    /// ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f_during_catch_up: Option<usize>,
    /// Trusting nodes: the caught-up nodes are not a majority of the new configuration, so no
    /// write commits until a new node has caught up (only a 1-node service plans this).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stalls_writes: bool,
    /// What must hold before it runs.
    pub gate: String,
    /// After this step, rolling back is no longer possible.
    pub point_of_no_return: bool,
}

/// The remaining work.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Plan {
    /// Steps in order.
    pub steps: Vec<PlannedStep>,
    /// Things noticed and left alone (unknown Pending nodes, ...).
    pub warnings: Vec<String>,
    /// Why the next step cannot run yet (a gate that does not hold now).
    pub blocked: Option<String>,
    /// The launch budget is spent and the target still lacks nodes: the run stops (exit 3)
    /// rather than launch more. Names the launched nodes and why none qualified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_budget_spent: Option<String>,
}

impl Plan {
    /// Nothing left to do.
    pub fn is_done(&self) -> bool {
        self.steps.is_empty()
    }
}

/// CFT fault tolerance of `n` voting nodes.
pub fn fault_tolerance(n: usize) -> usize {
    n.saturating_sub(1) / 2
}

/// Smallest majority of `n`.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// The most nodes one proposal may trust without stalling commits: with `trusted` voting
/// nodes of which `caught_up` acknowledge, trusting k more needs `caught_up` to stay a
/// majority of `trusted + k` (commit needs a majority of every active configuration, CCF
/// `src/consensus/aft/raft.h`), so k ≤ 2·caught_up − trusted − 1, i.e. k ≤ n − 1 on a healthy
/// service of n. At least 1: a 1-node service cannot add a node any other way.
pub fn trust_batch_limit(trusted: usize, caught_up: usize) -> usize {
    (2 * caught_up).saturating_sub(trusted + 1).max(1)
}

/// The fault tolerance while `k` newly trusted nodes catch up (`None`: writes stall).
pub fn f_during_catch_up(trusted: usize, caught_up: usize, k: usize) -> Option<usize> {
    caught_up.checked_sub(majority(trusted + k))
}

/// Resolve the run-wide numbers from the first observation: the new node count (default:
/// as many as the service has) and the fault-tolerance floor (default: the f of a service of
/// that size, i.e. the f it had before the upgrade began).
pub fn resolve_context(view: &ServiceView, spec: &UpgradeSpec) -> (usize, usize) {
    let Split { old, new, unknown } = split_trusted(view, spec);
    let old = [old, unknown].concat();
    let desired = spec.nodes.count.unwrap_or(old.len().max(new.len()).max(1));
    // The f of the service as it was before the upgrade (not of the larger interim service a
    // resumed run may find), so the floor holds whether a run starts fresh or resumes.
    let min_f = spec
        .safety
        .min_fault_tolerance
        .unwrap_or_else(|| fault_tolerance(old.len().max(new.len())));
    (desired, min_f)
}

/// Trusted nodes already on the target.
pub fn count_new(view: &ServiceView, spec: &UpgradeSpec) -> usize {
    split_trusted(view, spec).new.len()
}

/// Trusted nodes by what they attest.
struct Split<'a> {
    /// Attesting another code version.
    old: Vec<&'a NodeView>,
    /// Attesting the target.
    new: Vec<&'a NodeView>,
    /// Attestation not readable: neither retired nor counted as the target's.
    unknown: Vec<&'a NodeView>,
}

fn split_trusted<'a>(view: &'a ServiceView, spec: &UpgradeSpec) -> Split<'a> {
    let mut out = Split {
        old: Vec::new(),
        new: Vec::new(),
        unknown: Vec::new(),
    };
    for n in view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted)
    {
        match &n.claims {
            Some(c) if spec.target.matches(c) => out.new.push(n),
            Some(_) => out.old.push(n),
            None => out.unknown.push(n),
        }
    }
    out
}

/// Why the launch budget cannot finish the job: each node this run launched and what became
/// of it.
fn budget_spent(view: &ServiceView, spec: &UpgradeSpec, ctx: &RunContext, need: usize) -> String {
    let short = |id: &str| id.get(..8).unwrap_or(id).to_string();
    let fates: Vec<String> = ctx
        .launched
        .iter()
        .map(|l| {
            let name = l
                .node_id
                .as_deref()
                .map(short)
                .or_else(|| l.rpc_address.as_ref().map(ToString::to_string))
                .unwrap_or_else(|| "?".into());
            let fate = match view.nodes.iter().find(|n| l.is(n)) {
                None => "not in the node table (never joined, or removed)".to_string(),
                Some(n) => match (&n.claims, n.status) {
                    (Some(c), _) if !spec.target.matches(c) => format!(
                        "{} but attests host data {}…, not the target",
                        n.status.as_str(),
                        c.host_data.get(..8).unwrap_or(&c.host_data)
                    ),
                    (_, status) => format!("{} (counted)", status.as_str()),
                },
            };
            format!("{name}: {fate}")
        })
        .collect();
    format!(
        "the launch budget is spent: this run launched {} node(s) (at most {}: [nodes] count) and the target still needs {need} more; {}; fix the launcher or the nodes, then re-run",
        ctx.launches,
        ctx.launch_budget.unwrap_or(ctx.desired),
        if fates.is_empty() {
            "no launched node is known".to_string()
        } else {
            fates.join("; ")
        }
    )
}

/// The steps still needed to reach the target.
pub fn plan(view: &ServiceView, spec: &UpgradeSpec, ctx: &RunContext) -> Plan {
    let mut out = Plan::default();
    let target = &spec.target;
    let Split { old, new, unknown } = split_trusted(view, spec);
    let ours = |n: &NodeView| ctx.launched.iter().any(|l| l.is(n));
    let on_target = |n: &NodeView| n.claims.as_ref().is_some_and(|c| target.matches(c));
    let short = |id: &str| id.get(..8).unwrap_or(id).to_string();

    let mut trusted = old.len() + new.len() + unknown.len();
    // Voting nodes that acknowledge: reachable and caught up (ready).
    let mut caught_up = view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted && n.reachable && n.ready)
        .count();
    let push = |out: &mut Plan, step: Step, trusted: usize, gate: &str, ponr: bool| {
        out.steps.push(PlannedStep {
            step,
            trusted_after: trusted,
            f_after: fault_tolerance(trusted),
            f_during_catch_up: None,
            stalls_writes: false,
            gate: gate.to_string(),
            point_of_no_return: ponr,
        });
    };

    // Rolling back: first take away what the abandoned upgrade started and never finished.
    let abandoned = |n: &NodeView| {
        ctx.abandon.as_ref().is_some_and(|a| match &n.claims {
            Some(c) => a.target.matches(c),
            // Unreadable (a Pending SNP node, or one stopped by an interrupted rollback): the
            // abandoned upgrade's own launch is still its to remove.
            None => a.launched.iter().any(|l| l.is(n)),
        })
    };
    if let Some(a) = &ctx.abandon {
        for n in view
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Pending && abandoned(n))
        {
            push(
                &mut out,
                Step::RemovePending {
                    node_id: n.node_id.clone(),
                    address: n.address.clone(),
                },
                trusted,
                "it attests the abandoned code version (or the abandoned upgrade launched it)",
                false,
            );
        }
        for l in &a.launched {
            let joined = view.nodes.iter().any(|n| l.is(n));
            if !joined && !ctx.stopped.iter().any(|s| s.same_node(l)) {
                push(
                    &mut out,
                    Step::StopLaunched { node: l.clone() },
                    trusted,
                    "launched by the abandoned upgrade and not in the node table",
                    false,
                );
            }
        }
    }

    for n in &unknown {
        out.warnings.push(format!(
            "trusted node {} does not show what it attests (no quote in the service's store); it is neither counted as the target's nor retired",
            short(&n.node_id)
        ));
    }
    let mut pending_ours: Vec<&NodeView> = Vec::new();
    // Pending nodes this upgrade launched that will not be trusted: stopped and removed
    // before the run reports success, so none is left behind.
    let mut surplus: Vec<&NodeView> = Vec::new();
    for n in view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Pending && !abandoned(n))
    {
        let id = short(&n.node_id);
        match (ours(n), &n.claims) {
            (true, Some(_)) if on_target(n) => pending_ours.push(n),
            // CCF admitted it (its attestation matched a registered code version) but keeps
            // no readable report for a Pending node on SNP: this run launched it for the
            // target, so it is trusted and its quote checked once it has caught up.
            (true, None) => pending_ours.push(n),
            (true, Some(_)) => {
                out.warnings.push(format!(
                    "node {id} was launched by this run but does not attest the target code version; it is not trusted"
                ));
                surplus.push(n);
            }
            (false, _) => out.warnings.push(format!(
                "unknown Pending node {id} (not launched by this run) is left alone; `apply --adopt {id}` takes it over"
            )),
        }
    }

    let need_new = ctx.desired.saturating_sub(new.len());
    let sequential = spec.nodes.strategy == super::spec::Strategy::Sequential;
    // A canary: the first nodes are launched, trusted and soaked before the rest.
    let canary = spec.nodes.canary.min(ctx.desired);
    let canary_round = canary > 0 && new.len() < canary;
    let canary_unsoaked =
        canary > 0 && new.len() >= canary && need_new > 0 && ctx.soaked_new < canary;
    let per_round = if canary_round {
        canary - new.len()
    } else if sequential {
        need_new.min(1)
    } else {
        need_new
    };
    let soak = Step::Soak {
        duration: spec.safety.soak,
    };
    let mut waiting: Vec<String> = pending_ours.iter().map(|n| n.node_id.clone()).collect();

    if need_new > 0 {
        let register = target.register_actions(&view.join_policy);
        if !register.is_empty() {
            push(
                &mut out,
                Step::RegisterCode { actions: register },
                trusted,
                "no other proposal of this run open",
                false,
            );
        }
        if canary_unsoaked {
            push(
                &mut out,
                soak.clone(),
                trusted,
                "the canary trusted and serving",
                false,
            );
        }
        let mut launches_left = ctx.launches_left();
        let mut remaining = need_new;
        let mut round = per_round;
        let mut first_round = true;
        while remaining > 0 {
            let to_launch = round.saturating_sub(waiting.len());
            let launch_now = to_launch.min(launches_left);
            if launch_now < to_launch && out.launch_budget_spent.is_none() {
                out.launch_budget_spent = Some(budget_spent(view, spec, ctx, remaining));
            }
            if launch_now > 0 {
                push(
                    &mut out,
                    Step::LaunchNodes { count: launch_now },
                    trusted,
                    if first_round {
                        "target code version registered"
                    } else {
                        "the previous new nodes trusted"
                    },
                    false,
                );
                launches_left -= launch_now;
            }
            // Trust the round in batches the caught-up nodes can commit without.
            let mut left = round;
            while left > 0 {
                let k = left.min(trust_batch_limit(trusted, caught_up));
                let take = k.min(waiting.len());
                let node_ids: Vec<String> = waiting.drain(..take).collect();
                let during = f_during_catch_up(trusted, caught_up, k);
                trusted += k;
                push(
                    &mut out,
                    Step::TrustNodes { node_ids, count: k },
                    trusted,
                    if first_round && left == round {
                        "each node launched by this run, Pending, attesting the target (or, where CCF keeps no readable report, admitted by CCF: its quote is checked once it has caught up)"
                    } else {
                        "the nodes trusted before caught up; the launched nodes Pending"
                    },
                    false,
                );
                if let Some(last) = out.steps.last_mut() {
                    last.f_during_catch_up = Some(during.unwrap_or(0));
                    last.stalls_writes = during.is_none();
                }
                caught_up += k;
                left -= k;
            }
            remaining -= round;
            if first_round && canary_round && remaining > 0 {
                push(
                    &mut out,
                    soak.clone(),
                    trusted,
                    "the canary trusted and serving",
                    false,
                );
            }
            first_round = false;
            round = if sequential { 1 } else { remaining };
        }
    }

    // A clean rollback keeps nodes that ran all along: nothing new to soak. One that rolled
    // forward launched replacements (they are among the nodes it launched): those are soaked
    // before anything is retired, also once they are all trusted.
    let rolled_forward = new.iter().any(|n| ours(n));
    let clean_rollback = ctx.abandon.is_some() && need_new == 0 && !rolled_forward;
    if !old.is_empty() && ctx.soaked_new < ctx.desired && !clean_rollback {
        push(
            &mut out,
            soak,
            trusted,
            "all new nodes trusted, caught up and serving",
            false,
        );
    }

    // Retire backups first (in id order, for a stable plan), the primary last.
    let mut order: Vec<&NodeView> = old.clone();
    order.sort_by_key(|n| {
        (
            view.primary.as_deref() == Some(n.node_id.as_str()),
            n.node_id.clone(),
        )
    });
    let planning_ahead = !out.steps.is_empty();
    for n in order {
        let after = trusted - 1;
        if fault_tolerance(after) < ctx.min_fault_tolerance {
            out.blocked.get_or_insert(format!(
                "retiring {} would leave f = {} below the minimum {} (with {after} trusted nodes); \
                 launch more new nodes ([nodes] count) or lower [safety] min_fault_tolerance",
                short(&n.node_id),
                fault_tolerance(after),
                ctx.min_fault_tolerance
            ));
            break;
        }
        if !planning_ahead && out.blocked.is_none() {
            // The next step is this retirement: its gate must hold on the service as it is.
            let unhealthy: Vec<String> = new
                .iter()
                .filter(|m| !(m.reachable && m.ready))
                .map(|m| short(&m.node_id))
                .collect();
            let healthy_after = view
                .nodes
                .iter()
                .filter(|m| {
                    m.status == NodeStatus::Trusted
                        && m.node_id != n.node_id
                        && m.reachable
                        && m.ready
                })
                .count();
            if !unhealthy.is_empty() {
                out.blocked = Some(format!(
                    "new node(s) {} not healthy (not serving governance)",
                    unhealthy.join(", ")
                ));
            } else if healthy_after < majority(after) {
                out.blocked = Some(format!(
                    "only {healthy_after} healthy node(s) would remain, fewer than a majority of {after}"
                ));
            }
        }
        trusted = after;
        push(
            &mut out,
            Step::RetireNode {
                node_id: n.node_id.clone(),
                address: n.address.clone(),
                primary: view.primary.as_deref() == Some(n.node_id.as_str()),
            },
            trusted,
            &format!(
                "f after ≥ {}, every new node healthy, a healthy majority left",
                ctx.min_fault_tolerance
            ),
            false,
        );
    }

    for n in view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Retired)
    {
        // Wait only for retirements that complete: listed as removable already, or retired by
        // this run. A node retired before a disaster recovery never becomes removable on CCF
        // 6.x and early 7.x (CCF #6604): waiting for it would time out every run.
        let ours = ctx.retired.contains(&n.node_id);
        if !n.removable && !ours && n.retired_before_recovery {
            out.warnings.push(format!(
                "retired node {} is from before the service's last disaster recovery and never becomes removable (CCF #6604); it is left alone",
                short(&n.node_id)
            ));
            continue;
        }
        push(
            &mut out,
            Step::RemoveRetired {
                node_id: n.node_id.clone(),
                address: n.address.clone(),
            },
            trusted,
            "listed by removable_nodes",
            false,
        );
    }

    // Launched by this upgrade and more than it needs (a crash left launches in flight that
    // came up after others replaced them), or not the target's.
    surplus.extend(pending_ours.iter().filter(|n| waiting.contains(&n.node_id)));
    for n in surplus {
        push(
            &mut out,
            Step::RemovePending {
                node_id: n.node_id.clone(),
                address: n.address.clone(),
            },
            trusted,
            "launched by this upgrade and not needed (or not attesting the target): stopped, then removed",
            false,
        );
    }

    if let Some(a) = &ctx.abandon {
        let actions = a.target.deregister_actions(&view.join_policy, target);
        if !actions.is_empty() {
            push(
                &mut out,
                Step::RemoveAbandonedCode { actions },
                trusted,
                "no node of the abandoned code version left",
                false,
            );
        }
        return out;
    }

    let finalize = target.finalize_actions(&view.join_policy);
    let old_remains = !old.is_empty()
        || out
            .steps
            .iter()
            .any(|s| matches!(s.step, Step::RetireNode { .. }));
    if !finalize.is_empty() && (old_remains || out.blocked.is_none()) {
        if !unknown.is_empty() && out.blocked.is_none() && out.steps.is_empty() {
            // An unknown node may be an old one: removing the old version could lock it out
            // of rejoining, or strand it. Wait until its attestation can be read.
            out.blocked = Some(format!(
                "trusted node(s) {} do not show what they attest; finalize waits until they do",
                unknown
                    .iter()
                    .map(|n| short(&n.node_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        push(
            &mut out,
            Step::Finalize { actions: finalize },
            trusted,
            match spec.safety.finalize {
                FinalizeMode::Auto => {
                    "no old node left; every node reports the target and shows what it attests"
                }
                FinalizeMode::Manual => {
                    "no old node left; [safety] finalize = \"manual\": only `noderoll finalize` runs it"
                }
            },
            true,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{NEW, node, service, spec};

    const OLD: &str = "aa";

    fn kinds(p: &Plan) -> Vec<String> {
        p.steps
            .iter()
            .map(|s| {
                serde_json::to_value(&s.step).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn a_fresh_three_node_upgrade() {
        let v = service(
            (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect(),
            &[OLD],
        );
        let s = spec();
        let (desired, min_f) = resolve_context(&v, &s);
        assert_eq!((desired, min_f), (3, 1));
        let p = plan(
            &v,
            &s,
            &RunContext {
                desired,
                min_fault_tolerance: min_f,
                ..Default::default()
            },
        );
        assert_eq!(
            kinds(&p),
            [
                "register_code",
                "launch_nodes",
                "trust_nodes",
                "trust_nodes",
                "soak",
                "retire_node",
                "retire_node",
                "retire_node",
                "finalize"
            ]
        );
        // Two into three caught-up nodes, then the third once they have caught up: the
        // caught-up nodes stay a majority of every configuration, so commits never stall.
        let trust: Vec<_> = p
            .steps
            .iter()
            .filter(|s| matches!(s.step, Step::TrustNodes { .. }))
            .map(|s| (s.trusted_after, s.f_during_catch_up, s.stalls_writes))
            .collect();
        assert_eq!(trust, [(5, Some(0), false), (6, Some(1), false)]);
        let retired: Vec<_> = p
            .steps
            .iter()
            .filter_map(|s| match &s.step {
                Step::RetireNode { primary, .. } => Some(*primary),
                _ => None,
            })
            .collect();
        assert_eq!(retired, [false, false, true], "the primary is retired last");
        let f: Vec<_> = p.steps.iter().map(|s| s.f_after).collect();
        assert_eq!(f, [1, 1, 2, 2, 2, 2, 1, 1, 1]);
        assert!(p.steps.last().unwrap().point_of_no_return);
        assert!(p.blocked.is_none());
    }

    #[test]
    fn sequential_adds_one_node_per_round() {
        let v = service(
            (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect(),
            &[OLD],
        );
        let mut s = spec();
        s.nodes.strategy = crate::plan::spec::Strategy::Sequential;
        let p = plan(
            &v,
            &s,
            &RunContext {
                desired: 3,
                min_fault_tolerance: 1,
                ..Default::default()
            },
        );
        assert_eq!(
            kinds(&p)[..7],
            [
                "register_code",
                "launch_nodes",
                "trust_nodes",
                "launch_nodes",
                "trust_nodes",
                "launch_nodes",
                "trust_nodes"
            ]
        );
        let trusted: Vec<_> = p.steps.iter().map(|s| s.trusted_after).collect();
        assert_eq!(trusted[..7], [3, 3, 4, 4, 5, 5, 6]);
    }

    #[test]
    fn a_canary_goes_first_and_is_soaked() {
        let v = service(
            (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect(),
            &[OLD],
        );
        let mut s = spec();
        s.nodes.canary = 1;
        let p = plan(
            &v,
            &s,
            &RunContext {
                desired: 3,
                min_fault_tolerance: 1,
                ..Default::default()
            },
        );
        assert_eq!(
            kinds(&p)[..6],
            [
                "register_code",
                "launch_nodes",
                "trust_nodes",
                "soak",
                "launch_nodes",
                "trust_nodes"
            ]
        );
        assert_eq!(p.steps[1].step, Step::LaunchNodes { count: 1 });
        assert_eq!(p.steps[4].step, Step::LaunchNodes { count: 2 });
        assert_eq!(kinds(&p)[6], "soak");
        // Canary trusted but not yet soaked: soak before launching the rest.
        let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect();
        nodes.push(node(7, NodeStatus::Trusted, NEW));
        let v = service(nodes, &[OLD, NEW]);
        let p = plan(
            &v,
            &s,
            &RunContext {
                desired: 3,
                min_fault_tolerance: 1,
                ..Default::default()
            },
        );
        assert_eq!(kinds(&p)[..3], ["soak", "launch_nodes", "trust_nodes"]);
        let p = plan(
            &v,
            &s,
            &RunContext {
                desired: 3,
                min_fault_tolerance: 1,
                soaked_new: 1,
                ..Default::default()
            },
        );
        assert_eq!(kinds(&p)[..2], ["launch_nodes", "trust_nodes"]);
    }

    #[test]
    fn a_resumed_run_keeps_the_original_floor() {
        let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect();
        nodes.extend((3..6).map(|i| node(i, NodeStatus::Trusted, NEW)));
        let v = service(nodes, &[OLD, NEW]);
        assert_eq!(
            resolve_context(&v, &spec()),
            (3, 1),
            "f of 3 nodes, not of the 6 seen mid-upgrade"
        );
    }

    #[test]
    fn nothing_to_do_once_upgraded() {
        let v = service(
            (0..3).map(|i| node(i, NodeStatus::Trusted, NEW)).collect(),
            &[NEW],
        );
        let s = spec();
        let (desired, min_f) = resolve_context(&v, &s);
        assert!(
            plan(
                &v,
                &s,
                &RunContext {
                    desired,
                    min_fault_tolerance: min_f,
                    ..Default::default()
                }
            )
            .is_done()
        );
    }

    #[test]
    fn unknown_pending_nodes_are_never_trusted() {
        let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect();
        nodes.push(node(9, NodeStatus::Pending, NEW));
        let v = service(nodes, &[OLD, NEW]);
        let p = plan(
            &v,
            &spec(),
            &RunContext {
                desired: 3,
                min_fault_tolerance: 1,
                ..Default::default()
            },
        );
        match &p
            .steps
            .iter()
            .find(|s| matches!(s.step, Step::TrustNodes { .. }))
            .unwrap()
            .step
        {
            Step::TrustNodes { node_ids, .. } => assert!(node_ids.is_empty()),
            _ => unreachable!(),
        }
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("unknown Pending node 99999999"))
        );
    }

    #[test]
    fn a_floor_that_cannot_hold_blocks_retirement() {
        let v = service(
            (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect(),
            &[OLD],
        );
        let p = plan(
            &v,
            &spec(),
            &RunContext {
                desired: 3,
                min_fault_tolerance: 2,
                ..Default::default()
            },
        );
        assert!(
            p.blocked
                .as_deref()
                .unwrap()
                .contains("below the minimum 2"),
            "{:?}",
            p.blocked
        );
    }

    fn rollback_ctx(v: &ServiceView, launched: Vec<Launched>) -> (UpgradeSpec, RunContext) {
        let s = spec();
        let crate::plan::rollback::RollbackFrom::To(previous) =
            crate::plan::rollback::previous_target(v, &s)
        else {
            panic!("a rollback is possible")
        };
        let back = UpgradeSpec {
            target: previous,
            ..s.clone()
        };
        let (desired, min_fault_tolerance) = crate::plan::rollback::resolve_context(v, &back);
        let ctx = RunContext {
            desired,
            min_fault_tolerance,
            abandon: Some(Abandon {
                target: s.target,
                launched,
            }),
            ..Default::default()
        };
        (back, ctx)
    }

    #[test]
    fn a_clean_rollback_removes_what_the_upgrade_added_and_launches_nothing() {
        let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect();
        nodes.push(node(4, NodeStatus::Trusted, NEW));
        nodes.push(node(5, NodeStatus::Pending, NEW));
        nodes.push(node(6, NodeStatus::Pending, "cc"));
        let v = service(nodes, &[OLD, NEW]);
        let never_joined = Launched {
            node_id: Some("7".repeat(64)),
            rpc_address: None,
        };
        let (back, mut ctx) = rollback_ctx(&v, vec![never_joined.clone()]);
        assert_eq!(ctx.desired, 3);
        let p = plan(&v, &back, &ctx);
        assert_eq!(
            kinds(&p),
            [
                "remove_pending",
                "stop_launched",
                "retire_node",
                "remove_abandoned_code"
            ]
        );
        assert!(p.steps.iter().all(|s| !s.point_of_no_return));
        assert_eq!(
            p.steps[3].step,
            Step::RemoveAbandonedCode {
                actions: vec![Action::new(
                    "remove_virtual_host_data",
                    serde_json::json!({ "host_data": NEW.repeat(32) })
                )]
            }
        );
        assert!(
            p.warnings.iter().any(|w| w.contains("66666666")),
            "a Pending node of another build is left alone: {:?}",
            p.warnings
        );
        // Once stopped, a never-joined node is not stopped again.
        ctx.stopped.push(Launched {
            node_id: never_joined.node_id,
            rpc_address: Some(NodeAddr::new("127.0.0.1", 1)),
        });
        assert!(!kinds(&plan(&v, &back, &ctx)).contains(&"stop_launched".to_string()));
    }

    #[test]
    fn a_pending_node_stopped_by_an_interrupted_rollback_is_still_removed() {
        let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect();
        // Stopped before its removal was proposed: it no longer shows what it runs.
        let mut stopped = node(5, NodeStatus::Pending, NEW);
        (stopped.claims, stopped.reachable, stopped.ready) = (None, false, false);
        let mut stranger = node(6, NodeStatus::Pending, NEW);
        (stranger.claims, stranger.reachable) = (None, false);
        nodes.extend([stopped.clone(), stranger]);
        let v = service(nodes, &[OLD, NEW]);
        let ours = Launched {
            node_id: Some(stopped.node_id.clone()),
            rpc_address: stopped.address.clone(),
        };
        let (back, ctx) = rollback_ctx(&v, vec![ours]);
        let p = plan(&v, &back, &ctx);
        assert_eq!(kinds(&p), ["remove_pending", "remove_abandoned_code"]);
        assert!(
            matches!(&p.steps[0].step, Step::RemovePending { node_id, .. } if *node_id == stopped.node_id)
        );
        // A Pending node nobody here launched is still left alone.
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("unknown Pending node 66666666")),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn after_retirements_a_rollback_rolls_forward() {
        let mut nodes: Vec<_> = (0..2).map(|i| node(i, NodeStatus::Trusted, OLD)).collect();
        nodes.extend((3..6).map(|i| node(i, NodeStatus::Trusted, NEW)));
        let v = service(nodes, &[OLD, NEW]);
        let (back, ctx) = rollback_ctx(&v, vec![]);
        let p = plan(&v, &back, &ctx);
        assert_eq!(
            kinds(&p),
            [
                "launch_nodes",
                "trust_nodes",
                "soak",
                "retire_node",
                "retire_node",
                "retire_node",
                "remove_abandoned_code"
            ]
        );
        assert_eq!(p.steps[0].step, Step::LaunchNodes { count: 1 });
        let f: Vec<_> = p.steps.iter().map(|s| s.f_after).collect();
        assert!(f.iter().all(|f| *f >= 1), "{f:?}");
    }

    #[test]
    fn a_rollback_that_rolled_forward_soaks_its_replacement_once_trusted() {
        // The replacement of the previous build is launched by the rollback and trusted: it
        // is soaked before the new nodes are retired (it was skipped once trusted).
        let mut nodes: Vec<_> = (0..2).map(|i| node(i, NodeStatus::Trusted, OLD)).collect();
        nodes.push(node(2, NodeStatus::Trusted, OLD));
        nodes.extend((3..6).map(|i| node(i, NodeStatus::Trusted, NEW)));
        let v = service(nodes, &[OLD, NEW]);
        let (back, mut ctx) = rollback_ctx(&v, vec![]);
        ctx.launched.push(Launched {
            node_id: Some(v.nodes[2].node_id.clone()),
            rpc_address: None,
        });
        let p = plan(&v, &back, &ctx);
        assert_eq!(kinds(&p)[0], "soak", "{:?}", kinds(&p));
    }

    #[test]
    fn an_unhealthy_new_node_blocks_the_next_retirement() {
        let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect();
        for i in 3..6 {
            nodes.push(node(i, NodeStatus::Trusted, NEW));
        }
        nodes[4].ready = false;
        let v = service(nodes, &[OLD, NEW]);
        let p = plan(
            &v,
            &spec(),
            &RunContext {
                desired: 3,
                min_fault_tolerance: 1,
                soaked_new: 3,
                ..Default::default()
            },
        );
        assert_eq!(kinds(&p)[0], "retire_node");
        assert!(
            p.blocked.as_deref().unwrap().contains("not healthy"),
            "{:?}",
            p.blocked
        );
    }

    fn ctx(desired: usize) -> RunContext {
        RunContext {
            desired,
            min_fault_tolerance: fault_tolerance(desired),
            ..Default::default()
        }
    }

    #[test]
    fn a_trusted_node_of_unknown_attestation_is_neither_new_nor_retired() {
        let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, NEW)).collect();
        nodes.push(node(3, NodeStatus::Trusted, OLD));
        nodes[3].claims = None;
        let v = service(nodes, &[OLD, NEW]);
        let p = plan(
            &v,
            &spec(),
            &RunContext {
                soaked_new: 3,
                ..ctx(3)
            },
        );
        assert_eq!(kinds(&p), ["finalize"], "never retired: {:?}", kinds(&p));
        assert!(
            p.blocked
                .as_deref()
                .unwrap()
                .contains("do not show what they attest")
        );
        assert!(p.warnings.iter().any(|w| w.contains("neither counted")));
    }

    #[test]
    fn a_pending_node_this_run_launched_whose_attestation_is_unreadable_is_trusted() {
        // SNP: CCF's governance view keeps no report for a Pending node.
        let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect();
        let mut ours = node(7, NodeStatus::Pending, NEW);
        ours.claims = None;
        let mut foreign = node(8, NodeStatus::Pending, NEW);
        foreign.claims = None;
        nodes.extend([ours.clone(), foreign.clone()]);
        let v = service(nodes, &[OLD, NEW]);
        let launched = vec![Launched {
            node_id: Some(ours.node_id.clone()),
            rpc_address: None,
        }];
        let p = plan(
            &v,
            &spec(),
            &RunContext {
                launched,
                desired: 1,
                min_fault_tolerance: 1,
                ..Default::default()
            },
        );
        match &p.steps[0].step {
            Step::TrustNodes { node_ids, .. } => assert_eq!(node_ids, &[ours.node_id.clone()]),
            other => panic!("{other:?}"),
        }
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("unknown Pending node 88888888"))
        );
    }

    #[test]
    fn the_launch_budget_is_never_exceeded_and_says_why() {
        let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect();
        // All three launches came up Pending on another build.
        let mut launched = Vec::new();
        for i in 4..7 {
            let n = node(i, NodeStatus::Pending, "cc");
            launched.push(Launched {
                node_id: Some(n.node_id.clone()),
                rpc_address: None,
            });
            nodes.push(n);
        }
        let v = service(nodes, &[OLD, NEW, "cc"]);
        let p = plan(
            &v,
            &spec(),
            &RunContext {
                launched,
                launches: 3,
                ..ctx(3)
            },
        );
        assert!(
            !kinds(&p).contains(&"launch_nodes".to_string()),
            "{:?}",
            kinds(&p)
        );
        let why = p.launch_budget_spent.expect("spent");
        assert!(why.contains("launched 3 node(s)"), "{why}");
        assert!(
            why.contains("44444444: Pending but attests host data cccccccc"),
            "{why}"
        );
    }

    #[test]
    fn a_one_node_service_shows_the_unavoidable_write_stall() {
        let v = service(vec![node(0, NodeStatus::Trusted, OLD)], &[OLD]);
        let p = plan(&v, &spec(), &ctx(1));
        let trust = p
            .steps
            .iter()
            .find(|s| matches!(s.step, Step::TrustNodes { .. }))
            .unwrap();
        assert!(trust.stalls_writes);
        assert_eq!(trust.f_during_catch_up, Some(0));
    }

    #[test]
    fn retired_nodes_from_before_a_recovery_are_left_alone() {
        let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, NEW)).collect();
        let mut stale = node(5, NodeStatus::Retired, OLD);
        stale.retired_before_recovery = true;
        let mut ours = node(6, NodeStatus::Retired, OLD);
        ours.retired_before_recovery = true;
        nodes.extend([stale, ours.clone(), node(7, NodeStatus::Retired, OLD)]);
        let v = service(nodes, &[NEW]);
        let p = plan(
            &v,
            &spec(),
            &RunContext {
                soaked_new: 3,
                retired: vec![ours.node_id.clone()],
                ..ctx(3)
            },
        );
        let removed: Vec<&str> = p
            .steps
            .iter()
            .filter_map(|s| match &s.step {
                Step::RemoveRetired { node_id, .. } => Some(&node_id[..1]),
                _ => None,
            })
            .collect();
        assert_eq!(removed, ["6", "7"]);
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("55555555") && w.contains("#6604"))
        );
    }
}
