//! The product, end to end: the `noderoll` binary plans and applies CCF's code upgrade against
//! the sandbox through the command-launcher contract, with zero invariant violations.

use std::path::PathBuf;

use noderoll::ccf::types::{Action, NodeStatus, ProposalBody};
use noderoll::sandbox::Platform;
use noderoll::wait::Cancel;
use serde_json::{Value, json};

use crate::common::*;

/// The binary with a state directory shared by these tests (keyed per service inside).
async fn noderoll(args: &[&str]) -> Ran {
    let state = std::env::temp_dir().join("noderoll-test-state");
    noderoll_in(&state, args).await
}

fn plan_path(r: &RunningSandbox) -> PathBuf {
    r.dir.path().join(&r.sandbox.info().plan)
}

/// A run's JSON Lines, each valid under `schemas/run-stream.json`.
fn events(stdout: &str) -> Vec<Value> {
    output_schema::lines("run-stream", stdout)
}

fn writes(r: &RunningSandbox) -> u64 {
    r.sandbox.with_world(|w| w.write_requests)
}

async fn assert_upgraded(r: &RunningSandbox, n: usize) {
    let info = r.sandbox.info();
    let target = &info.next_build;
    let at: noderoll::ccf::NodeAddr = info.service_address.parse().unwrap();
    let nodes = r.client.nodes(&at, &Default::default()).await.unwrap();
    let trusted: Vec<_> = nodes
        .iter()
        .filter(|x| x.status == NodeStatus::Trusted)
        .collect();
    assert_eq!(trusted.len(), n, "{nodes:?}");
    assert!(
        trusted
            .iter()
            .all(|t| !info.nodes.iter().any(|o| o.node_id == t.node_id)),
        "no old node remains"
    );
    for t in &trusted {
        let addr: noderoll::ccf::NodeAddr = t.rpc_address().unwrap().parse().unwrap();
        assert_eq!(
            r.client.version(&addr).await.unwrap().ccf_version,
            target.ccf_version
        );
    }
    let jp = r.client.join_policy(&at).await.unwrap();
    match target.platform {
        Platform::Virtual => assert_eq!(
            jp.virtual_.unwrap().host_data,
            vec![target.host_data.clone()]
        ),
        Platform::Snp => assert_eq!(
            jp.snp.unwrap().host_data.into_keys().collect::<Vec<_>>(),
            vec![target.host_data.clone()]
        ),
    }
    assert_eq!(
        r.sandbox.violations(),
        vec![],
        "the upgrade must not violate any invariant"
    );
}

async fn apply_json(r: &RunningSandbox) -> Vec<Value> {
    let plan = plan_path(r);
    let run = noderoll(&[
        "apply",
        "--plan",
        plan.to_str().unwrap(),
        "--yes",
        "--output",
        "json",
    ])
    .await;
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    events(&run.stdout)
}

async fn upgrade(n: usize, platform: Platform) {
    let r = start_sandbox(n, platform, 5.0).await;
    let old_primary = r
        .client
        .network(&r.entry)
        .await
        .unwrap()
        .primary_id
        .unwrap();
    let evs = apply_json(&r).await;
    let summary = evs.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["outcome"], "upgraded");
    // The plan names the sandbox's gateway, which outlives every node: nothing to update.
    assert!(summary["service_urls"].is_null(), "{summary}");
    assert!(evs.iter().all(|e| e["schema_version"] == 2));
    // The target whole, as a pipeline reads it; durations named by their unit.
    let next = r.sandbox.info().next_build.clone();
    let started = evs.iter().find(|e| e["type"] == "run_started").unwrap();
    assert_eq!(
        started["target"],
        json!({"platform": next.platform, "host_data": next.host_data, "ccf_version": next.ccf_version})
    );
    assert!(
        evs.iter()
            .filter(|e| e["type"] == "step_finished")
            .all(|e| e["elapsed_s"].is_number())
    );
    assert_eq!(
        summary["steps_run"],
        started["steps"].as_array().unwrap().len()
    );
    // Old nodes removed one at a time, the primary last, with the election observed.
    let removed: Vec<&str> = evs
        .iter()
        .filter(|e| e["type"] == "node_removed")
        .map(|e| e["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), n);
    assert_eq!(
        *removed.last().unwrap(),
        old_primary,
        "the primary is retired last"
    );
    let election = evs
        .iter()
        .find(|e| e["type"] == "election_observed")
        .expect("an election is observed");
    assert_eq!(election["previous_primary_id"], old_primary.as_str());
    assert_upgraded(&r, n).await;

    // A second apply has nothing to do and sends no write.
    let before = writes(&r);
    let evs = apply_json(&r).await;
    assert_eq!(evs.last().unwrap()["outcome"], "nothing_to_do");
    assert_eq!(writes(&r), before, "a second apply must not write");
}

#[tokio::test]
async fn upgrades_a_one_node_service() {
    upgrade(1, Platform::Virtual).await;
}

#[tokio::test]
async fn upgrades_a_three_node_service() {
    upgrade(3, Platform::Virtual).await;
}

#[tokio::test]
async fn upgrades_a_five_node_service() {
    upgrade(5, Platform::Virtual).await;
}

#[tokio::test]
async fn upgrades_a_three_node_snp_service() {
    upgrade(3, Platform::Snp).await;
}

#[tokio::test]
async fn plan_previews_and_changes_nothing() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = plan_path(&r);
    let before = writes(&r);
    let run = noderoll(&[
        "plan",
        "--plan",
        plan.to_str().unwrap(),
        "--detailed-exitcode",
    ])
    .await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    for needle in [
        "register the new code version",
        "launch 3 new nodes",
        "trust 2 new nodes",
        "trust 1 new node in one proposal",
        "(0 while catching up)",
        "soak",
        "(the primary: election)",
        "point of no return",
        "Preflight: all",
    ] {
        assert!(
            run.stdout.contains(needle),
            "missing {needle:?} in\n{}",
            run.stdout
        );
    }
    let run = noderoll(&["plan", "--plan", plan.to_str().unwrap(), "--output", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    output_schema::validate("plan", &doc);
    assert_eq!(
        doc["target"]["host_data"],
        r.sandbox.info().next_build.host_data
    );
    assert_eq!(doc["steps"].as_array().unwrap().len(), 9);
    assert_eq!(doc["steps"][8]["point_of_no_return"], true);
    // Trusting 2 into 3 caught-up nodes: f 0 while they catch up, no write stall.
    assert_eq!(doc["steps"][2]["f_during_catch_up"], 0);
    assert_eq!(doc["steps"][2].get("stalls_writes"), None);
    assert_eq!(writes(&r), before, "plan must not write");
    let nodes = r.client.nodes(&r.entry, &Default::default()).await.unwrap();
    assert_eq!(nodes.len(), 3);
}

#[tokio::test]
async fn a_stale_saved_plan_is_refused_and_a_fresh_one_applies() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = plan_path(&r);
    let saved = r.dir.path().join("saved.json");
    let run = noderoll(&[
        "plan",
        "--plan",
        plan.to_str().unwrap(),
        "--out",
        saved.to_str().unwrap(),
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // It says where the plan went and the command that applies exactly it.
    assert!(
        run.stdout.contains(&format!(
            "Saved the plan to {0}; apply exactly it with: noderoll apply {0}",
            saved.display()
        )),
        "{}",
        run.stdout
    );
    // The service changes: another node joins.
    let (id, _) = r
        .sandbox
        .launch(r.sandbox.info().current_build.clone())
        .unwrap();
    wait_pending(&r.client, &r.entry, &id).await;
    let before = writes(&r);
    let run = noderoll(&["apply", saved.to_str().unwrap()]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("stale plan"), "{}", run.stderr);
    assert_eq!(writes(&r), before, "a stale plan changes nothing");
    // Re-planned, it applies without asking.
    let run = noderoll(&[
        "plan",
        "--plan",
        plan.to_str().unwrap(),
        "--out",
        saved.to_str().unwrap(),
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = noderoll(&["apply", saved.to_str().unwrap(), "--output", "json"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_upgraded(&r, 3).await;
}

/// A Pending node of the target that no run of this machine launched means an upgrade is
/// under way elsewhere: `apply` refuses without writing, naming it; `--adopt` continues it.
#[tokio::test]
async fn an_upgrade_started_elsewhere_is_refused_then_adopted() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let next = r.sandbox.info().next_build.clone();
    r.gov
        .pass(
            &ProposalBody {
                actions: vec![Action::new(
                    "add_virtual_host_data",
                    json!({"host_data": next.host_data}),
                )],
            },
            &Cancel::never(),
        )
        .await
        .unwrap();
    // Another machine's node of the target build joins before noderoll runs here.
    let (stranger, _) = r.sandbox.launch(next).unwrap();
    wait_pending(&r.client, &r.entry, &stranger).await;
    let plan = plan_path(&r);
    let before = writes(&r);
    let run = noderoll(&["apply", "--plan", plan.to_str().unwrap(), "--yes"]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("no upgrade in progress elsewhere")
            && run.stderr.contains(&stranger[..8])
            && run.stderr.contains("noderoll apply --adopt"),
        "{}",
        run.stderr
    );
    assert_eq!(writes(&r), before, "a refused run writes nothing");
    let at: noderoll::ccf::NodeAddr = r.sandbox.info().service_address.parse().unwrap();
    let still = r.client.node(&at, &stranger).await.unwrap().unwrap();
    assert_eq!(still.status, NodeStatus::Pending, "it is left alone");

    let run = noderoll(&[
        "apply",
        "--plan",
        plan.to_str().unwrap(),
        "--yes",
        "--adopt",
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let adopted = r.client.node(&at, &stranger).await.unwrap().unwrap();
    assert_eq!(
        adopted.status,
        NodeStatus::Trusted,
        "the adopted node is used"
    );
    let (launched, unique) = r.launched_and_no_duplicate_proposal();
    assert_eq!(launched, 3, "the stranger and two more: nothing extra");
    assert!(unique);
    assert_upgraded(&r, 3).await;
}

#[tokio::test]
async fn preflight_failures_and_missing_confirmation_change_nothing() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = plan_path(&r);
    let before = writes(&r);
    // No terminal and no --yes: refused.
    let run = noderoll(&["apply", "--plan", plan.to_str().unwrap()]).await;
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    // A configured member that is not Active: preflight refuses.
    let member = r.sandbox.info().members[0].member_id.clone();
    noderoll::sandbox::control::apply_fault(
        r.sandbox.core(),
        noderoll::sandbox::Fault::MemberStatus {
            member_id: member,
            active: false,
        },
    )
    .unwrap();
    let run = noderoll(&["apply", "--plan", plan.to_str().unwrap(), "--yes"]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("configured members are Active"),
        "{}",
        run.stderr
    );
    assert_eq!(writes(&r), before);
    assert_eq!(
        r.client
            .nodes(&r.entry, &Default::default())
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn the_demo_runs_with_no_arguments_needed() {
    let run = noderoll(&["demo", "--speed", "5"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for needle in [
        "Before:",
        "After:",
        "Upgraded to virtual",
        "no invariant violation",
    ] {
        assert!(
            run.stdout.contains(needle),
            "missing {needle:?} in\n{}",
            run.stdout
        );
    }
    assert!(run.stderr.contains("election:"), "{}", run.stderr);
    // It names no file it deletes on exit.
    assert!(!run.stdout.contains("Plan file:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("noderoll sandbox --dir DIR"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn with_several_members_apply_waits_and_vote_accepts() {
    let r = start_sandbox_with_members(3, 3, Platform::Virtual, 5.0).await;
    // member0's plan (as written) and a plan for member1, who votes with `noderoll vote`:
    // only `[service]` and its own `[[members]]` (a member who only votes has no upgrade
    // tables).
    let (plan, voter_plan) = r.split_member_plans();
    let voter_text = std::fs::read_to_string(&voter_plan).unwrap();
    assert!(
        !voter_text.contains("[target]") && !voter_text.contains("[nodes]"),
        "{voter_text}"
    );
    let apply = {
        let plan = plan.clone();
        tokio::spawn(async move {
            noderoll(&[
                "apply",
                "--plan",
                plan.to_str().unwrap(),
                "--yes",
                "--output",
                "json",
            ])
            .await
        })
    };
    // Vote on every proposal noderoll opens until the upgrade is done.
    let mut voted = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !apply.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the upgrade did not finish"
        );
        let at: noderoll::ccf::NodeAddr = r.sandbox.info().service_address.parse().unwrap();
        for p in r.client.proposals(&at).await.unwrap_or_default() {
            if p.proposal_state == noderoll::ccf::types::ProposalState::Open
                && voted.insert(p.proposal_id.clone())
            {
                let run = noderoll(&[
                    "vote",
                    &p.proposal_id,
                    "--plan",
                    voter_plan.to_str().unwrap(),
                    "--yes",
                ])
                .await;
                assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
                // noderoll creates a proposal, then submits its own ballot: a vote that
                // lands in between leaves the proposal Open, and noderoll's ballot accepts it.
                assert!(
                    run.stdout.contains("Accepted") || run.stdout.contains("Open"),
                    "{}",
                    run.stdout
                );
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let run = apply.await.unwrap();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let evs = events(&run.stdout);
    assert!(
        evs.iter().any(|e| e["type"] == "waiting_for_members"
            && e["needed"] == 2
            && e["votes_cast"] == 1),
        "noderoll says it waits for other members, 1 of 2 votes cast"
    );
    assert_eq!(
        voted.len(),
        7,
        "register, trust 2 then 1, three retirements, finalize"
    );
    assert_upgraded(&r, 3).await;
}

#[tokio::test]
async fn a_node_that_never_joins_times_out_naming_the_step_and_node() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = plan_path(&r);
    let text = std::fs::read_to_string(&plan).unwrap().replace(
        "step_timeout = \"2m\"",
        "step_timeout = \"2s\"\non_failure = \"stop\"",
    );
    std::fs::write(&plan, text).unwrap();
    noderoll::sandbox::control::apply_fault(
        r.sandbox.core(),
        noderoll::sandbox::Fault::NeverJoinNext,
    )
    .unwrap();
    let run = noderoll(&["apply", "--plan", plan.to_str().unwrap(), "--yes"]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: step launch 3 new nodes failed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("timed out after 2s waiting for node")
            && run.stderr.contains("to appear Pending"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("last seen: not in the node table yet"),
        "{}",
        run.stderr
    );
    // Nothing was retired: the old nodes are all still trusted.
    assert_eq!(r.trusted_count().await, 3);
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn the_version_guard_refuses_downgrades_and_major_jumps_unless_allowed() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = plan_path(&r);
    let original = std::fs::read_to_string(&plan).unwrap();
    for (version, flag) in [
        ("ccf-7.0.0", "--allow-downgrade"),
        ("ccf-9.0.0", "--allow-version-jump"),
    ] {
        std::fs::write(
            &plan,
            original.replace(
                "ccf_version = \"ccf-7.0.2\"",
                &format!("ccf_version = \"{version}\""),
            ),
        )
        .unwrap();
        let run = noderoll(&["plan", "--plan", plan.to_str().unwrap()]).await;
        assert_eq!(run.code, 5, "{version}: {}", run.stdout);
        assert!(
            run.stdout.contains("version guard") && run.stdout.contains(flag),
            "{}",
            run.stdout
        );
        let run = noderoll(&["plan", "--plan", plan.to_str().unwrap(), flag]).await;
        assert_eq!(run.code, 0, "{version} with {flag}: {}", run.stdout);
        let before = writes(&r);
        let run = noderoll(&["apply", "--plan", plan.to_str().unwrap(), "--yes"]).await;
        assert_eq!(run.code, 5, "{}", run.stderr);
        assert_eq!(writes(&r), before, "refused before any change");
    }
}

#[tokio::test]
async fn a_second_apply_on_the_same_service_is_refused_while_one_runs() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = plan_path(&r);
    let state = tempfile::tempdir().unwrap();
    let apply = |plan: PathBuf, state: PathBuf| {
        std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"))
            .args([
                "apply",
                "--plan",
                plan.to_str().unwrap(),
                "--yes",
                "--state-dir",
                state.to_str().unwrap(),
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = apply(plan.clone(), state.path().to_path_buf());
    // Poll until the first run holds the lock (its holder record appears).
    let holder = eventually("the first run to take the lock", 20, || {
        let dir = state.path().to_path_buf();
        async move {
            let entry = std::fs::read_dir(&dir).ok()?.next()?.ok()?;
            std::fs::read_to_string(entry.path().join("lock.json")).ok()
        }
    })
    .await;
    // Wait for processes off the runtime: the sandbox serves from this test's runtime.
    let (p2, s2) = (plan.clone(), state.path().to_path_buf());
    let second = tokio::task::spawn_blocking(move || apply(p2, s2).wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        second.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let err = String::from_utf8_lossy(&second.stderr);
    let pid = first.id().to_string();
    assert!(
        err.contains("another noderoll run") && err.contains(&pid),
        "{err}\n{holder}"
    );
    let out = tokio::task::spawn_blocking(move || first.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_upgraded(&r, 3).await;
}

#[tokio::test]
async fn ctrl_c_during_a_wait_stops_at_once_with_the_resumable_code() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = plan_path(&r);
    // A long soak: the run will be waiting in it when interrupted.
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("soak = \"300ms\"", "soak = \"60s\"");
    std::fs::write(&plan, text).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"))
        .args([
            "apply",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "--output",
            "json",
        ])
        .env(
            "NODEROLL_STATE_DIR",
            std::env::temp_dir().join("noderoll-test-state"),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid = child.id().to_string();
    // Read events until the soak starts, then interrupt.
    let reached = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line.contains("\"step_started\"") && line.contains("soak") {
                assert!(
                    std::process::Command::new("kill")
                        .args(["-INT", &pid])
                        .status()
                        .unwrap()
                        .success()
                );
                break;
            }
        }
        lines.map_while(Result::ok).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(4), "interrupted: the resumable code");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the 60 s soak is not waited out"
    );
    let reached = events(&reached.join("\n"));
    let summary = reached.last().unwrap();
    assert_eq!(summary["outcome"], "interrupted");
    assert_eq!(
        summary["error"]["causes"],
        json!([]),
        "an interruption: its message only"
    );
    assert!(
        summary["resume"]
            .as_str()
            .unwrap()
            .contains("noderoll apply --plan"),
        "{summary}"
    );
    assert_eq!(r.sandbox.violations(), vec![]);
}

fn state_dir() -> PathBuf {
    std::env::temp_dir().join("noderoll-test-state")
}

#[tokio::test]
async fn the_journal_records_the_run_without_key_material() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    apply_json(&r).await;
    let plan = plan_path(&r);
    let run = noderoll(&[
        "journal",
        "--plan",
        plan.to_str().unwrap(),
        "--output",
        "json",
        "--state-dir",
        state_dir().to_str().unwrap(),
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = output_schema::lines("journal-line", &run.stdout);
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"run_started"));
    assert_eq!(kinds.iter().filter(|k| **k == "node_launched").count(), 3);
    assert!(kinds.iter().filter(|k| **k == "proposal_submitted").count() >= 6);
    // Register, launch, trust 2 then 1 (batches that never stall commits), soak, three
    // retirements, finalize.
    assert_eq!(kinds.iter().filter(|k| **k == "step_finished").count(), 9);
    assert_eq!(records.last().unwrap()["outcome"], "upgraded");
    let key = std::fs::read_to_string(r.dir.path().join("member0_privk.pem")).unwrap();
    let secret_line = key
        .lines()
        .find(|l| !l.starts_with("-----") && l.len() > 20)
        .unwrap();
    assert!(!run.stdout.contains(secret_line) && !run.stdout.contains("PRIVATE KEY"));
    let human = noderoll(&[
        "journal",
        "--plan",
        plan.to_str().unwrap(),
        "--state-dir",
        state_dir().to_str().unwrap(),
    ])
    .await;
    assert!(
        human.stdout.contains("run ended") && human.stdout.contains("upgraded"),
        "{}",
        human.stdout
    );
}

#[tokio::test]
async fn a_run_killed_after_launching_is_resumed_without_launching_again() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = plan_path(&r);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"))
        .args([
            "apply",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "--output",
            "json",
        ])
        .env("NODEROLL_STATE_DIR", state_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid = child.id().to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            // All three launched and Pending; the first trust batch is about to propose.
            if line.contains("\"step_started\"") && line.contains("trust 2 new nodes") {
                assert!(
                    std::process::Command::new("kill")
                        .args(["-KILL", &pid])
                        .status()
                        .unwrap()
                        .success()
                );
                break;
            }
        }
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        r.sandbox.with_world(|w| w.nodes.len()),
        6,
        "three old and three launched nodes"
    );
    // The re-run adopts the three Pending nodes from the journal.
    let evs = apply_json(&r).await;
    assert!(
        evs.iter()
            .any(|e| e["type"] == "warning" && e["message"].as_str().unwrap().contains("resuming"))
    );
    assert!(
        !evs.iter().any(|e| e["type"] == "node_launched"),
        "nothing launched again"
    );
    assert_eq!(
        r.sandbox.with_world(|w| w.nodes.len()),
        6,
        "no extra node was launched"
    );
    assert_upgraded(&r, 3).await;
}

/// `[safety] finalize = "manual"`: apply stops with the old code version registered, apply
/// again changes nothing, `finalize` refuses while other steps remain and otherwise removes
/// only the old version.
#[tokio::test]
async fn manual_finalize_holds_the_point_of_no_return() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = plan_path(&r);
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.contains("step_timeout = \"2m\"\n"), "{text}");
    std::fs::write(
        &plan,
        text.replace(
            "step_timeout = \"2m\"\n",
            "step_timeout = \"2m\"\nfinalize = \"manual\"\n",
        ),
    )
    .unwrap();
    let plan_arg = plan.to_str().unwrap();
    let info = r.sandbox.info();
    let at: noderoll::ccf::NodeAddr = info.service_address.parse().unwrap();
    let old_host_data = r
        .client
        .join_policy(&at)
        .await
        .unwrap()
        .virtual_
        .unwrap()
        .host_data;
    assert_eq!(old_host_data.len(), 1);

    // Before the upgrade, finalize is refused and nothing is written.
    let before = writes(&r);
    let run = noderoll(&["finalize", "--plan", plan_arg, "--yes"]).await;
    assert_eq!(run.code, 5, "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("not ready to finalize") && run.stderr.contains("noderoll apply"),
        "{}",
        run.stderr
    );
    assert_eq!(writes(&r), before, "a refused finalize must not write");

    let evs = apply_json(&r).await;
    let summary = evs.last().unwrap();
    assert_eq!(summary["outcome"], "finalize_pending", "{summary}");
    let mut registered = r
        .client
        .join_policy(&at)
        .await
        .unwrap()
        .virtual_
        .unwrap()
        .host_data;
    registered.sort();
    let mut both = vec![old_host_data[0].clone(), info.next_build.host_data.clone()];
    both.sort();
    assert_eq!(registered, both, "both code versions stay registered");

    // Re-running apply is idempotent: still pending, no write.
    let before = writes(&r);
    let evs = apply_json(&r).await;
    assert_eq!(evs.last().unwrap()["outcome"], "finalize_pending");
    assert_eq!(evs.last().unwrap()["steps_run"], 0);
    assert_eq!(writes(&r), before);

    let run = noderoll(&["finalize", "--plan", plan_arg, "--yes", "--output", "json"]).await;
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert_eq!(events(&run.stdout).last().unwrap()["outcome"], "upgraded");
    assert_upgraded(&r, 3).await;

    let run = noderoll(&["finalize", "--plan", plan_arg, "--yes", "--output", "json"]).await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(
        events(&run.stdout).last().unwrap()["outcome"],
        "nothing_to_do"
    );
}

/// `--adopt` naming no Pending node is bad input: exit 64, the fix named, nothing written.
#[tokio::test]
async fn adopting_an_unknown_node_is_refused_before_any_write() {
    let r = start_sandbox(1, Platform::Virtual, 5.0).await;
    let plan = plan_path(&r);
    let before = writes(&r);
    for (id, expected) in [
        ("deadbeef00", "no Pending node has that id"),
        ("dead", "at least its first 8 characters"),
    ] {
        let run = noderoll(&[
            "apply",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "--adopt",
            id,
        ])
        .await;
        assert_eq!(run.code, 64, "stderr: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{}", run.stderr);
    }
    assert_eq!(writes(&r), before, "a refused --adopt must not write");
}

/// The launcher gets the service certificate as an absolute path: a launch command that
/// leaves the plan's directory (the README's examples `cd` first; `docker -v` wants an
/// absolute host path) still finds it, even when `--plan` was given as a relative path.
#[tokio::test]
async fn a_launcher_that_leaves_the_plan_directory_still_finds_the_service_certificate() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = plan_path(&r);
    let text = std::fs::read_to_string(&plan).unwrap().replacen(
        "launch = \"",
        "launch = \"echo \\\"$NODEROLL_SERVICE_CERT\\\" > \\\"cert_path_$NODEROLL_NODE_INDEX\\\"; (cd / && cat \\\"$NODEROLL_SERVICE_CERT\\\") > \\\"seen_$NODEROLL_NODE_INDEX.pem\\\" && ",
        1,
    );
    std::fs::write(&plan, text).unwrap();
    // Named from the sandbox directory's parent: `<sandbox dir>/plan.toml`, so the plan's
    // relative `service_cert` is relative to noderoll's working directory, not the launcher's.
    let parent = r.dir.path().parent().unwrap().to_path_buf();
    let relative = plan.strip_prefix(&parent).unwrap().to_path_buf();
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"))
            .current_dir(&parent)
            .args(["apply", "--plan", relative.to_str().unwrap(), "--yes"])
            .args(["--output", "json"])
            .env_remove("NODEROLL_PLAN")
            .env("NODEROLL_STATE_DIR", state_dir)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let cert = std::fs::read(r.dir.path().join("service_cert.pem")).unwrap();
    for i in 0..3 {
        let given = std::fs::read_to_string(r.dir.path().join(format!("cert_path_{i}"))).unwrap();
        assert!(std::path::Path::new(given.trim()).is_absolute(), "{given}");
        let seen = std::fs::read(r.dir.path().join(format!("seen_{i}.pem"))).unwrap();
        assert_eq!(seen, cert, "launch {i}");
    }
    assert_upgraded(&r, 3).await;
}
