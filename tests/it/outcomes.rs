//! Every outcome ends with what to do next: for each exit code, the last lines on stderr say
//! it ("To continue: …", "To roll back: …", "Fix: …") and the JSON document carries it as
//! `next_step: {action, command, reason}`. `plan` says what `apply` would do (a target that
//! failed before is blocked for both; finalize pending has its own state and exit code), and
//! a launcher or hook that cannot be run never marks the target as failed.

use noderoll::sandbox::{Fault, Platform};
use serde_json::Value;

use crate::common::*;

fn last_json(stdout: &str) -> Value {
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"))
}

/// The next-step lines: from the first line that starts with what to do to the end.
fn next_lines(stderr: &str) -> String {
    let leads = [
        "To continue: ",
        "To roll back: ",
        "Fix: ",
        "Wait for: ",
        "To apply: ",
        "To finalize: ",
        "This is a bug",
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| leads.iter().any(|p| l.starts_with(p)))
        .unwrap_or_else(|| panic!("no next step in\n{stderr}"));
    lines[at..].join("\n")
}

/// `apply --output json`'s summary must carry `action` and a command containing `command`.
fn assert_next(summary: &Value, action: &str, command: &str) {
    let next = &summary["next_step"];
    assert_eq!(next["action"], action, "{summary}");
    assert!(
        next["command"]
            .as_str()
            .unwrap_or_default()
            .contains(command),
        "{command:?} in {summary}"
    );
    assert!(!next["reason"].as_str().unwrap().is_empty(), "{summary}");
}

fn with(plan: &std::path::Path, extra: &str) {
    let text = std::fs::read_to_string(plan).unwrap();
    std::fs::write(plan, format!("{text}\n{extra}\n")).unwrap();
}

fn journal_has_failed_target(state: &std::path::Path, plan: &str) -> bool {
    let journal = std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"))
        .args(["journal", "--plan", plan, "--output", "json"])
        .env("NODEROLL_STATE_DIR", state)
        .output()
        .unwrap();
    String::from_utf8_lossy(&journal.stdout).contains("\"target_failed\"")
}

#[tokio::test]
async fn a_failing_gating_hook_says_what_to_fix_and_how_to_continue() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let hook = r.dir.path().join("drain.sh");
    std::fs::write(&hook, "#!/bin/sh\necho draining failed >&2\nexit 1\n").unwrap();
    set_mode(&hook, 0o755);
    with(&plan, "[hooks]\nbefore_retire = \"./drain.sh\"");
    let plan = plan.to_str().unwrap();

    // Exit 3, for people: the error, then the hook to fix and the command that continues.
    let human = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(human.code, 3, "{}", human.stderr);
    let next = next_lines(&human.stderr);
    assert!(
        next.starts_with("Fix: before_retire hook `./drain.sh` failed")
            && next.contains(&format!("then: noderoll apply --plan {plan} --yes"))
            && next.contains(&format!("noderoll rollback --plan {plan} --yes")),
        "{next}"
    );
    // ... and in JSON: the summary's next_step.
    let json = noderoll_in(
        state.path(),
        &["apply", "--plan", plan, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(json.code, 3, "{}", json.stderr);
    let summary = last_json(&json.stdout);
    assert_eq!(summary["outcome"], "failed");
    assert_next(
        &summary,
        "fix",
        &format!("noderoll apply --plan {plan} --yes"),
    );
    assert!(
        summary["next_step"]["reason"]
            .as_str()
            .unwrap()
            .contains("before_retire hook"),
        "{summary}"
    );

    // Fixed: the same command continues.
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    let done = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(r.sandbox.violations(), vec![]);
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn an_interrupted_run_says_to_continue() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let stop = Trigger::new("step_started", 1, "launch", |_, pid| {
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
    });
    let (ran, fired) = apply_with(&plan, state.path(), &[], vec![stop]).await;
    assert_eq!(fired, 1);
    assert_eq!(ran.code, 4, "{}", ran.stderr);
    // steps_run counts the steps the interrupted run started.
    let started = ran.stdout.matches("\"type\":\"step_started\"").count();
    assert!(started > 0, "{}", ran.stdout);
    assert_eq!(last_json(&ran.stdout)["steps_run"], started);
    let plan = plan.to_str().unwrap();
    assert_next(
        &last_json(&ran.stdout),
        "continue",
        &format!("noderoll apply --plan {plan} --yes"),
    );
    assert!(
        next_lines(&ran.stderr)
            .starts_with(&format!("To continue: noderoll apply --plan {plan} --yes")),
        "{}",
        ran.stderr
    );
}

#[tokio::test]
async fn a_failed_preflight_names_the_check_to_fix() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan = plan.to_str().unwrap();
    let member_id = r.sandbox.info().members[0].member_id.clone();
    noderoll::sandbox::control::apply_fault(
        r.sandbox.core(),
        Fault::MemberStatus {
            member_id,
            active: false,
        },
    )
    .unwrap();
    let run = noderoll_in(
        state.path(),
        &["apply", "--plan", plan, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    let summary = last_json(&run.stdout);
    assert_next(&summary, "fix", "noderoll apply --plan");
    assert!(
        summary["next_step"]["reason"]
            .as_str()
            .unwrap()
            .contains("configured members are Active"),
        "{summary}"
    );
    assert!(
        next_lines(&run.stderr)
            .starts_with("Fix: the failed preflight check: configured members are Active"),
        "{}",
        run.stderr
    );
    // plan agrees: blocked, exit 5, the same next step.
    let planned = noderoll_in(state.path(), &["plan", "--plan", plan, "--output", "json"]).await;
    assert_eq!(planned.code, 5, "{}", planned.stderr);
    let doc: Value = serde_json::from_str(&planned.stdout).unwrap();
    assert_eq!(doc["state"], "blocked", "{doc}");
    assert_eq!(doc["next_step"]["action"], "fix", "{doc}");
}

#[tokio::test]
async fn a_held_lock_says_to_wait_for_the_other_run() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan_arg = plan.to_str().unwrap().to_string();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let keep = seen.clone();
    let dir = state.path().to_path_buf();
    // While the first run soaks, a second one finds the lock held.
    let second = Trigger::new("step_started", 1, "soak", move |_, _| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"))
            .args(["apply", "--plan", &plan_arg, "--yes"])
            .env("NODEROLL_STATE_DIR", &dir)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        *keep.lock().unwrap() = Some((
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        ));
    });
    let (first, fired) = apply_with(&plan, state.path(), &[], vec![second]).await;
    assert_eq!(fired, 1);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let (code, stderr) = seen.lock().unwrap().clone().unwrap();
    assert_eq!(code, Some(6), "{stderr}");
    assert!(
        next_lines(&stderr).starts_with("Wait for: the other run"),
        "{stderr}"
    );
}

#[tokio::test]
async fn bad_input_and_an_unreachable_service_name_what_to_fix() {
    let r = start_sandbox(1, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let text = std::fs::read_to_string(&plan).unwrap();
    let bad = r.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        text.replace("[target]", "[target]\ncolour = \"blue\""),
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    let run = noderoll_in(state.path(), &["plan", "--plan", bad]).await;
    assert_eq!(run.code, 64, "{}", run.stderr);
    let next = next_lines(&run.stderr);
    assert!(
        next.starts_with("Fix: the plan file or option named above")
            && next.contains(&format!("then: noderoll plan --plan {bad}")),
        "{next}"
    );

    let url = r.sandbox.info().service_address.clone();
    let port = closed_port();
    let gone = r.dir.path().join("gone.toml");
    std::fs::write(&gone, text.replace(&url, &format!("127.0.0.1:{port}"))).unwrap();
    let gone = gone.to_str().unwrap();
    let run = noderoll_in(
        state.path(),
        &["apply", "--plan", gone, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 69, "{}", run.stderr);
    assert!(
        next_lines(&run.stderr)
            .starts_with("Fix: the way to the service: [service] url and service_cert in"),
        "{}",
        run.stderr
    );
}

/// After an automatic rollback (exit 7), `plan` and `apply` agree: both blocked by the
/// failed target, with the same reason, exit 5, and the same next step.
#[tokio::test]
async fn after_an_automatic_rollback_plan_and_apply_agree() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let (plan, run) = r.apply_until_automatic_rollback(state.path()).await;
    let plan = plan.to_str().unwrap();
    let summary = last_json(&run.stdout);
    assert_next(&summary, "fix", "--retry-failed-target");
    assert!(
        next_lines(&run.stderr).starts_with("Fix: why the new node failed"),
        "{}",
        run.stderr
    );

    let planned = noderoll_in(state.path(), &["plan", "--plan", plan, "--output", "json"]).await;
    assert_eq!(planned.code, 5, "{}", planned.stderr);
    let doc: Value = serde_json::from_str(&planned.stdout).unwrap();
    assert_eq!(doc["state"], "blocked", "{doc}");
    let blocked = doc["blocked"].as_str().unwrap().to_string();
    assert!(blocked.contains("failed on"), "{doc}");
    assert_eq!(doc["next_step"]["action"], "fix");
    let human_plan = noderoll_in(state.path(), &["plan", "--plan", plan]).await;
    assert_eq!(human_plan.code, 5);
    assert!(
        human_plan.stdout.contains(&format!("blocked: {blocked}")),
        "{}",
        human_plan.stdout
    );
    // Said first, and the preflight summary counts the refusal: no "all checks pass".
    assert!(
        human_plan
            .stdout
            .starts_with("Blocked: apply would refuse (exit 5): target not failed here before: "),
        "{}",
        human_plan.stdout
    );
    assert!(
        human_plan
            .stdout
            .contains("Preflight FAILED: target not failed here before: ")
            && !human_plan.stdout.contains("checks pass"),
        "{}",
        human_plan.stdout
    );
    assert!(
        doc["preflight"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "target not failed here before" && c["ok"] == false),
        "{doc}"
    );

    let applied = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(applied.code, 5, "{}", applied.stderr);
    assert!(
        applied.stderr.contains(&format!("error: {blocked}")),
        "apply's refusal is plan's blocked reason:\n{blocked}\n{}",
        applied.stderr
    );
    // The same fix; each names itself again, with --retry-failed-target.
    let (a, p) = (next_lines(&applied.stderr), next_lines(&human_plan.stderr));
    assert_eq!(a.lines().next(), p.lines().next(), "the same fix");
    assert!(
        p.ends_with(&format!(
            "then: noderoll plan --plan {plan} --retry-failed-target"
        )),
        "{p}"
    );
    // With --retry-failed-target, plan shows the upgrade as apply would run it.
    let retry = noderoll_in(
        state.path(),
        &[
            "plan",
            "--plan",
            plan,
            "--retry-failed-target",
            "--detailed-exitcode",
        ],
    )
    .await;
    assert_eq!(retry.code, 2, "{}", retry.stderr);
    assert!(
        next_lines(&retry.stderr).starts_with("To apply: noderoll apply --plan"),
        "{}",
        retry.stderr
    );
}

#[tokio::test]
async fn finalize_pending_is_its_own_plan_state() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_with_manual_finalize();
    let plan = plan.to_str().unwrap();
    let pending = noderoll_in(
        state.path(),
        &[
            "plan",
            "--plan",
            plan,
            "--detailed-exitcode",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(pending.code, 2, "{}", pending.stderr);
    let doc: Value = serde_json::from_str(&pending.stdout).unwrap();
    assert_eq!(doc["state"], "changes_pending");
    assert_eq!(doc["next_step"]["action"], "apply");

    let run = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let planned = noderoll_in(
        state.path(),
        &[
            "plan",
            "--plan",
            plan,
            "--detailed-exitcode",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(planned.code, 8, "{}", planned.stderr);
    let doc: Value = serde_json::from_str(&planned.stdout).unwrap();
    assert_eq!(doc["state"], "finalize_pending", "{doc}");
    assert_eq!(doc["next_step"]["action"], "finalize", "{doc}");
    assert!(
        doc["next_step"]["command"]
            .as_str()
            .unwrap()
            .contains("noderoll finalize --plan")
    );
    let human = noderoll_in(state.path(), &["plan", "--plan", plan]).await;
    assert_eq!(human.code, 0, "without --detailed-exitcode: 0");
    assert!(
        human.stdout.contains("Finalize pending: every node runs"),
        "{}",
        human.stdout
    );
    assert!(
        next_lines(&human.stderr).starts_with("To finalize: noderoll finalize --plan"),
        "{}",
        human.stderr
    );
    // apply agrees: nothing more to do.
    let writes = r.sandbox.with_world(|w| w.write_requests);
    let again = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(r.sandbox.with_world(|w| w.write_requests), writes);
    // Finalized: nothing to do, no next step.
    let fin = noderoll_in(state.path(), &["finalize", "--plan", plan, "--yes"]).await;
    assert_eq!(fin.code, 0, "{}", fin.stderr);
    let done = noderoll_in(
        state.path(),
        &[
            "plan",
            "--plan",
            plan,
            "--detailed-exitcode",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    let doc: Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(doc["state"], "nothing_to_do");
    assert_eq!(doc["next_step"], Value::Null);
}

/// A hook that cannot be run is the plan's mistake: the run stops (exit 3) without rolling
/// back or marking the target as failed, and the fixed plan continues without
/// `--retry-failed-target`. A launcher that does not exist is refused before anything
/// changes (exit 5), also without a failed target. (A hook whose own program is missing is
/// refused by preflight too; the one here starts, then the shell cannot run what it calls:
/// exit 127, found only when it runs.)
#[tokio::test]
async fn a_configuration_error_never_marks_the_target_failed() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let original = std::fs::read_to_string(&plan).unwrap();
    let launch_line = original
        .lines()
        .find(|l| l.starts_with("launch = "))
        .unwrap()
        .to_string();
    std::fs::write(
        &plan,
        original.replace(&launch_line, "launch = \"./no-such-launcher.sh\""),
    )
    .unwrap();
    let plan_arg = plan.to_str().unwrap();
    let run = noderoll_in(state.path(), &["apply", "--plan", plan_arg, "--yes"]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        next_lines(&run.stderr).contains("launch command `./no-such-launcher.sh`"),
        "{}",
        run.stderr
    );
    assert!(!journal_has_failed_target(state.path(), plan_arg));

    // The launcher fixed, a smoke test that calls a tool that is not there (sh: 127).
    let hook = r.dir.path().join("smoke.sh");
    std::fs::write(&hook, "#!/bin/sh\n./no-such-smoke-tool\n").unwrap();
    set_mode(&hook, 0o755);
    std::fs::write(
        &plan,
        format!("{original}\n[hooks]\nafter_trust = \"./smoke.sh\"\n"),
    )
    .unwrap();
    let run = noderoll_in(
        state.path(),
        &["apply", "--plan", plan_arg, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 3, "stopped, not rolled back: {}", run.stderr);
    assert!(
        !run.stdout.contains("\"rollback_started\""),
        "{}",
        run.stdout
    );
    let summary = last_json(&run.stdout);
    assert_next(&summary, "fix", "noderoll apply --plan");
    assert!(
        summary["next_step"]["reason"]
            .as_str()
            .unwrap()
            .contains("after_trust hook `./smoke.sh`"),
        "{summary}"
    );
    assert!(!journal_has_failed_target(state.path(), plan_arg));

    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    let fixed = noderoll_in(state.path(), &["apply", "--plan", plan_arg, "--yes"]).await;
    assert_eq!(
        fixed.code, 0,
        "no --retry-failed-target needed: {}",
        fixed.stderr
    );
    assert_eq!(r.trusted_count().await, 3);
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn quiet_status_and_plan_print_nothing() {
    let r = start_sandbox(1, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan = plan.to_str().unwrap();
    for args in [
        ["status", "--plan", plan, "-q"],
        ["plan", "--plan", plan, "-q"],
    ] {
        let run = noderoll_in(state.path(), &args).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
    }
    // JSON is data asked for: -q leaves it.
    let json = noderoll_in(
        state.path(),
        &["status", "--plan", plan, "-q", "--output", "json"],
    )
    .await;
    assert!(json.stdout.contains("schema_version"), "{}", json.stdout);
}

/// While another run holds the service's lock, `plan` says so first, exits 6 as `apply`
/// would, and its next step is to wait (not to apply).
#[tokio::test]
async fn plan_while_another_run_holds_the_lock_says_wait() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan = plan.to_str().unwrap();
    let cert = noderoll::ccf::ServiceCert::load(&r.dir.path().join(&r.sandbox.info().service_cert))
        .unwrap();
    let dir = state
        .path()
        .join(format!("service-{}", &cert.sha256()[..16]));
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join("lock")).unwrap();
    lock.lock().unwrap();
    std::fs::write(
        dir.join("lock.json"),
        r#"{"host": "ci-7", "pid": 4242, "run_id": "19a0", "started_at": "2026-12-01T06:00:00Z"}"#,
    )
    .unwrap();
    let human = noderoll_in(state.path(), &["plan", "--plan", plan]).await;
    assert_eq!(human.code, 6, "{}", human.stderr);
    assert!(
        human.stdout.starts_with(
            "Run in progress: another noderoll run holds this service's lock (host ci-7, pid 4242, run 19a0, since 2026-12-01T06:00:00Z)"
        ),
        "{}",
        human.stdout
    );
    assert!(
        next_lines(&human.stderr).starts_with("Wait for: the run in progress to end"),
        "{}",
        human.stderr
    );
    let json = noderoll_in(state.path(), &["plan", "--plan", plan, "--output", "json"]).await;
    assert_eq!(json.code, 6, "{}", json.stderr);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    output_schema::validate("plan", &doc);
    assert_eq!(doc["run_in_progress"]["pid"], 4242, "{doc}");
    assert_eq!(doc["next_step"]["action"], "wait", "{doc}");
    let again = format!("noderoll plan --plan {plan} --output json");
    assert_eq!(doc["next_step"]["command"], again, "{doc}");
    drop(lock);
    let free = noderoll_in(state.path(), &["plan", "--plan", plan]).await;
    assert_eq!(free.code, 0, "{}", free.stderr);
    assert!(!free.stdout.contains("Run in progress"), "{}", free.stdout);
}
