//! The command a next step prints works as printed: it carries the flags that matter
//! (`--retry-failed-target`, `--allow-*`, `--output json`, `--yes`); with `--output json`
//! every non-zero exit ends with a `summary` on stdout (valid under schemas/summary.json);
//! `steps_run` counts the steps a failed or rolled-back run started; and the messages say
//! what to do without repeating the error.

use noderoll::sandbox::Platform;
use serde_json::Value;

use crate::common::*;

/// The last non-empty line of `stdout`, validated as a `summary`.
fn summary(stdout: &str) -> Value {
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("nothing on stdout"));
    let doc: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    output_schema::validate("summary", &doc);
    assert_eq!(doc["type"], "summary", "{doc}");
    doc
}

/// A failed run's summary: the error, a next step, nothing ran.
fn assert_refused(stdout: &str) -> Value {
    let doc = summary(stdout);
    assert_eq!(doc["outcome"], "failed", "{doc}");
    assert!(
        !doc["error"]["message"].as_str().unwrap().is_empty(),
        "{doc}"
    );
    assert!(!doc["next_step"]["reason"].as_str().unwrap().is_empty());
    doc
}

/// The line after `then: ` (or the command after `To apply: `) in the next-step lines.
fn printed_command(stderr: &str, lead: &str) -> String {
    let line = stderr
        .lines()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix(lead))
        .unwrap_or_else(|| panic!("no {lead:?} in\n{stderr}"));
    line.to_string()
}

/// Run a printed `noderoll …` command (plain words only).
async fn run_printed(state: &std::path::Path, command: &str) -> Ran {
    let words: Vec<&str> = command.split(' ').collect();
    assert_eq!(words[0], "noderoll", "{command}");
    noderoll_in(state, &words[1..]).await
}

fn count(stdout: &str, kind: &str) -> usize {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == kind)
        .count()
}

fn set_launcher(plan: &std::path::Path, launch: &str) -> String {
    let original = std::fs::read_to_string(plan).unwrap();
    let line = original
        .lines()
        .find(|l| l.starts_with("launch = "))
        .unwrap()
        .to_string();
    std::fs::write(
        plan,
        original.replace(&line, &format!("launch = {launch:?}")),
    )
    .unwrap();
    original
}

/// After an automatic rollback: `plan --retry-failed-target` and a refused `apply
/// --retry-failed-target` print commands that keep the flag (and `--output json`), and
/// running them as printed is not refused for the failed target.
#[tokio::test]
async fn printed_commands_keep_retry_failed_target_and_output_json() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let (plan_path, run) = r.apply_until_automatic_rollback(state.path()).await;
    let plan = plan_path.to_str().unwrap();
    // steps_run counts what ran: the failed upgrade's steps and the rollback's.
    let rolled = summary(&run.stdout);
    let started = count(&run.stdout, "step_started");
    assert!(started > 0);
    assert_eq!(rolled["steps_run"], started, "{rolled}");

    // The refusal: its reason says what to do, not the earlier failure again.
    let refused = noderoll_in(
        state.path(),
        &["apply", "--plan", plan, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(refused.code, 5, "{}", refused.stderr);
    let doc = assert_refused(&refused.stdout);
    let reason = doc["next_step"]["reason"].as_str().unwrap();
    let cause = doc["error"]["message"].as_str().unwrap();
    assert!(reason.contains("--retry-failed-target"), "{doc}");
    assert!(
        reason.len() < cause.len() + 40 && !reason.contains("never"),
        "{doc}"
    );
    assert_eq!(
        doc["next_step"]["command"],
        format!("noderoll apply --plan {plan} --yes --output json --retry-failed-target")
    );

    // plan --retry-failed-target: "To apply" keeps the flag, for people and in JSON.
    let planned = noderoll_in(
        state.path(),
        &[
            "plan",
            "--plan",
            plan,
            "--retry-failed-target",
            "--output",
            "json",
        ],
    )
    .await;
    let doc: Value = serde_json::from_str(&planned.stdout).unwrap();
    assert_eq!(
        doc["next_step"]["command"],
        format!("noderoll apply --plan {plan} --retry-failed-target --output json"),
        "{doc}"
    );
    let human = noderoll_in(
        state.path(),
        &["plan", "--plan", plan, "--retry-failed-target"],
    )
    .await;
    let to_apply = printed_command(&human.stderr, "To apply: ");
    assert_eq!(
        to_apply,
        format!("noderoll apply --plan {plan} --retry-failed-target")
    );

    // A preflight refusal of `apply --retry-failed-target` (no launcher): "then:" keeps it.
    set_launcher(&plan_path, "./no-such-launcher.sh");
    let failed = noderoll_in(
        state.path(),
        &["apply", "--plan", plan, "--yes", "--retry-failed-target"],
    )
    .await;
    assert_eq!(failed.code, 5, "{}", failed.stderr);
    let then = printed_command(&failed.stderr, "then: ");
    assert_eq!(
        then,
        format!("noderoll apply --plan {plan} --yes --retry-failed-target")
    );
    // Run as printed: the launcher's refusal again, not the failed target's.
    let again = run_printed(state.path(), &then).await;
    assert_eq!(again.code, 5, "{}", again.stderr);
    assert!(
        again.stderr.contains("no-such-launcher") && !again.stderr.contains("failed on"),
        "{}",
        again.stderr
    );
}

/// With `--output json`, exits that used to print nothing end with a `summary`: a plan
/// file error (plan and apply), a command line clap refuses, an unreachable service, a
/// held lock.
#[tokio::test]
async fn every_non_zero_exit_with_json_ends_with_a_summary() {
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
    let run = noderoll_in(state.path(), &["plan", "--plan", bad, "--output", "json"]).await;
    assert_eq!(run.code, 64, "{}", run.stderr);
    let doc = assert_refused(&run.stdout);
    assert_eq!(doc["steps_run"], 0);
    assert!(
        doc["error"]["message"].as_str().unwrap().contains("colour"),
        "{doc}"
    );
    assert_eq!(
        doc["next_step"]["command"],
        format!("noderoll plan --plan {bad} --output json")
    );
    let run = noderoll_in(
        state.path(),
        &["apply", "--plan", bad, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert_refused(&run.stdout);

    let run = noderoll_in(
        state.path(),
        &["apply", "--output", "json", "--no-such-flag"],
    )
    .await;
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert_refused(&run.stdout);

    let url = r.sandbox.info().service_address.clone();
    let gone = r.dir.path().join("gone.toml");
    let port = closed_port();
    std::fs::write(&gone, text.replace(&url, &format!("127.0.0.1:{port}"))).unwrap();
    let gone = gone.to_str().unwrap();
    let run = noderoll_in(
        state.path(),
        &["apply", "--plan", gone, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 69, "{}", run.stderr);
    assert_refused(&run.stdout);

    // Human output stays as it was: nothing on stdout.
    let run = noderoll_in(state.path(), &["plan", "--plan", bad]).await;
    assert_eq!(run.code, 64);
    assert_eq!(run.stdout, "");
}

/// A held lock (exit 6) with `--output json`: a summary saying to wait.
#[tokio::test]
async fn a_held_lock_with_json_ends_with_a_summary() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan_arg = plan.to_str().unwrap().to_string();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let keep = seen.clone();
    let dir = state.path().to_path_buf();
    let second = Trigger::new("step_started", 1, "soak", move |_, _| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"))
            .args(["apply", "--plan", &plan_arg, "--yes", "--output", "json"])
            .env("NODEROLL_STATE_DIR", &dir)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        *keep.lock().unwrap() = Some((
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        ));
    });
    let (first, fired) = apply_with(&plan, state.path(), &[], vec![second]).await;
    assert_eq!(fired, 1);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let (code, stdout) = seen.lock().unwrap().clone().unwrap();
    assert_eq!(code, Some(6), "{stdout}");
    let doc = assert_refused(&stdout);
    assert_eq!(doc["next_step"]["action"], "wait", "{doc}");
    assert!(
        doc["next_step"]["command"]
            .as_str()
            .unwrap()
            .ends_with("--output json"),
        "{doc}"
    );
}

/// `finalize = "manual"`: apply's summary names finalize as the next step; after finalize,
/// `rollback --dry-run --output json` (exit 5) ends with a summary whose next step says
/// there is nothing to fix and what is possible instead.
#[tokio::test]
async fn finalize_pending_names_finalize_and_after_it_rollback_says_what_is_possible() {
    let r = start_sandbox(1, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_with_manual_finalize();
    let plan = plan.to_str().unwrap();
    let run = noderoll_in(
        state.path(),
        &["apply", "--plan", plan, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = summary(&run.stdout);
    assert_eq!(doc["outcome"], "finalize_pending", "{doc}");
    assert_eq!(doc["next_step"]["action"], "finalize", "{doc}");
    assert_eq!(
        doc["next_step"]["command"],
        format!("noderoll finalize --plan {plan} --yes --output json")
    );
    let fin = noderoll_in(state.path(), &["finalize", "--plan", plan, "--yes"]).await;
    assert_eq!(fin.code, 0, "{}", fin.stderr);

    let back = noderoll_in(
        state.path(),
        &["rollback", "--plan", plan, "--dry-run", "--output", "json"],
    )
    .await;
    assert_eq!(back.code, 5, "{}", back.stderr);
    let doc = assert_refused(&back.stdout);
    let reason = doc["next_step"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("nothing to fix: the upgrade is finalized"),
        "{doc}"
    );
    assert!(!reason.contains(doc["error"]["message"].as_str().unwrap()));
    let human = noderoll_in(state.path(), &["rollback", "--plan", plan, "--dry-run"]).await;
    assert!(
        human.stderr.contains("Fix: nothing to fix")
            && human
                .stderr
                .contains(&format!("then: noderoll plan --plan {plan}")),
        "{}",
        human.stderr
    );
}

/// A gating hook with empty stderr fails with its status alone; the run's summary counts
/// the steps it ran; "then:" and "To continue:" keep `--output json`.
#[tokio::test]
async fn a_failed_run_counts_its_steps_and_keeps_output_json() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let hook = r.dir.path().join("drain.sh");
    std::fs::write(&hook, "#!/bin/sh\nexit 1\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(
        &plan,
        format!("{text}\n[hooks]\nbefore_retire = \"./drain.sh\"\n"),
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    let run = noderoll_in(
        state.path(),
        &["apply", "--plan", plan, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let doc = summary(&run.stdout);
    let started = count(&run.stdout, "step_started");
    assert!(started >= 3, "{}", run.stdout);
    assert_eq!(doc["steps_run"], started, "{doc}");
    let reason = doc["next_step"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("exit status: 1") && !reason.contains("()"),
        "{doc}"
    );
    assert_eq!(
        doc["next_step"]["command"],
        format!("noderoll apply --plan {plan} --yes --output json")
    );
    assert!(
        run.stderr.contains(&format!(
            "then: noderoll apply --plan {plan} --yes --output json"
        )),
        "{}",
        run.stderr
    );
}

/// `status --watch --until upgraded --timeout 1s`: the next step waits twice as long.
#[tokio::test]
async fn a_status_timeout_prints_a_longer_timeout() {
    let r = start_sandbox(1, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan = plan.to_str().unwrap();
    let run = noderoll_in(
        state.path(),
        &[
            "status",
            "--plan",
            plan,
            "--watch",
            "--until",
            "upgraded",
            "--interval",
            "200ms",
            "--timeout",
            "1s",
        ],
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let then = printed_command(&run.stderr, "then: ");
    assert!(then.ends_with("--timeout 2s"), "{then}");
    assert!(!run.stderr.contains("--timeout 1s\n"), "{}", run.stderr);
}
