//! The `noderoll` binary against a sandbox that behaves like CCF's source where an earlier
//! engine failed: Pending nodes have no quote of their own, an idle primary signs nothing,
//! a view change closes every older session, trusting as many nodes as there are stalls
//! commits, SNP nodes admitted by UVM endorsement, retired nodes from before a disaster
//! recovery. Each test failed on the engine before these changes.

use std::path::{Path, PathBuf};

use noderoll::ccf::types::{Action, ProposalBody};
use noderoll::sandbox::{Fault, Platform, control::apply_fault};
use serde_json::{Value, json};

use crate::common::*;

fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The sandbox's ready plan, with `edit` applied to its text.
fn plan_with(r: &RunningSandbox, edit: impl FnOnce(String) -> String) -> PathBuf {
    let path = r.plan_path();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
    path
}

async fn apply(plan: &Path, state: &Path) -> Ran {
    apply_with(plan, state, &[], vec![]).await.0
}

/// A sandbox of `n` nodes on `platform` whose launcher starts the *current* build, as a
/// launcher pointed at the wrong package would, and a state directory.
async fn wrong_build_launcher(
    n: usize,
    platform: Platform,
) -> (RunningSandbox, PathBuf, tempfile::TempDir) {
    let r = start_sandbox(n, platform, 5.0).await;
    let old = r.sandbox.info().current_build.host_data.clone();
    let plan = plan_with(&r, |t| {
        t.replace(
            "launch = \"",
            &format!("launch = \"NODEROLL_HOST_DATA={old} "),
        )
    });
    (r, plan, tempfile::tempdir().unwrap())
}

/// An idle service (no application traffic: its commit index moves only with noderoll's own
/// writes) upgraded with the default plan, whose soak is 30 s: exactly `n` launches, no
/// write stall, no invariant violated, and a second apply changes nothing.
async fn idle_service_upgrades_with_the_default_plan(n: usize) {
    let r = start_sandbox(n, Platform::Virtual, 5.0).await;
    let plan = plan_with(&r, |t| t.replace("soak = \"300ms\"\n", ""));
    assert!(!std::fs::read_to_string(&plan).unwrap().contains("soak"));
    let state = tempfile::tempdir().unwrap();
    let run = apply(&plan, state.path()).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let evs = events(&run.stdout);
    let launched = evs.iter().filter(|e| e["type"] == "node_launched").count();
    assert_eq!(launched, n, "exactly [nodes] count launches");
    // Each proposal says what it does (it carried no actions before).
    let proposed: Vec<&Value> = evs
        .iter()
        .filter(|e| e["type"] == "proposal_submitted")
        .collect();
    assert_eq!(proposed[0]["actions"], json!(["add_virtual_host_data"]));
    assert!(
        proposed
            .iter()
            .all(|e| !e["actions"].as_array().unwrap().is_empty())
    );
    assert_eq!(r.sandbox.with_world(|w| w.nodes.len()), 2 * n);
    let stall = r.sandbox.write_stall();
    assert_eq!(
        stall.count, 0,
        "commits never waited for a catch-up: {stall:?}"
    );
    assert_eq!(r.sandbox.violations(), vec![]);
    // A second run: nothing to do, nothing written.
    let writes = r.sandbox.with_world(|w| w.write_requests);
    let again = apply(&plan, state.path()).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        events(&again.stdout)
            .iter()
            .any(|e| e["type"] == "summary" && e["outcome"] == "nothing_to_do"),
        "{}",
        again.stdout
    );
    assert_eq!(r.sandbox.with_world(|w| w.write_requests), writes);
}

#[tokio::test]
async fn an_idle_3_node_service_upgrades_with_the_default_plan() {
    idle_service_upgrades_with_the_default_plan(3).await;
}

#[tokio::test]
async fn an_idle_5_node_service_upgrades_with_the_default_plan() {
    idle_service_upgrades_with_the_default_plan(5).await;
}

#[tokio::test]
async fn an_idle_7_node_service_upgrades_with_the_default_plan() {
    idle_service_upgrades_with_the_default_plan(7).await;
}

#[tokio::test]
async fn a_kept_alive_client_rides_out_a_view_change() {
    // CCF closes every session opened before a view change with `500
    // SessionConsistencyLost` on its next request; the client sends it again on a new
    // connection.
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let before = r.client.network(&r.entry).await.unwrap();
    r.client.members(&r.entry).await.unwrap();
    apply_fault(r.sandbox.core(), Fault::ForceElection).unwrap();
    let view = eventually("a new view", 10, || {
        let v = r.sandbox.with_world(|w| w.primary.as_ref().map(|_| w.view));
        async move { v.filter(|v| *v > before.current_view) }
    })
    .await;
    let after = r.client.network(&r.entry).await.unwrap();
    assert_eq!(after.current_view, view);
    // A governance write on a session that predates the election goes through too.
    let member = r.gov.members()[0].clone();
    let body = ProposalBody {
        actions: vec![Action::new(
            "set_node_data",
            json!({"node_id": before.primary_id.unwrap(), "node_data": {"tag": "x"}}),
        )],
    };
    apply_fault(r.sandbox.core(), Fault::ForceElection).unwrap();
    eventually("another new view", 10, || {
        let v = r.sandbox.with_world(|w| w.primary.as_ref().map(|_| w.view));
        async move { v.filter(|v| *v > view) }
    })
    .await;
    r.gov.propose(&member, &body).await.unwrap();
}

#[tokio::test]
async fn a_launcher_that_starts_the_wrong_build_stops_at_the_launch_budget() {
    // Every launch comes up Pending attesting the old build: three launches and a stop
    // (exit 3) naming them, never a fourth.
    let (r, plan, state) = wrong_build_launcher(3, Platform::Virtual).await;
    let run = apply(&plan, state.path()).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("launch budget is spent"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("not the target"), "{}", run.stderr);
    assert_eq!(
        r.sandbox.with_world(|w| w.nodes.len()),
        6,
        "never a fourth launch"
    );
    // A re-run does not launch either.
    let again = apply(&plan, state.path()).await;
    assert_eq!(again.code, 3, "{}", again.stderr);
    assert_eq!(r.sandbox.with_world(|w| w.nodes.len()), 6);
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn an_snp_node_admitted_under_the_old_version_is_caught_once_trusted() {
    // SNP: CCF keeps no readable report for a Pending node. A node this run launched is
    // trusted on CCF's admission, then its own quote is read once it has caught up: here
    // it runs the old build (still registered), so the upgrade is rolled back.
    let (r, plan, state) = wrong_build_launcher(3, Platform::Snp).await;
    let run = apply(&plan, state.path()).await;
    assert_eq!(run.code, 7, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("its quote attests host data"),
        "{}",
        run.stderr
    );
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn an_snp_upgrade_admitted_by_uvm_endorsement_keeps_the_endorsement() {
    let r = start_sandbox_with(3, Platform::Snp, 5.0, |o| o.uvm = true).await;
    let plan = r.plan_path();
    let state = tempfile::tempdir().unwrap();
    let run = apply(&plan, state.path()).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // The service's stable address: every node the sandbox started with is gone.
    let at: noderoll::ccf::NodeAddr = r.sandbox.info().service_address.parse().unwrap();
    let policy = r.client.join_policy(&at).await.unwrap();
    let snp = policy.snp.unwrap();
    assert_eq!(snp.uvm_endorsements.len(), 1, "the endorsement stays");
    assert!(snp.measurements.is_empty(), "no measurement was pinned");
    assert_eq!(
        snp.host_data.len(),
        1,
        "only the target's host data is left"
    );
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn retired_nodes_from_before_a_recovery_are_left_alone() {
    let r = start_sandbox_with(3, Platform::Virtual, 5.0, |o| o.stale_retired = 2).await;
    let plan = r.plan_path();
    let state = tempfile::tempdir().unwrap();
    let run = apply(&plan, state.path()).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        events(&run.stdout).iter().any(|e| e["type"] == "warning"
            && e["message"].as_str().is_some_and(|m| m.contains("#6604"))),
        "{}",
        run.stdout
    );
    let stale = r.sandbox.with_world(|w| {
        w.table
            .values()
            .filter(|row| row.status == noderoll::sandbox::world::Status::Retired)
            .count()
    });
    assert_eq!(
        stale, 2,
        "the pre-recovery nodes are still there, untouched"
    );
    // And a second run is a no-op, not a wait for them.
    let again = apply(&plan, state.path()).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
}

#[tokio::test]
async fn a_trust_resumed_on_a_later_day_finishes_its_own_open_proposal() {
    // A run killed after its launches; its trust proposal for the first batch stands open
    // with yesterday's valid_from (made here by hand). The resumed run must finish that one,
    // not propose the same trust again with today's date.
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = r.plan_path();
    let state = tempfile::tempdir().unwrap();
    // Killed as its last launch answers: well before it could propose any trust.
    apply_killed_at(&plan, state.path(), "node_launched", 3, "").await;
    let mut pending: Vec<String> = eventually("the three launched nodes Pending", 10, || {
        let (c, at) = (r.client.clone(), r.entry.clone());
        async move {
            let ids: Vec<String> = c
                .nodes(&at, &Default::default())
                .await
                .ok()?
                .into_iter()
                .filter(|n| n.status == noderoll::ccf::types::NodeStatus::Pending)
                .map(|n| n.node_id)
                .collect();
            (ids.len() == 3).then_some(ids)
        }
    })
    .await;
    pending.sort();
    // Yesterday, as noderoll writes it: the start of that day (UTC), ASN.1 UTCTime.
    let yesterday = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24))
        .unwrap()
        .strftime("%y%m%d000000Z")
        .to_string();
    let body = ProposalBody {
        actions: pending[..2]
            .iter()
            .map(|id| {
                Action::new(
                    "transition_node_to_trusted",
                    // Without validity_period_days (an older noderoll, or by hand): CCF
                    // reads that as the service's maximum, what the plan asks for.
                    json!({"node_id": id, "valid_from": yesterday}),
                )
            })
            .collect(),
    };
    let member = r.gov.members()[0].clone();
    let open = r.gov.propose(&member, &body).await.unwrap();
    let run = apply(&plan, state.path()).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let trust_proposals = r.sandbox.with_world(|w| {
        w.created_proposals
            .iter()
            .filter(|b| String::from_utf8_lossy(b).contains("transition_node_to_trusted"))
            .count()
    });
    assert_eq!(
        trust_proposals, 2,
        "the open one (finished) and the second batch's: none proposed again"
    );
    assert!(
        events(&run.stdout)
            .iter()
            .any(|e| e["type"] == "proposal_committed" && e["proposal_id"] == open.proposal_id),
        "{}",
        run.stdout
    );
}
