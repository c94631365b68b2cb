//! The planner's unit tests (the property tests are in `tests/it/planner_props.rs`).

use super::*;
use crate::ccf::NodeAddr;
use crate::ccf::types::{Action, NodeStatus};
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
            .contains("does not show what it attests")
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
    assert!(why.contains("launched 3 nodes (at most 3"), "{why}");
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
