//! The command a next step prints works as printed, run as printed: a refusal for want of a
//! terminal names the command with `--yes`; `plan --out` names `apply FILE`, and a stale
//! saved plan the `plan` that makes it afresh; a blocked `plan` names `plan` again (and its
//! JSON says why in `blocked`); a command line clap refuses names the command's `--help`.

use noderoll::sandbox::{Fault, Platform};
use serde_json::Value;

use crate::common::*;

/// The command after `lead` in the last next-step lines of `stderr`.
fn printed(stderr: &str, lead: &str) -> String {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix(lead))
        .unwrap_or_else(|| panic!("no {lead:?} in\n{stderr}"))
        .to_string()
}

/// Run a printed `noderoll …` command (plain words only).
async fn run_printed(state: &std::path::Path, command: &str) -> Ran {
    let words: Vec<&str> = command.split(' ').collect();
    assert_eq!(words[0], "noderoll", "{command}");
    noderoll_in(state, &words[1..]).await
}

/// The last JSON document on stdout.
fn last_json(stdout: &str) -> Value {
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"))
}

/// `apply` and `finalize` without `--yes` and without a terminal: refused (exit 64), and the
/// command printed, run as printed, goes ahead.
#[tokio::test]
async fn a_refusal_without_a_terminal_prints_the_command_with_yes() {
    let r = start_sandbox(1, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_with_manual_finalize();
    let plan = plan.to_str().unwrap();

    let refused = noderoll_in(state.path(), &["apply", "--plan", plan, "--output", "json"]).await;
    assert_eq!(refused.code, 64, "{}", refused.stderr);
    let doc = last_json(&refused.stdout);
    output_schema::validate("summary", &doc);
    assert_eq!(
        doc["next_step"]["command"],
        format!("noderoll apply --plan {plan} --output json --yes"),
        "{doc}"
    );
    let refused = noderoll_in(state.path(), &["apply", "--plan", plan]).await;
    assert_eq!(refused.code, 64, "{}", refused.stderr);
    let then = printed(&refused.stderr, "then: ");
    assert_eq!(then, format!("noderoll apply --plan {plan} --yes"));
    let applied = run_printed(state.path(), &then).await;
    assert_eq!(applied.code, 0, "{}", applied.stderr);

    let refused = noderoll_in(state.path(), &["finalize", "--plan", plan]).await;
    assert_eq!(refused.code, 64, "{}", refused.stderr);
    let then = printed(&refused.stderr, "then: ");
    assert_eq!(then, format!("noderoll finalize --plan {plan} --yes"));
    let finalized = run_printed(state.path(), &then).await;
    assert_eq!(finalized.code, 0, "{}", finalized.stderr);
}

/// `plan --out FILE` names `apply FILE` (stdout, stderr and JSON alike, with `saved_to`);
/// once the service changed, that saved plan is stale, and the command printed plans it
/// afresh from its plan file into the same file, which then applies.
#[tokio::test]
async fn a_saved_plan_and_a_stale_one_print_commands_that_work() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let saved = r.dir.path().join("saved.json");
    let (plan_arg, saved_arg) = (plan.to_str().unwrap(), saved.to_str().unwrap());
    let json = noderoll_in(
        state.path(),
        &[
            "plan", "--plan", plan_arg, "--out", saved_arg, "--output", "json",
        ],
    )
    .await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    output_schema::validate("plan", &doc);
    assert_eq!(doc["saved_to"], saved_arg, "{doc}");
    assert_eq!(
        doc["next_step"]["command"],
        format!("noderoll apply {saved_arg} --output json"),
        "{doc}"
    );
    let human = noderoll_in(
        state.path(),
        &["plan", "--plan", plan_arg, "--out", saved_arg],
    )
    .await;
    assert_eq!(human.code, 0, "{}", human.stderr);
    let apply = printed(&human.stderr, "To apply: ");
    assert_eq!(apply, format!("noderoll apply {saved_arg}"));
    assert!(
        human
            .stdout
            .contains(&format!("apply exactly it with: {apply}\n")),
        "{}",
        human.stdout
    );

    // The service changes: another node joins.
    let (id, _) = r
        .sandbox
        .launch(r.sandbox.info().current_build.clone())
        .unwrap();
    wait_pending(&r.client, &r.entry, &id).await;
    let stale = noderoll_in(
        state.path(),
        &["apply", saved_arg, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(stale.code, 5, "{}", stale.stderr);
    let recorded = std::fs::canonicalize(&plan).unwrap();
    let replan = format!(
        "noderoll plan --plan {} --out {saved_arg}",
        recorded.display()
    );
    let doc = last_json(&stale.stdout);
    output_schema::validate("summary", &doc);
    assert_eq!(
        doc["next_step"]["command"],
        format!("{replan} --output json"),
        "{doc}"
    );
    let stale = noderoll_in(state.path(), &["apply", saved_arg, "--yes"]).await;
    assert_eq!(stale.code, 5, "{}", stale.stderr);
    let then = printed(&stale.stderr, "then: ");
    assert_eq!(then, replan);
    let planned = run_printed(state.path(), &then).await;
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let applied = run_printed(state.path(), &printed(&planned.stderr, "To apply: ")).await;
    assert_eq!(applied.code, 0, "{}", applied.stderr);
}

/// A plan blocked by a failed preflight check: its JSON says why in `blocked`, and its next
/// step is this `plan` again, with the flags given.
#[tokio::test]
async fn a_blocked_plan_says_why_and_names_plan_again() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let plan = r.plan_path();
    let plan = plan.to_str().unwrap();
    let member_id = r.sandbox.info().members[0].member_id.clone();
    let fault = Fault::MemberStatus {
        member_id,
        active: false,
    };
    noderoll::sandbox::control::apply_fault(r.sandbox.core(), fault).unwrap();
    let json = noderoll_in(state.path(), &["plan", "--plan", plan, "--output", "json"]).await;
    assert_eq!(json.code, 5, "{}", json.stderr);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    output_schema::validate("plan", &doc);
    assert_eq!(doc["state"], "blocked", "{doc}");
    let blocked = doc["blocked"].as_str().unwrap_or_else(|| panic!("{doc}"));
    assert!(
        blocked.starts_with("configured members are Active: "),
        "{doc}"
    );
    assert_eq!(
        doc["next_step"]["command"],
        format!("noderoll plan --plan {plan} --output json"),
        "{doc}"
    );
    let human = noderoll_in(state.path(), &["plan", "--plan", plan]).await;
    assert_eq!(human.code, 5, "{}", human.stderr);
    let then = printed(&human.stderr, "then: ");
    assert_eq!(then, format!("noderoll plan --plan {plan}"));
    let again = run_printed(state.path(), &then).await;
    assert_eq!(again.code, 5, "the same answer: {}", again.stderr);
}

/// A command line clap refuses: clap's text, then a next step naming the meant command's
/// help, which works as printed; in JSON the message names what was missing.
#[tokio::test]
async fn a_refused_command_line_names_the_help_of_the_command_meant() {
    let state = tempfile::tempdir().unwrap();
    let run = noderoll_in(state.path(), &["plan", "--out", "FILE", "--output", "json"]).await;
    assert_eq!(run.code, 64, "{}", run.stderr);
    let doc = last_json(&run.stdout);
    output_schema::validate("summary", &doc);
    assert_eq!(
        doc["error"]["message"],
        "the following required arguments were not provided: --plan <PLAN>",
        "{doc}"
    );
    let causes = doc["error"]["causes"].as_array().unwrap();
    assert!(
        causes
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("Usage: noderoll plan ")),
        "{doc}"
    );
    assert_eq!(doc["next_step"]["command"], "noderoll plan --help", "{doc}");
    for (args, help) in [
        (&["apply", "--bogus"][..], "noderoll apply --help"),
        (&["frobnicate"][..], "noderoll --help"),
        (
            &["channel", "apply", "--bogus"][..],
            "noderoll channel apply --help",
        ),
    ] {
        let run = noderoll_in(state.path(), args).await;
        assert_eq!(run.code, 64, "{}", run.stderr);
        assert!(
            run.stderr.starts_with("error: "),
            "clap's text: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("\nFix: the command line: "),
            "{}",
            run.stderr
        );
        let then = printed(&run.stderr, "then: ");
        assert_eq!(then, help);
        let shown = run_printed(state.path(), &then).await;
        assert_eq!(shown.code, 0, "{}", shown.stderr);
        assert!(shown.stdout.contains("Usage: noderoll"), "{}", shown.stdout);
    }
}
