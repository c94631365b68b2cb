//! Snapshots for joining nodes, against the sandbox: a joiner whose snapshot is older than the
//! primary's start is refused (CCF `StartupSeqnoIsOld`) and the error says so; with `[nodes]
//! fresh_snapshot = true` (the default when the primary started from a snapshot) the run makes
//! a committed snapshot first (the `trigger_snapshot` proposal, journaled before it is
//! submitted) and the launches start from it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use noderoll::sandbox::Platform;
use serde_json::Value;

use crate::common::*;

/// The sandbox's nodes started from a snapshot at this seqno.
const PRIMARY_START: u64 = 40;

async fn sandbox() -> RunningSandbox {
    start_sandbox_with(3, Platform::Virtual, 5.0, |o| {
        o.startup_seqno = PRIMARY_START
    })
    .await
}

/// The sandbox's plan with `[nodes]` and `[safety]` lines added.
fn plan(r: &RunningSandbox, nodes: &str, safety: &str) -> PathBuf {
    let path = r.plan_path();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[nodes]\n", &format!("[nodes]\n{nodes}"))
        .replace("step_timeout = \"2m\"", safety);
    std::fs::write(&path, text).unwrap();
    path
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Each of the three new-build nodes started from the snapshot at `seqno`.
fn assert_the_new_nodes_started_from(r: &RunningSandbox, seqno: u64) {
    let next = r.sandbox.info().next_build.host_data.clone();
    r.sandbox.with_world(|w| {
        let starts: Vec<u64> = w
            .nodes
            .iter()
            .filter(|n| n.build.host_data == next)
            .map(|n| n.startup_seqno)
            .collect();
        assert_eq!(starts, vec![seqno; 3]);
    });
}

async fn apply(plan: &Path, state: &Path) -> Ran {
    let p = plan.to_str().unwrap();
    noderoll_in(state, &["apply", "--plan", p, "--yes", "--output", "json"]).await
}

#[tokio::test]
async fn a_joiner_older_than_the_primarys_start_is_refused_and_the_error_says_why() {
    let r = sandbox().await;
    let state = tempfile::tempdir().unwrap();
    let plan = plan(
        &r,
        "fresh_snapshot = false\n",
        "step_timeout = \"3s\"\non_failure = \"stop\"",
    );
    let run = apply(&plan, state.path()).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    for needle in [
        "to appear Pending",
        // The refused joiner shut down (it does not answer): inferred from what it was handed.
        &format!(
            "the service's nodes started from seqno {PRIMARY_START} and the launcher was handed no snapshot"
        ),
        "refused its join with StartupSeqnoIsOld and shut it down",
        "Shutting down node gracefully",
        "[nodes] fresh_snapshot = true",
        "tests/infra/network.py",
        "invalid cert on handshake",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    // Refused, as CCF refuses them: the joiners never entered the node table, and shut down
    // (CCF 6.x/7.0 node_state.h: a 4xx answer to the join is fatal).
    r.sandbox.with_world(|w| {
        let refused = w
            .nodes
            .iter()
            .filter(|n| matches!(&n.lifecycle, noderoll::sandbox::world::Lifecycle::Refused { reason } if reason.starts_with("StartupSeqnoIsOld")))
            .filter(|n| !n.running)
            .count();
        assert_eq!(refused, 3);
        assert_eq!(w.table.len(), 3);
    });
    // Their listeners are closed: /node/state is unreachable.
    let gone: Vec<String> = r.sandbox.with_world(|w| {
        w.nodes
            .iter()
            .filter(|n| !n.running)
            .map(|n| n.address())
            .collect()
    });
    for addr in gone {
        assert!(std::net::TcpStream::connect(&addr).is_err(), "{addr}");
    }
    assert_eq!(r.trusted_count().await, 3);
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn with_a_fresh_snapshot_the_joiners_start_from_it_and_the_trigger_is_journaled_first() {
    let r = sandbox().await;
    let state = tempfile::tempdir().unwrap();
    let plan = plan(&r, "fresh_snapshot = true\n", "step_timeout = \"1m\"");
    let run = apply(&plan, state.path()).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let events = json_lines(&run.stdout);
    let ready = events
        .iter()
        .find(|e| e["type"] == "snapshot_ready")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    let name = ready["name"].as_str().unwrap().to_string();
    let seqno = ready["seqno"].as_u64().unwrap();
    assert!(seqno > PRIMARY_START, "{ready}");
    assert_eq!(
        name,
        r.sandbox
            .with_world(|w| w.committed_snapshot(&name).unwrap().committed_name())
    );
    // Every new node started from it (the launcher got NODEROLL_SNAPSHOT_*) and the service
    // is upgraded.
    let info = r.sandbox.info().clone();
    r.sandbox.with_world(|w| {
        let new: Vec<u64> = w
            .nodes
            .iter()
            .filter(|n| n.build.host_data == info.next_build.host_data)
            .map(|n| n.startup_seqno)
            .collect();
        assert_eq!(new, vec![seqno; 3]);
    });
    assert_eq!(r.sandbox.violations(), vec![]);

    // The journal holds the trigger before the proposal it became.
    let journal = noderoll_in(
        state.path(),
        &[
            "journal",
            "--plan",
            plan.to_str().unwrap(),
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(journal.code, 0, "{}", journal.stderr);
    let records = json_lines(&journal.stdout);
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    let starting = kinds
        .iter()
        .position(|k| *k == "proposal_starting")
        .unwrap_or_else(|| panic!("{kinds:?}"));
    assert_eq!(
        records[starting]["actions"],
        serde_json::json!(["trigger_snapshot"])
    );
    assert_eq!(kinds[starting + 1], "proposal_submitted", "{kinds:?}");
    let first_launch = kinds.iter().position(|k| *k == "launch_started").unwrap();
    assert!(starting < first_launch, "{kinds:?}");
}

/// The snapshot step's kinds in `plan --output json` for the sandbox's plan as it is now.
async fn planned_kinds(plan: &Path, state: &Path) -> Vec<String> {
    let p = plan.to_str().unwrap();
    let ran = noderoll_in(state, &["plan", "--plan", p, "--output", "json"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let doc: Value = serde_json::from_str(ran.stdout.trim()).unwrap();
    doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"]["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn plan_shows_the_snapshot_step_unless_the_plan_turns_it_off() {
    let r = sandbox().await;
    let state = tempfile::tempdir().unwrap();
    // The sandbox goes from one 7.x patch to the next, but its primary started from a
    // snapshot: on by default.
    let kinds = planned_kinds(&r.plan_path(), state.path()).await;
    let at = kinds
        .iter()
        .position(|k| k == "fresh_snapshot")
        .unwrap_or_else(|| panic!("{kinds:?}"));
    assert_eq!(kinds[at + 1], "launch_nodes", "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "fresh_snapshot").count(), 1);
    let p = r.plan_path();
    let human = noderoll_in(state.path(), &["plan", "--plan", p.to_str().unwrap()]).await;
    assert!(
        human.stdout.contains("make a fresh committed snapshot")
            && human.stdout.contains("StartupSeqnoIsOld"),
        "{}",
        human.stdout
    );
    let off = plan(&r, "fresh_snapshot = false\n", "step_timeout = \"2m\"");
    let kinds = planned_kinds(&off, state.path()).await;
    assert!(!kinds.iter().any(|k| k == "fresh_snapshot"), "{kinds:?}");
    // Nothing was proposed.
    assert!(r.sandbox.with_world(|w| w.created_proposals.is_empty()));
}

#[tokio::test]
async fn a_snapshot_that_never_commits_times_out_within_the_step_timeout_naming_the_fix() {
    let r = sandbox().await;
    noderoll::sandbox::control::apply_fault(
        r.sandbox.core(),
        noderoll::sandbox::Fault::NoSnapshots,
    )
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let plan = plan(
        &r,
        "fresh_snapshot = true\n",
        "step_timeout = \"2s\"\non_failure = \"stop\"",
    );
    let started = Instant::now();
    let run = apply(&plan, state.path()).await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    for needle in [
        "make a fresh committed snapshot",
        "timed out after 2s waiting for a committed snapshot at or after seqno",
        "[nodes] fresh_snapshot = false",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    // Nothing was launched.
    assert_eq!(r.sandbox.with_world(|w| w.nodes.len()), 3);
}

#[tokio::test]
async fn where_snapshots_are_not_listed_the_launcher_gets_the_seqno_and_nothing_is_waited_for() {
    let r = sandbox().await;
    noderoll::sandbox::control::apply_fault(
        r.sandbox.core(),
        noderoll::sandbox::Fault::SnapshotReadOff,
    )
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let plan = plan(&r, "fresh_snapshot = true\n", "step_timeout = \"1m\"");
    let run = apply(&plan, state.path()).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let events = json_lines(&run.stdout);
    let warned = events.iter().any(|e| {
        e["type"] == "warning"
            && e["message"].as_str().is_some_and(|m| {
                m.contains("does not list its snapshots") && m.contains("SnapshotRead")
            })
    });
    assert!(warned, "{}", run.stdout);
    let ready = events
        .iter()
        .find(|e| e["type"] == "snapshot_ready")
        .unwrap();
    assert!(ready["name"].is_null(), "{ready}");
    let seqno = ready["seqno"].as_u64().unwrap();
    assert!(seqno > PRIMARY_START, "{ready}");
    // Only NODEROLL_SNAPSHOT_SEQNO reached the launcher: the nodes started from that seqno.
    assert_the_new_nodes_started_from(&r, seqno);
    assert_eq!(r.sandbox.violations(), vec![]);
}

/// Another member's ballot accepts the trigger (member0's run has no transaction id of its
/// own): the seqno to wait from is the one read before the proposal, not a commit seqno read
/// after the acceptance, which may already be past the snapshot.
#[tokio::test]
async fn a_trigger_accepted_by_another_members_ballot_still_finds_its_snapshot() {
    let r = start_sandbox_with(3, Platform::Virtual, 5.0, |o| {
        o.members = 2;
        o.startup_seqno = PRIMARY_START;
    })
    .await;
    let (_, voter) = r.split_member_plans();
    let plan = plan(&r, "fresh_snapshot = true\n", "step_timeout = \"1m\"");
    let follow = tokio::spawn(async move {
        let state = tempfile::tempdir().unwrap();
        let args = ["vote", "--follow", "--plan", voter.to_str().unwrap()];
        let settle = ["--settle", "1s", "--timeout", "2m", "--output", "json"];
        noderoll_in(state.path(), &[&args[..], &settle[..]].concat()).await
    });
    let state = tempfile::tempdir().unwrap();
    let run = apply(&plan, state.path()).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let events = json_lines(&run.stdout);
    let ready = events
        .iter()
        .find(|e| e["type"] == "snapshot_ready")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    let seqno = ready["seqno"].as_u64().unwrap();
    assert!(seqno > PRIMARY_START, "{ready}");
    assert_the_new_nodes_started_from(&r, seqno);
    let follow = tokio::time::timeout(Duration::from_secs(60), follow)
        .await
        .expect("vote --follow did not end")
        .unwrap();
    assert_eq!(follow.code, 0, "{}\n{}", follow.stdout, follow.stderr);
    assert_eq!(r.sandbox.violations(), vec![]);
}

/// Issue 16: the primary started from a snapshot. With `fresh_snapshot` unset, `plan` shows
/// the snapshot step, says no warning, and the upgrade succeeds, its joiners starting from the
/// fresh snapshot (before, the default was off here and the run rolled back, exit 7); with
/// `fresh_snapshot = false`, `plan` (and every run's preflight) warns before any launch,
/// naming the setting as the fix.
#[tokio::test]
async fn plan_warns_when_the_primary_started_from_a_snapshot_and_none_is_made() {
    let r = sandbox().await;
    let state = tempfile::tempdir().unwrap();
    let path = r.plan_path();
    let p = path.to_str().unwrap();
    let quiet = noderoll_in(state.path(), &["plan", "--plan", p]).await;
    let said = format!("{}{}", quiet.stdout, quiet.stderr);
    assert!(
        said.contains("make a fresh committed snapshot")
            && !said.contains("the primary started from a snapshot"),
        "{said}"
    );
    let run = apply(&path, state.path()).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let ready = json_lines(&run.stdout)
        .into_iter()
        .find(|e| e["type"] == "snapshot_ready")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    let seqno = ready["seqno"].as_u64().unwrap();
    assert!(seqno > PRIMARY_START, "{ready}");
    assert_the_new_nodes_started_from(&r, seqno);
    assert_eq!(r.sandbox.violations(), vec![]);

    // Turned off: the warning stays (on a fresh sandbox: this one is upgraded).
    let r = sandbox().await;
    let path = plan(&r, "fresh_snapshot = false\n", "step_timeout = \"2m\"");
    let p = path.to_str().unwrap();
    let warned = noderoll_in(state.path(), &["plan", "--plan", p]).await;
    let said = format!("{}{}", warned.stdout, warned.stderr);
    assert!(
        said.contains(&format!(
            "the primary started from a snapshot at seqno {PRIMARY_START}"
        )) && said.contains("[nodes] fresh_snapshot = true"),
        "{said}"
    );
    let json = noderoll_in(state.path(), &["plan", "--plan", p, "--output", "json"]).await;
    assert!(json.stdout.contains("joiners' snapshot"), "{}", json.stdout);
}
