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

/// A plan whose launch command waits `secs` before it launches (a slow VM or pod start),
/// with `launch_timeout`.
fn slow_launcher_plan(r: &RunningSandbox, secs: f64, launch_timeout: &str) -> std::path::PathBuf {
    let plan = r.plan_path();
    let text = std::fs::read_to_string(&plan).unwrap().replace(
        "launch = \"",
        &format!("launch_timeout = \"{launch_timeout}\"\nlaunch = \"sleep {secs}; "),
    );
    std::fs::write(&plan, text).unwrap();
    plan
}

/// After the run: exactly `count` nodes launched in all, none left Pending, and only the
/// service's nodes running.
fn no_orphans(r: &RunningSandbox, launched: usize) {
    let start = r.sandbox.info().nodes.len();
    r.sandbox.with_world(|w| {
        assert_eq!(w.nodes.len() - start, launched, "nodes launched in all");
        let pending: Vec<&String> = w
            .table
            .iter()
            .filter(|(_, row)| row.status == noderoll::sandbox::world::Status::Pending)
            .map(|(id, _)| id)
            .collect();
        assert!(pending.is_empty(), "Pending nodes left: {pending:?}");
        let running = w.nodes.iter().filter(|n| n.running).count();
        assert_eq!(running, 3, "only the service's three nodes run");
    });
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn killed_while_slow_launches_are_in_flight_the_resume_adopts_them() {
    // Killed as the third launch command starts; the commands outlive the process and
    // finish after the resumed run has begun. It waits for them (their node_data names
    // their launch) instead of launching three more.
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = slow_launcher_plan(&r, 1.5, "60s");
    // Each launch command leaves a mark as it starts: the kill waits for all three, since
    // `launch_started` is reported (and journaled) just before its command is spawned.
    let marks = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&plan).unwrap().replace(
        "launch = \"sleep",
        &format!(
            "launch = \"touch {}/$NODEROLL_NODE_NAME; sleep",
            marks.path().display()
        ),
    );
    std::fs::write(&plan, text).unwrap();
    let state = tempfile::tempdir().unwrap();
    let marked = marks.path().to_path_buf();
    let kill = Trigger::new("launch_started", 3, "noderoll-", move |_, pid| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::read_dir(&marked).unwrap().count() < 3 {
            assert!(
                std::time::Instant::now() < deadline,
                "the three launch commands never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
    });
    let (_, fired) = apply_with(&plan, state.path(), &[], vec![kill]).await;
    assert_eq!(fired, 1, "the third launch was never started");
    // `status` shows the loose ends and who launched them (their node_data says).
    let plan_arg = plan.to_str().unwrap().to_string();
    let shown = eventually("the in-flight launches Pending in status", 20, || {
        let (state, plan_arg) = (state.path().to_path_buf(), plan_arg.clone());
        async move {
            let s = noderoll_in(&state, &["status", "--plan", &plan_arg]).await;
            (s.stdout
                .matches("launched by noderoll as noderoll-")
                .count()
                == 3)
                .then_some(s.stdout)
        }
    })
    .await;
    assert!(shown.contains("Pending"), "{shown}");
    let resumed = noderoll_in(
        state.path(),
        &["apply", "--plan", plan.to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    no_orphans(&r, 3);
}

#[tokio::test]
async fn launches_in_flight_that_never_come_are_cancelled_by_name_before_new_ones() {
    // The in-flight launches take longer than launch_timeout: the resumed run cancels them
    // with the stop command (NODEROLL_NODE_NAME), so they never start, then launches its own.
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = slow_launcher_plan(&r, 6.0, "2s");
    let state = tempfile::tempdir().unwrap();
    apply_killed_at(&plan, state.path(), "launch_started", 3, "noderoll-").await;
    // The resumed run's own launches must be quick.
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("sleep 6; ", "");
    std::fs::write(&plan, text).unwrap();
    let resumed = noderoll_in(
        state.path(),
        &["apply", "--plan", plan.to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(
        resumed.stderr.contains("cancelled with the stop command"),
        "{}",
        resumed.stderr
    );
    // Outlive the cancelled commands: they find their launch cancelled and start nothing.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    no_orphans(&r, 3);
}
