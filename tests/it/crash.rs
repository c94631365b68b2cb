//! Crash safety: the real binary is killed with SIGKILL at many points of a 3-node upgrade
//! (step boundaries, right after a proposal is created and before it is voted on, in the
//! middle of waits), then `apply` runs again. Every run converges with zero duplicate
//! proposals, zero extra launched nodes and zero invariant violations.

use noderoll::ccf::types::NodeStatus;
use noderoll::sandbox::Platform;

use crate::common::*;

/// Kill when the `nth` (1-based) event of `kind` (whose line contains `needle`) is seen.
async fn kill_then_resume(kind: &'static str, nth: usize, needle: &'static str) {
    kill_then(kind, nth, needle, false).await;
}

/// As [`kill_then_resume`]; with `lose_state`, the state directory (journal) is wiped after
/// the kill and the re-run names the Pending nodes to take over with `--adopt`.
async fn kill_then(kind: &'static str, nth: usize, needle: &'static str, lose_state: bool) {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = r.plan_path();
    let state = tempfile::tempdir().unwrap();
    apply_killed_at(&plan, state.path(), kind, nth, needle).await;
    let at: noderoll::ccf::NodeAddr = r.sandbox.info().service_address.parse().unwrap();
    let mut args = vec!["apply", "--plan", plan.to_str().unwrap(), "--yes"];
    let adopt: Vec<String>;
    if lose_state {
        for entry in std::fs::read_dir(state.path()).unwrap() {
            std::fs::remove_dir_all(entry.unwrap().path()).unwrap();
        }
        let nodes = r.client.nodes(&at, &Default::default()).await.unwrap();
        adopt = nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Pending)
            .map(|n| format!("--adopt={}", &n.node_id[..12]))
            .collect();
        assert!(!adopt.is_empty(), "{nodes:?}");
        args.extend(adopt.iter().map(String::as_str));
    }
    // Run again until it converges (a real operator re-runs the same command).
    let second = noderoll_in(state.path(), &args).await;
    assert_eq!(second.code, 0, "resume failed:\n{}", second.stderr);

    let nodes = r.client.nodes(&at, &Default::default()).await.unwrap();
    assert_eq!(
        nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Trusted)
            .count(),
        3,
        "{nodes:?}"
    );
    assert!(
        nodes.iter().all(|n| !r
            .sandbox
            .info()
            .nodes
            .iter()
            .any(|o| o.node_id == n.node_id)),
        "old nodes gone"
    );
    let (launched, unique) = r.launched_and_no_duplicate_proposal();
    assert_eq!(launched, 3, "no extra node launched");
    assert!(unique, "no proposal submitted twice");
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn killed_at_register_points_then_resumed() {
    kill_then_resume("proposal_submitted", 1, "").await; // created, not yet voted
    kill_then_resume("step_finished", 1, "register").await;
    kill_then_resume("node_launched", 1, "").await; // mid-launch
}

#[tokio::test]
async fn killed_at_launch_and_trust_points_then_resumed() {
    kill_then_resume("node_pending", 2, "").await;
    kill_then_resume("step_started", 1, "trust").await;
    kill_then_resume("proposal_submitted", 2, "").await; // trust proposal created, not voted
}

#[tokio::test]
async fn killed_while_waiting_for_new_nodes_then_resumed() {
    kill_then_resume("waiting", 1, "serve governance").await;
    kill_then_resume("node_serving", 1, "").await;
    kill_then_resume("step_started", 1, "soak").await;
}

#[tokio::test]
async fn killed_during_retirements_then_resumed() {
    kill_then_resume("proposal_submitted", 3, "").await; // first retirement created, not voted
    kill_then_resume("waiting", 1, "removable_nodes").await;
    kill_then_resume("node_removed", 1, "").await;
}

#[tokio::test]
async fn killed_around_the_election_and_finalize_then_resumed() {
    kill_then_resume("waiting", 1, "a new primary").await;
    kill_then_resume("election_observed", 1, "").await;
    kill_then_resume("step_started", 1, "remove the old code version").await;
}

/// The journal is lost with the crash: `--adopt` names the Pending nodes to take over, and
/// the upgrade completes without launching more.
#[tokio::test]
async fn journal_lost_then_pending_nodes_adopted_by_id() {
    kill_then("node_pending", 3, "", true).await;
}
