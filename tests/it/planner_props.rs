//! Property tests of the pure planner: random observed services (1–9 nodes, any statuses,
//! the primary anywhere, partial progress, mixed builds, unreachable nodes) and random plan
//! settings. Whatever it sees, the planner keeps CCF's safety rules, and executing the step
//! it chose (on a model of the service) never makes it choose that step again.

use std::time::Duration;

use noderoll::ccf::NodeAddr;
use noderoll::ccf::types::{JoinPolicy, NodeStatus, QuoteClaims, VirtualPolicy};
use noderoll::plan::planner::{self, fault_tolerance, majority};
use noderoll::plan::spec::{NodesSpec, Safety, Strategy as Rollout, VIRTUAL_MEASUREMENT};
use noderoll::plan::{
    CodePlatform, Launched, NodeView, Plan, RunContext, ServiceView, Step, Target, UpgradeSpec,
};
use proptest::prelude::*;

const BUILDS: [&str; 3] = ["aa", "bb", "cc"]; // old, target, some other build
const TARGET: usize = 1;

fn host_data(build: usize) -> String {
    BUILDS[build].repeat(32)
}

#[derive(Debug, Clone)]
struct NodeSeed {
    status: u8,
    build: usize,
    claims_known: bool,
    reachable: bool,
    ready: bool,
    launched_by_us: bool,
    pre_recovery: bool,
}

fn node_seed() -> impl Strategy<Value = NodeSeed> {
    (
        prop_oneof![6 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)],
        prop_oneof![3 => Just(0usize), 3 => Just(1usize), 1 => Just(2usize)],
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.85),
        any::<bool>(),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(status, build, claims_known, reachable, ready, launched_by_us, pre_recovery)| {
                NodeSeed {
                    status,
                    build,
                    claims_known,
                    reachable,
                    ready,
                    launched_by_us,
                    pre_recovery,
                }
            },
        )
}

#[derive(Debug, Clone)]
struct Case {
    view: ServiceView,
    spec: UpgradeSpec,
    ctx: RunContext,
    /// How many of the nodes this run launches come up attesting another build (a launcher
    /// that starts the wrong package): the launch budget must hold against them.
    bad_launches: usize,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(node_seed(), 1..=9),
        any::<prop::sample::Index>(),
        (any::<bool>(), any::<bool>()),
        prop::option::of(1usize..=5),
        0usize..=2,
        any::<bool>(),
        prop::option::of(0usize..=2),
        0usize..=5,
        (0usize..=4, 0usize..=3),
    )
        .prop_map(
            |(
                seeds,
                primary,
                registered,
                count,
                canary,
                sequential,
                min_f,
                soaked,
                (bad_launches, launches),
            )| {
                let nodes: Vec<NodeView> = seeds
                    .iter()
                    .enumerate()
                    .map(|(i, s)| NodeView {
                        node_id: format!("{:064x}", i + 1),
                        status: match s.status {
                            0 => NodeStatus::Trusted,
                            1 => NodeStatus::Pending,
                            _ => NodeStatus::Retired,
                        },
                        address: Some(NodeAddr::new("127.0.0.1", 2000 + i as u16)),
                        claims: s.claims_known.then(|| QuoteClaims {
                            measurement: VIRTUAL_MEASUREMENT.into(),
                            host_data: host_data(s.build),
                            report_data: String::new(),
                        }),
                        version: None,
                        reachable: s.reachable,
                        ready: s.ready && s.reachable,
                        removable: false,
                        retired_before_recovery: s.status == 2 && s.pre_recovery,
                    })
                    .collect();
                let trusted: Vec<&NodeView> = nodes
                    .iter()
                    .filter(|n| n.status == NodeStatus::Trusted)
                    .collect();
                let primary = (!trusted.is_empty()).then(|| primary.get(&trusted).node_id.clone());
                let mut host = vec![host_data(0)];
                if registered.0 {
                    host.push(host_data(TARGET));
                }
                if registered.1 {
                    host.push(host_data(2));
                }
                let launched = nodes
                    .iter()
                    .zip(&seeds)
                    .filter(|(_, s)| s.launched_by_us)
                    .map(|(n, _)| Launched {
                        node_id: Some(n.node_id.clone()),
                        rpc_address: n.address.clone(),
                    })
                    .collect();
                let view = ServiceView {
                    primary,
                    nodes,
                    join_policy: JoinPolicy {
                        virtual_: Some(VirtualPolicy {
                            measurements: vec![VIRTUAL_MEASUREMENT.into()],
                            host_data: host,
                        }),
                        ..Default::default()
                    },
                    primary_startup_seqno: None,
                };
                let count = count.map(|c| c.max(canary + 1));
                let spec = spec(count, canary, sequential, min_f);
                let (desired, min_fault_tolerance) = planner::resolve_context(&view, &spec);
                let ctx = RunContext {
                    launched,
                    soaked_new: soaked.min(desired),
                    desired,
                    min_fault_tolerance,
                    launches: launches.min(desired),
                    ..Default::default()
                };
                Case {
                    view,
                    spec,
                    ctx,
                    bad_launches,
                }
            },
        )
}

fn spec(
    count: Option<usize>,
    canary: usize,
    sequential: bool,
    min_f: Option<usize>,
) -> UpgradeSpec {
    UpgradeSpec {
        target: Target {
            platform: CodePlatform::Virtual,
            host_data: host_data(TARGET),
            ccf_version: None,
            measurement: None,
            security_policy: None,
            uvm_endorsement: None,
            node_cert_validity_days: None,
        },
        nodes: NodesSpec {
            count,
            launch: "l".into(),
            stop: "s".into(),
            max_parallel_launches: 3,
            launch_timeout: Duration::from_secs(60),
            strategy: if sequential {
                Rollout::Sequential
            } else {
                Rollout::Parallel
            },
            canary,
            fresh_snapshot: None,
        },
        hooks: Default::default(),
        notify: None,
        safety: Safety {
            min_fault_tolerance: min_f,
            soak: Duration::from_secs(1),
            step_timeout: Duration::from_secs(60),
            finalize: Default::default(),
            on_failure: Default::default(),
        },
    }
}

fn on_target(n: &NodeView) -> bool {
    n.claims
        .as_ref()
        .is_some_and(|c| c.host_data == host_data(TARGET))
}

fn trusted(v: &ServiceView) -> impl Iterator<Item = &NodeView> {
    v.nodes.iter().filter(|n| n.status == NodeStatus::Trusted)
}

/// A model of what executing `step` does to the service (what the engine waits for).
fn execute(c: &mut Case, step: &Step) {
    let v = &mut c.view;
    match step {
        Step::RegisterCode { .. } => {
            let p = v.join_policy.virtual_.as_mut().unwrap();
            p.host_data.push(host_data(TARGET));
        }
        Step::LaunchNodes { count } => {
            c.ctx.launches += count;
            for _ in 0..*count {
                let i = v.nodes.len() + 100;
                let build = if c.bad_launches > 0 {
                    c.bad_launches -= 1;
                    2
                } else {
                    TARGET
                };
                let n = NodeView {
                    node_id: format!("{i:064x}"),
                    status: NodeStatus::Pending,
                    address: Some(NodeAddr::new("127.0.0.1", 3000 + i as u16)),
                    claims: Some(QuoteClaims {
                        measurement: VIRTUAL_MEASUREMENT.into(),
                        host_data: host_data(build),
                        report_data: String::new(),
                    }),
                    version: None,
                    reachable: true,
                    ready: false,
                    removable: false,
                    retired_before_recovery: false,
                };
                c.ctx.launched.push(Launched {
                    node_id: Some(n.node_id.clone()),
                    rpc_address: n.address.clone(),
                });
                v.nodes.push(n);
            }
        }
        Step::TrustNodes { node_ids, .. } => {
            for n in v.nodes.iter_mut().filter(|n| node_ids.contains(&n.node_id)) {
                n.status = NodeStatus::Trusted;
                n.reachable = true;
                n.ready = true;
            }
        }
        Step::Soak { .. } => c.ctx.soaked_new = planner::count_new(v, &c.spec),
        Step::RetireNode { node_id, .. } => {
            let n = v.nodes.iter_mut().find(|n| n.node_id == *node_id).unwrap();
            n.status = NodeStatus::Retired;
            if v.primary.as_deref() == Some(node_id) {
                let next = trusted(v).find(|n| n.reachable).map(|n| n.node_id.clone());
                v.primary = next;
            }
        }
        Step::RemoveRetired { node_id, .. } | Step::RemovePending { node_id, .. } => {
            v.nodes.retain(|n| n.node_id != *node_id)
        }
        Step::Finalize { .. } => {
            let p = v.join_policy.virtual_.as_mut().unwrap();
            p.host_data.retain(|h| *h == host_data(TARGET));
        }
        other => panic!("an upgrade never plans {other:?}"),
    }
}

fn check_safety(c: &Case, p: &Plan) -> Result<(), TestCaseError> {
    let steps: Vec<&Step> = p.steps.iter().map(|s| &s.step).collect();
    // f never below the floor after a retirement.
    for s in &p.steps {
        if matches!(s.step, Step::RetireNode { .. }) {
            prop_assert!(
                s.f_after >= c.ctx.min_fault_tolerance,
                "retirement leaves f = {} < {}",
                s.f_after,
                c.ctx.min_fault_tolerance
            );
            prop_assert_eq!(s.f_after, fault_tolerance(s.trusted_after));
        }
    }
    // No retirement before the last trust step or before the soak.
    let first_retire = steps
        .iter()
        .position(|s| matches!(s, Step::RetireNode { .. }));
    if let Some(r) = first_retire {
        prop_assert!(
            !steps[r..].iter().any(|s| matches!(
                s,
                Step::LaunchNodes { .. } | Step::TrustNodes { .. } | Step::Soak { .. }
            )),
            "retirement planned before new nodes are trusted and soaked: {steps:?}"
        );
    }
    // The primary last among old nodes.
    if let Some(pi) = steps
        .iter()
        .position(|s| matches!(s, Step::RetireNode { primary: true, .. }))
    {
        prop_assert!(
            !steps[pi + 1..]
                .iter()
                .any(|s| matches!(s, Step::RetireNode { .. })),
            "a retirement after the primary's: {steps:?}"
        );
    }
    // Trust only Pending nodes this run launched that attest the target, or whose
    // attestation CCF keeps unreadable while Pending (checked once they have caught up).
    for s in &steps {
        if let Step::TrustNodes { node_ids, count } = s {
            prop_assert!(node_ids.len() <= *count);
            for id in node_ids {
                let n = c.view.nodes.iter().find(|n| n.node_id == *id).unwrap();
                prop_assert_eq!(n.status, NodeStatus::Pending);
                prop_assert!(on_target(n) || n.claims.is_none());
                prop_assert!(
                    c.ctx.launched.iter().any(|l| l.is(n)),
                    "trusts {id}, not launched"
                );
            }
        }
    }
    // Never more launches than the budget has left, over all the rounds it plans.
    let planned_launches: usize = steps
        .iter()
        .map(|s| match s {
            Step::LaunchNodes { count } => *count,
            _ => 0,
        })
        .sum();
    prop_assert!(
        planned_launches <= c.ctx.launches_left(),
        "plans {planned_launches} launches with {} left",
        c.ctx.launches_left()
    );
    // A node whose attestation is unknown is never retired.
    for s in &steps {
        if let Step::RetireNode { node_id, .. } = s {
            let n = c.view.nodes.iter().find(|n| n.node_id == *node_id).unwrap();
            prop_assert!(
                n.claims.is_some(),
                "retires {node_id}, whose attestation is unknown"
            );
        }
    }
    // Retired nodes from before a disaster recovery are not waited for (CCF #6604).
    for s in &steps {
        if let Step::RemoveRetired { node_id, .. } = s {
            let n = c.view.nodes.iter().find(|n| n.node_id == *node_id).unwrap();
            prop_assert!(
                !n.retired_before_recovery || n.removable || c.ctx.retired.contains(node_id),
                "waits for pre-recovery node {node_id}"
            );
        }
    }
    // Trust batches never stall commits while the caught-up nodes are a majority: each
    // batch leaves them a majority of the configuration that includes the new nodes.
    let mut trusted_now = trusted(&c.view).count();
    let mut caught_up = trusted(&c.view).filter(|n| n.reachable && n.ready).count();
    for s in &p.steps {
        if let Step::TrustNodes { count, .. } = &s.step {
            if 2 * caught_up > trusted_now + 1 {
                prop_assert!(
                    !s.stalls_writes && caught_up >= majority(trusted_now + count),
                    "trusting {count} into {trusted_now} ({caught_up} caught up) stalls commits"
                );
            }
            trusted_now += count;
            caught_up += count;
        }
    }
    // The next step, if a retirement the engine would run now: every new node healthy, a
    // healthy majority left, and the new nodes all there and soaked.
    if let (Some(Step::RetireNode { node_id, .. }), None) = (steps.first(), &p.blocked) {
        let new: Vec<&NodeView> = trusted(&c.view).filter(|n| on_target(n)).collect();
        prop_assert!(
            new.iter().all(|n| n.reachable && n.ready),
            "an unhealthy new node"
        );
        prop_assert!(new.len() >= c.ctx.desired && c.ctx.soaked_new >= c.ctx.desired);
        let after = trusted(&c.view).count() - 1;
        let healthy = trusted(&c.view)
            .filter(|n| n.node_id != *node_id && n.reachable && n.ready)
            .count();
        prop_assert!(healthy >= majority(after), "{healthy} healthy of {after}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_the_safety_rules(c in case()) {
        let p = planner::plan(&c.view, &c.spec, &c.ctx);
        check_safety(&c, &p)?;
    }

    #[test]
    fn executing_a_step_never_makes_it_planned_again(mut c in case()) {
        // Follow the plan for a few steps, as the engine would (not past a closed gate).
        for _ in 0..12 {
            let p = planner::plan(&c.view, &c.spec, &c.ctx);
            check_safety(&c, &p)?;
            let Some(first) = p.steps.first().map(|s| s.step.clone()) else { break };
            if p.blocked.is_some() && matches!(first, Step::RetireNode { .. }) {
                break;
            }
            if matches!(&first, Step::TrustNodes { node_ids, .. } if node_ids.is_empty()) {
                break; // the engine reports "nothing to trust": no progress to model
            }
            if p.launch_budget_spent.is_some() {
                break; // the engine stops here (exit 3)
            }
            let bad_before = c.bad_launches;
            execute(&mut c, &first);
            if c.bad_launches < bad_before {
                // A launch that brought up the wrong build did not take effect: launching
                // again is right, within the budget (checked above and below).
                continue;
            }
            prop_assert!(
                c.ctx.launches <= c.ctx.launch_budget.unwrap_or(c.ctx.desired),
                "launched {} with a budget of {}",
                c.ctx.launches,
                c.ctx.desired
            );
            let again = planner::plan(&c.view, &c.spec, &c.ctx);
            prop_assert_ne!(again.steps.first().map(|s| &s.step), Some(&first), "repeated after executing it");
        }
    }
}
