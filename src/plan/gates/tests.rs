//! The gates against fixture services.

use super::*;
use crate::plan::fixtures::{NEW, node, service, spec};

const OLD: &str = "aa";

fn retire(i: usize) -> Step {
    Step::RetireNode {
        node_id: i.to_string().repeat(64),
        address: None,
        primary: false,
    }
}

#[test]
fn arithmetic() {
    let f: Vec<_> = (0..8).map(fault_tolerance).collect();
    assert_eq!(f, [0, 0, 0, 1, 1, 2, 2, 3]);
    let m: Vec<_> = (1..7).map(majority).collect();
    assert_eq!(m, [1, 2, 2, 3, 3, 4]);
    assert_eq!(trust_batch_limit(3, 3), 2);
    assert_eq!(trust_batch_limit(1, 1), 1);
    assert_eq!(f_during_catch_up(3, 3, 2), Some(0));
    assert_eq!(f_during_catch_up(1, 1, 1), None);
}

#[test]
fn every_gate_reads_back_from_its_text() {
    let mut all = FIXED.to_vec();
    all.push(Gate::RetireNode {
        min_fault_tolerance: 2,
    });
    for g in all {
        assert_eq!(Gate::from_text(&g.text()), g);
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(json, serde_json::to_string(&g.text()).unwrap());
        assert_eq!(serde_json::from_str::<Gate>(&json).unwrap(), g);
    }
    // Gates worded differently by an older noderoll still load from its saved plans,
    // and are written back as they were.
    for old in [
        "f after ≥ 1 and every new node healthy",
        "all new nodes trusted and serving",
    ] {
        let json = serde_json::to_string(old).unwrap();
        let gate: Gate = serde_json::from_str(&json).unwrap();
        assert_eq!(gate, Gate::Saved(old.to_string()));
        assert_eq!(serde_json::to_string(&gate).unwrap(), json);
    }
    assert_eq!(
        Gate::RetireNode {
            min_fault_tolerance: 1
        }
        .text(),
        "f after ≥ 1, every new node healthy, a healthy majority left"
    );
}

#[test]
fn a_planned_step_keeps_its_json_form() {
    // As plan --output json and saved plans write it (a soak's `duration` before its unit
    // was named still loads: `step.rs`).
    let text = r#"{"step":{"kind":"soak","duration_ms":1000},"trusted_after":6,"f_after":2,"gate":"all new nodes trusted, caught up and serving","point_of_no_return":false}"#;
    let step: crate::plan::PlannedStep = serde_json::from_str(text).unwrap();
    assert_eq!(step.gate, Gate::Soak);
    assert_eq!(serde_json::to_string(&step).unwrap(), text);
    // An older wording loads and is written back as it was.
    let older = text.replace("caught up and serving", "serving");
    let step: crate::plan::PlannedStep = serde_json::from_str(&older).unwrap();
    assert_eq!(
        step.gate,
        Gate::Saved("all new nodes trusted, serving".into())
    );
    assert_eq!(serde_json::to_string(&step).unwrap(), older);
}

#[test]
fn the_retirement_keeps_the_floor_and_a_healthy_majority() {
    let mut nodes: Vec<_> = (0..3).map(|i| node(i, NodeStatus::Trusted, OLD)).collect();
    nodes.extend((3..6).map(|i| node(i, NodeStatus::Trusted, NEW)));
    let mut v = service(nodes, &[OLD, NEW]);
    let s = spec();
    let gate = Gate::RetireNode {
        min_fault_tolerance: 1,
    };
    assert_eq!(gate.check(&retire(0), &Scene::now(&v, &s.target)), Ok(()));
    let floor = Gate::RetireNode {
        min_fault_tolerance: 3,
    };
    let why = floor
        .check(&retire(0), &Scene::now(&v, &s.target))
        .unwrap_err();
    assert!(why.contains("f = 2 below the minimum 3 (with 5"), "{why}");
    v.nodes[4].ready = false;
    let why = gate
        .check(&retire(0), &Scene::now(&v, &s.target))
        .unwrap_err();
    assert_eq!(
        why,
        "new node 44444444 is not healthy (not serving governance)"
    );
    v.nodes[5].ready = false;
    let why = gate
        .check(&retire(0), &Scene::now(&v, &s.target))
        .unwrap_err();
    assert_eq!(
        why,
        "new nodes 44444444, 55555555 are not healthy (not serving governance)"
    );
    v.nodes[5].ready = true;
    v.nodes[4].ready = true;
    for n in &mut v.nodes[1..3] {
        n.reachable = false;
    }
    v.nodes[3].reachable = false;
    v.nodes[3].claims = None;
    let why = gate
        .check(&retire(0), &Scene::now(&v, &s.target))
        .unwrap_err();
    assert_eq!(
        why,
        "only 2 healthy nodes would remain, fewer than a majority of 5"
    );
}

#[test]
fn finalize_waits_for_every_attestation() {
    let mut v = service(
        (0..3).map(|i| node(i, NodeStatus::Trusted, NEW)).collect(),
        &[OLD, NEW],
    );
    let s = spec();
    let gate = Gate::Finalize { manual: false };
    let step = Step::Finalize { actions: vec![] };
    assert_eq!(gate.check(&step, &Scene::now(&v, &s.target)), Ok(()));
    v.nodes[1].claims = None;
    let why = gate.check(&step, &Scene::now(&v, &s.target)).unwrap_err();
    assert!(
        why.starts_with("trusted node 11111111 does not show what it attests"),
        "{why}"
    );
    assert_eq!(Gate::Soak.check(&step, &Scene::now(&v, &s.target)), Ok(()));
}

#[test]
fn preflight_and_soak_rules() {
    assert_eq!(
        floor_reachable(3, 1),
        (true, "3 new nodes give f = 1; the minimum is 1".into())
    );
    assert!(!floor_reachable(2, 1).0);
    assert!(majority_running(3, 2) && !majority_running(4, 2));
    assert_eq!(soak_level(5, Some(5)), Ok(()));
    assert!(soak_level(4, Some(5)).unwrap_err().contains("committed 4"));
    assert_eq!(soak_heard(Some(3_000), 3_000), Ok(()));
    assert!(soak_heard(Some(3_001), 3_000).is_err());
    let seen = |p: Option<&str>| BTreeSet::from([(p.map(String::from), 2)]);
    assert!(soak_agree(&seen(Some("a"))) && !soak_agree(&seen(None)));
    let v = service(
        vec![
            node(0, NodeStatus::Trusted, OLD),
            node(1, NodeStatus::Trusted, NEW),
            node(2, NodeStatus::Pending, NEW),
        ],
        &[OLD, NEW],
    );
    let judged: Vec<_> = soak_judges(&v, &spec().target)
        .iter()
        .map(|n| n.node_id.clone())
        .collect();
    assert_eq!(judged, [v.nodes[1].node_id.clone()]);
}
