//! What people read on stderr: a preflight that passes is one line (each check with `-v`, a
//! failing one in full), and a rollback says what it does in a rollback's words.

use noderoll::sandbox::{Fault, Platform};

use crate::common::*;

/// The preflight's summary line, if any.
fn summary_line(stderr: &str) -> Option<&str> {
    stderr.lines().find(|l| l.starts_with("preflight: "))
}

fn set_member_active(r: &RunningSandbox, active: bool) {
    let member_id = r.sandbox.info().members[0].member_id.clone();
    noderoll::sandbox::control::apply_fault(
        r.sandbox.core(),
        Fault::MemberStatus { member_id, active },
    )
    .unwrap();
}

#[tokio::test]
async fn a_preflight_is_one_line_unless_it_fails_or_v_is_given() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan = plan.to_str().unwrap();

    // A failing check is shown in full, with the summary; the passing ones are not.
    set_member_active(&r, false);
    let failed = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(failed.code, 5, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .lines()
            .any(|l| l.starts_with("FAILED preflight: configured members are Active: ")),
        "{}",
        failed.stderr
    );
    let summary = summary_line(&failed.stderr).unwrap_or_default();
    assert!(
        summary.starts_with("preflight: 1 of ") && summary.ends_with(" checks FAILED"),
        "{}",
        failed.stderr
    );
    assert!(
        !failed.stderr.contains("ok preflight:"),
        "{}",
        failed.stderr
    );

    // -v: every check's line.
    let verbose = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes", "-v"]).await;
    assert_eq!(verbose.code, 5, "{}", verbose.stderr);
    for line in [
        "ok preflight: service open: service status Open",
        "FAILED preflight: configured members are Active: ",
        "ok preflight: version guard: ",
    ] {
        assert!(
            verbose.stderr.contains(line),
            "{line:?} in\n{}",
            verbose.stderr
        );
    }

    // Passing: one line.
    set_member_active(&r, true);
    let run = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = summary_line(&run.stderr).unwrap_or_default();
    assert!(
        summary.starts_with("preflight: all ") && summary.ends_with(" checks pass"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(" preflight: "), "{}", run.stderr);
}

/// What a rollback used to say that is not what it does.
const UPGRADE_WORDS: [&str; 4] = [
    "Plan: upgrade to",
    "old node",
    "new nodes give f",
    "allowed by --allow-downgrade",
];

#[tokio::test]
async fn a_rollback_speaks_of_rolling_back() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan = plan.to_str().unwrap();
    // The new nodes trusted, no old node retired: a clean rollback launches nothing.
    apply_killed_at(
        r.plan_path().as_path(),
        state.path(),
        "step_started",
        1,
        "soak",
    )
    .await;

    let dry = noderoll_in(state.path(), &["rollback", "--plan", plan, "--dry-run"]).await;
    assert_eq!(dry.code, 2, "{}", dry.stderr);
    let run = noderoll_in(state.path(), &["rollback", "--plan", plan, "--yes", "-v"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let said = format!("{}{}{}", dry.stdout, run.stdout, run.stderr);
    for words in [
        "Plan: roll back to ",
        "retire the abandoned upgrade's node ",
        "fault tolerance floor reachable: nothing to launch: the 3 nodes of the previous version that stay give f = 1",
        "a rollback returns to the previous version",
        "clean: no node of the previous version was retired",
        "valid for the rollback's longest expected duration",
    ] {
        assert!(said.contains(words), "{words:?} in\n{said}");
    }
    // It launches nothing: no word of the certificates of nodes it would launch.
    for words in UPGRADE_WORDS.iter().chain(&["the nodes it launches"]) {
        assert!(!said.contains(words), "{words:?} in\n{said}");
    }
}

#[tokio::test]
async fn a_roll_forward_speaks_of_the_previous_versions_nodes() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan = plan.to_str().unwrap();
    // One old node retired: the rollback launches a node of the previous version.
    apply_killed_at(r.plan_path().as_path(), state.path(), "node_removed", 1, "").await;
    let dry = noderoll_in(state.path(), &["rollback", "--plan", plan, "--dry-run"]).await;
    assert_eq!(dry.code, 2, "{}", dry.stderr);
    // The JSON gates use the rollback's words too.
    let json = noderoll_in(
        state.path(),
        &["rollback", "--plan", plan, "--dry-run", "--output", "json"],
    )
    .await;
    let doc = &output_schema::lines("rollback-plan", &json.stdout)[0];
    let gates: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["gate"].as_str().unwrap())
        .collect();
    assert!(
        gates
            .iter()
            .any(|g| g.contains("every node of the previous version healthy")),
        "{gates:?}"
    );
    for words in ["new node", "attesting the target", "target code version"] {
        assert!(
            !gates.iter().any(|g| g.contains(words)),
            "{words:?} in {gates:?}"
        );
    }
    assert!(
        dry.stderr.contains(&format!(
            "To roll back: noderoll rollback --plan {plan} --yes"
        )),
        "{}",
        dry.stderr
    );
    let run = noderoll_in(state.path(), &["rollback", "--plan", plan, "--yes", "-v"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let said = format!("{}{}{}", dry.stdout, run.stdout, run.stderr);
    for words in [
        "Rollback (roll forward: nodes of the previous version were retired",
        "Plan: roll back to ",
        "launch 1 node of the previous version",
        "trust 1 node of the previous version in one proposal",
        "the previous version's nodes ready",
        "every node of the previous version healthy",
        "retire the abandoned upgrade's node ",
        "the rollback ends with 3 nodes of the previous version",
    ] {
        assert!(said.contains(words), "{words:?} in\n{said}");
    }
    for words in UPGRADE_WORDS.iter().chain(&["new node", "Upgrading to"]) {
        assert!(!said.contains(words), "{words:?} in\n{said}");
    }
}

/// At 80 columns (`COLUMNS=80`) the plan and the journal fit, and no node id, address,
/// action, run id, launch name or time is broken across lines.
#[tokio::test]
async fn plan_and_journal_fit_80_columns_with_every_token_whole() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan = plan.to_str().unwrap();
    let columns = [("COLUMNS", "80")];

    let planned = noderoll_in_env(state.path(), &["plan", "--plan", plan], &columns).await;
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let mut words: Vec<String> = r
        .sandbox
        .info()
        .nodes
        .iter()
        .map(|n| n.node_id[..8].to_string())
        .collect();
    words.push("(add_virtual_host_data)".into());
    assert_fits_whole(&planned.stdout, 80, &words);

    let run = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let journal = noderoll_in_env(state.path(), &["journal", "--plan", plan], &columns).await;
    assert_eq!(journal.code, 0, "{}", journal.stderr);
    let json = noderoll_in(
        state.path(),
        &["journal", "--plan", plan, "--output", "json"],
    )
    .await;
    let mut words = Vec::new();
    for line in json.stdout.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let at = record["at"].as_str().unwrap();
        words.push(format!("{}Z", &at[..19])); // to the second
        words.push(record["run_id"].as_str().unwrap_or_default().to_string());
        words.extend(record["name"].as_str().map(str::to_string));
        words.extend(record["node"]["rpc_address"].as_str().map(str::to_string));
    }
    assert!(
        words.iter().any(|w| w.starts_with("noderoll-")),
        "{words:?}"
    );
    assert_fits_whole(&journal.stdout, 80, &words);
}
