//! Rollback against the sandbox: clean before any old node is retired, roll-forward after,
//! automatic when a new node never joins (and the failed target refused afterwards), and an
//! upgrade started on another machine refused, then continued with `--adopt`.

use noderoll::ccf::NodeAddr;
use noderoll::ccf::types::NodeStatus;
use noderoll::sandbox::Platform;
use serde_json::Value;

use crate::common::*;

/// The last line of a run's JSON Lines (every line valid under `schemas/run-stream.json`).
fn summary(stdout: &str) -> Value {
    events(stdout).pop().unwrap()
}

/// A run's JSON Lines, each valid under `schemas/run-stream.json`.
fn events(stdout: &str) -> Vec<Value> {
    output_schema::lines("run-stream", stdout)
}

/// A rollback's events speak of the previous version's nodes and the abandoned upgrade's,
/// never in the upgrade's words: no string anywhere in them (`run_started`'s steps and gates,
/// step descriptions, waits, preflight details, the summary) says "new node", "old node",
/// "this upgrade" or "upgrade to".
fn assert_in_rollback_words(events: &[Value]) {
    fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            Value::Object(o) => o.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let started = events.iter().find(|e| e["type"] == "run_started").unwrap();
    assert_eq!(started["rollback"], true, "{started}");
    assert!(
        started["steps"].as_array().is_some_and(|s| !s.is_empty()),
        "{started}"
    );
    for e in events {
        let mut texts = Vec::new();
        strings(e, &mut texts);
        for t in texts {
            let lower = t.to_lowercase();
            for upgrade in ["new node", "old node", "this upgrade", "upgrade to"] {
                assert!(!lower.contains(upgrade), "{upgrade:?} in a rollback's {e}");
            }
        }
    }
}

/// The service is back where it started: the original nodes (and `replaced` more of the
/// original build) trusted, nothing else listed, only the original code version registered,
/// no launched node left running, no invariant violated.
async fn assert_rolled_back(r: &RunningSandbox, replaced: usize) {
    let info = r.sandbox.info();
    let at: NodeAddr = info.service_address.parse().unwrap();
    let nodes = r.client.nodes(&at, &Default::default()).await.unwrap();
    assert!(
        nodes.iter().all(|n| n.status == NodeStatus::Trusted),
        "{nodes:?}"
    );
    assert_eq!(nodes.len(), info.nodes.len(), "{nodes:?}");
    let original = nodes
        .iter()
        .filter(|n| info.nodes.iter().any(|o| o.node_id == n.node_id))
        .count();
    assert_eq!(original, info.nodes.len() - replaced);
    let old_version = r.client.version(&r.entry).await.ok();
    for n in &nodes {
        let addr: NodeAddr = n.rpc_address().unwrap().parse().unwrap();
        let v = r.client.version(&addr).await.unwrap().ccf_version;
        assert_ne!(
            v, info.next_build.ccf_version,
            "node {} runs the target",
            n.node_id
        );
        if let Some(old) = &old_version {
            assert_eq!(&v, &old.ccf_version);
        }
    }
    let jp = r.client.join_policy(&at).await.unwrap();
    let registered = jp.virtual_.unwrap().host_data;
    assert_eq!(registered.len(), 1, "{registered:?}");
    assert_ne!(registered[0], info.next_build.host_data);
    let running_new = r.sandbox.with_world(|w| {
        w.nodes
            .iter()
            .filter(|n| n.running && !nodes.iter().any(|t| t.node_id == n.node_id))
            .count()
    });
    assert_eq!(running_new, 0, "every node the upgrade launched is stopped");
    let (_, unique) = r.launched_and_no_duplicate_proposal();
    assert!(unique, "no proposal submitted twice");
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn a_clean_rollback_before_any_retirement_removes_the_new_nodes() {
    // Killed with the new nodes Pending (never trusted), then killed with them trusted.
    for (kind, nth, needle) in [("node_pending", 3, ""), ("step_started", 1, "soak")] {
        let r = start_sandbox(3, Platform::Virtual, 5.0).await;
        let state = tempfile::tempdir().unwrap();
        let plan = r.plan_path();
        let plan = plan.to_str().unwrap();
        apply_killed_at(r.plan_path().as_path(), state.path(), kind, nth, needle).await;
        let launched = r.launched_and_no_duplicate_proposal().0;

        let writes = r.sandbox.with_world(|w| w.write_requests);
        let dry = noderoll_in(state.path(), &["rollback", "--plan", plan, "--dry-run"]).await;
        assert_eq!(dry.code, 2, "{}", dry.stderr);
        assert!(dry.stdout.contains("Rollback (clean: "), "{}", dry.stdout);
        let dry = noderoll_in(
            state.path(),
            &["rollback", "--plan", plan, "--dry-run", "--output", "json"],
        )
        .await;
        assert_eq!(dry.code, 2, "{}", dry.stderr);
        let doc = &output_schema::lines("rollback-plan", &dry.stdout)[0];
        assert_eq!(doc["kind"], "clean");
        assert_eq!(
            doc["from"]["host_data"],
            r.sandbox.info().next_build.host_data
        );
        assert_eq!(
            doc["to"]["host_data"],
            r.sandbox.info().current_build.host_data
        );
        assert_eq!(r.sandbox.with_world(|w| w.write_requests), writes);

        let run = noderoll_in(
            state.path(),
            &["rollback", "--plan", plan, "--yes", "--output", "json"],
        )
        .await;
        assert_eq!(run.code, 0, "{kind}: {}", run.stderr);
        assert_eq!(summary(&run.stdout)["outcome"], "rolled_back");
        let evs = events(&run.stdout);
        let started = evs
            .iter()
            .find(|e| e["type"] == "rollback_started")
            .unwrap();
        assert_eq!(started["kind"], "clean");
        assert!(
            !evs.iter().any(|e| e["type"] == "node_launched"),
            "a clean rollback launches nothing"
        );
        assert_eq!(r.launched_and_no_duplicate_proposal().0, launched);
        assert_in_rollback_words(&evs);
        assert_rolled_back(&r, 0).await;

        // Rolled back: a second rollback has nothing to do, and the journal says so.
        let again = noderoll_in(state.path(), &["rollback", "--plan", plan, "--yes"]).await;
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert!(
            again.stdout.contains("Nothing to roll back"),
            "{}",
            again.stdout
        );
        let journal = noderoll_in(
            state.path(),
            &["journal", "--plan", plan, "--output", "json"],
        )
        .await;
        let records = output_schema::lines("journal-line", &journal.stdout);
        let abandoned = r.sandbox.info().next_build.host_data.clone();
        assert!(
            records.iter().any(|rec| rec["type"] == "rollback_started"
                && rec["from"]["host_data"] == abandoned.as_str()),
            "{}",
            journal.stdout
        );
        assert!(
            journal.stdout.contains("\"rolled_back\""),
            "{}",
            journal.stdout
        );
    }
}

#[tokio::test]
async fn after_one_retirement_rollback_rolls_forward_to_the_old_build() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan = plan.to_str().unwrap();
    apply_killed_at(r.plan_path().as_path(), state.path(), "node_removed", 1, "").await;
    let run = noderoll_in(
        state.path(),
        &["rollback", "--plan", plan, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let evs = events(&run.stdout);
    let started = evs
        .iter()
        .find(|e| e["type"] == "rollback_started")
        .unwrap();
    assert_eq!(started["kind"], "roll_forward");
    let old = r.client.version(&r.entry).await.unwrap().ccf_version;
    assert_eq!(started["to"]["ccf_version"], old.as_str(), "{started}");
    assert_eq!(
        evs.iter().filter(|e| e["type"] == "node_launched").count(),
        1,
        "one node of the old build replaces the retired one"
    );
    // The replacement is soaked before the new nodes are retired: every step planned ran.
    let started_steps: Vec<String> = evs
        .iter()
        .filter(|e| e["type"] == "step_started")
        .map(|e| e["description"].as_str().unwrap().to_string())
        .collect();
    assert!(
        started_steps.iter().any(|d| d.starts_with("soak")),
        "{started_steps:?}"
    );
    assert_eq!(summary(&run.stdout)["outcome"], "rolled_back");
    // Launches, trusts, soaks and retires: every gate a rollback has, in its words.
    assert_in_rollback_words(&evs);
    assert_rolled_back(&r, 1).await;
}

#[tokio::test]
async fn a_node_that_never_joins_is_rolled_back_and_its_target_refused_until_retried() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("step_timeout = \"2m\"", "step_timeout = \"3s\"");
    std::fs::write(
        &plan,
        format!(
            "{text}\n[notify]\ncommand = \"cat >> notified.jsonl\"\nevents = [\"rolled_back\"]\n"
        ),
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    noderoll::sandbox::control::apply_fault(
        r.sandbox.core(),
        noderoll::sandbox::Fault::NeverJoinNext,
    )
    .unwrap();
    let run = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr.contains("failed and was rolled back")
            && run.stderr.contains("to appear Pending"),
        "{}",
        run.stderr
    );
    assert_rolled_back(&r, 0).await;
    let notified = std::fs::read_to_string(r.dir.path().join("notified.jsonl")).unwrap();
    // Notifications are the documents of --output json.
    let note = output_schema::lines("run-stream", &notified).remove(0);
    assert_eq!(note["outcome"], "rolled_back", "{notified}");
    assert_eq!(
        note["error"]["message"]
            .as_str()
            .map(|m| m.contains("rolled back")),
        Some(true),
        "{note}"
    );

    // The failed target is remembered: refused without a write...
    let writes = r.sandbox.with_world(|w| w.write_requests);
    let again = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(again.code, 5, "{}", again.stderr);
    assert!(
        again.stderr.contains("failed on") && again.stderr.contains("--retry-failed-target"),
        "{}",
        again.stderr
    );
    assert_eq!(r.sandbox.with_world(|w| w.write_requests), writes);
    // ...until retried on purpose (the fault was one-shot: this time every node joins).
    let retry = noderoll_in(
        state.path(),
        &["apply", "--plan", plan, "--yes", "--retry-failed-target"],
    )
    .await;
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    assert_eq!(r.trusted_count().await, 3);
    // The journal: every run that started ended (the failed upgrade too, before its
    // automatic rollback), and the retried target's failure is cleared on the record.
    let journal = noderoll_in(
        state.path(),
        &["journal", "--plan", plan, "--output", "json"],
    )
    .await;
    let records = output_schema::lines("journal-line", &journal.stdout);
    let count = |kind: &str| records.iter().filter(|r| r["type"] == kind).count();
    // A failed target named whole, as the journal records it.
    let failed = records
        .iter()
        .find(|rec| rec["type"] == "target_failed")
        .unwrap();
    assert_eq!(
        failed["target"]["host_data"],
        r.sandbox.info().next_build.host_data
    );
    assert_eq!(
        count("run_started"),
        count("run_ended"),
        "{}",
        journal.stdout
    );
    assert_eq!(count("failed_cleared"), 1, "{}", journal.stdout);
    // It names the target it cleared, as target_failed does.
    let cleared = records
        .iter()
        .find(|rec| rec["type"] == "failed_cleared")
        .unwrap();
    assert_eq!(cleared["target"], failed["target"], "{}", journal.stdout);
    let human = noderoll_in(state.path(), &["journal", "--plan", plan]).await;
    assert!(
        human
            .stdout
            .contains("no longer marked failed (reached with --retry-failed-target)")
            && !human
                .stdout
                .contains("every failed target may be tried again"),
        "{}",
        human.stdout
    );
    let after = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(
        after.code, 0,
        "reached: no longer refused\n{}",
        after.stderr
    );
    assert_eq!(r.sandbox.violations(), vec![]);
}

/// Another machine's run died mid-upgrade: this machine (its own state directory) sees mixed
/// builds and refuses; `--adopt` continues that upgrade to the end without launching more.
#[tokio::test]
async fn an_upgrade_killed_on_another_machine_is_refused_then_adopted() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let elsewhere = tempfile::tempdir().unwrap();
    let here = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    apply_killed_at(&plan, elsewhere.path(), "node_removed", 1, "").await;
    let plan = plan.to_str().unwrap();
    let writes = r.sandbox.with_world(|w| w.write_requests);
    let run = noderoll_in(here.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("2 different builds") && run.stderr.contains("--adopt"),
        "{}",
        run.stderr
    );
    assert_eq!(r.sandbox.with_world(|w| w.write_requests), writes);
    let run = noderoll_in(here.path(), &["apply", "--plan", plan, "--yes", "--adopt"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(r.trusted_count().await, 3);
    let (launched, unique) = r.launched_and_no_duplicate_proposal();
    assert_eq!(launched, 3, "no extra node launched");
    assert!(unique);
    assert_eq!(r.sandbox.violations(), vec![]);
}

/// With `finalize = "manual"` the upgrade stops short of the point of no return: every old
/// node is gone, yet `rollback` still brings the old build back. After finalize it refuses.
/// A joiner whose attestation the service does not admit (here: the launcher runs it with host
/// data the upgrade never registered) is answered 401 `InvalidQuote` and, as CCF 6.x/7.0
/// `node_state.h` (`initiate_join`) does with any 4xx, shuts down. The launch step's error says
/// so; the rollback's stop command on the exited node succeeds (no "stop it by hand").
#[tokio::test]
async fn a_joiner_refused_on_attestation_shuts_down_and_the_rollback_stops_it_cleanly() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("step_timeout = \"2m\"", "step_timeout = \"3s\"")
        .replace(
            "sandbox launch-node",
            &format!(
                "sandbox launch-node --host-data {} --ccf-version {}",
                "0f".repeat(32),
                r.sandbox.info().next_build.ccf_version
            ),
        );
    std::fs::write(&plan, text).unwrap();
    let plan = plan.to_str().unwrap();
    let run = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(run.code, 7, "{}\n{}", run.stdout, run.stderr);
    for needle in [
        "to appear Pending",
        "CCF shuts down a joiner whose join it refuses with a 4xx",
        "host data, measurement or UVM endorsement is not registered",
        "src/node/node_state.h, initiate_join",
        "failed and was rolled back",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    // The rollback ran the stop command on each exited joiner, and it succeeded.
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("ok step 1: stop node") && all.contains("(launched, never joined)"),
        "{all}"
    );
    assert!(!all.contains("stop it by hand"), "{all}");
    // The joiner was refused and exited by itself; the sandbox's log quotes CCF's message.
    r.sandbox.with_world(|w| {
        let refused: Vec<_> = w
            .nodes
            .iter()
            .filter(|n| matches!(&n.lifecycle, noderoll::sandbox::world::Lifecycle::Refused { reason } if reason.starts_with("Quote host data is not authorised")))
            .collect();
        assert!(!refused.is_empty());
        assert!(refused.iter().all(|n| !n.running));
    });
    assert_rolled_back(&r, 0).await;
}

#[tokio::test]
async fn rollback_is_possible_until_finalize_and_refused_after() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let text = std::fs::read_to_string(&plan).unwrap();
    // The launcher notes the version each launch is handed.
    let text = text.replacen(
        "launch = \"",
        "launch = \"echo \\\"v=$NODEROLL_CCF_VERSION\\\" >> versions.txt; ",
        1,
    );
    std::fs::write(&plan, format!("{text}finalize = \"manual\"\n")).unwrap();
    let plan = plan.to_str().unwrap();
    let run = noderoll_in(
        state.path(),
        &["apply", "--plan", plan, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(
        summary(&run.stdout)["outcome"],
        "finalize_pending",
        "{}",
        run.stderr
    );
    let run = noderoll_in(
        state.path(),
        &["rollback", "--plan", plan, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let evs = events(&run.stdout);
    let started = evs
        .iter()
        .find(|e| e["type"] == "rollback_started")
        .unwrap();
    assert_eq!(started["kind"], "roll_forward");
    // No old node is left to ask, yet the version gone back to is known (and the launcher
    // is handed it): the one the run that upgraded recorded as its starting point.
    let old = r.sandbox.info().current_build.ccf_version.clone();
    assert_eq!(started["to"]["ccf_version"], old.as_str(), "{started}");
    assert!(!started["run_id"].as_str().unwrap().is_empty(), "{started}");
    let versions = std::fs::read_to_string(r.dir.path().join("versions.txt")).unwrap();
    let handed: Vec<&str> = versions.lines().collect();
    assert_eq!(handed.len(), 6, "{versions}");
    assert!(
        handed[3..].iter().all(|l| *l == format!("v={old}")),
        "the rollback's launches are handed the old version: {versions}"
    );
    assert_rolled_back(&r, 3).await;

    // Upgrade again, this time to the end: the old version is deregistered for good.
    let retry = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    let fin = noderoll_in(state.path(), &["finalize", "--plan", plan, "--yes"]).await;
    assert_eq!(fin.code, 0, "{}", fin.stderr);
    let writes = r.sandbox.with_world(|w| w.write_requests);
    let refused = noderoll_in(state.path(), &["rollback", "--plan", plan, "--yes"]).await;
    assert_eq!(refused.code, 5, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("cannot roll back")
            && refused.stderr.contains("point of no return"),
        "{}",
        refused.stderr
    );
    assert_eq!(r.sandbox.with_world(|w| w.write_requests), writes);
    assert_eq!(r.sandbox.violations(), vec![]);
}
