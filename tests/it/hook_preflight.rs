//! Hooks and the notification command are checked in preflight like the launcher: a hook
//! whose program is missing or not executable, or a notification command not on `PATH`, is a
//! failed check (exit 5) naming the hook, the command and the fix, in `plan` and in `apply`
//! before any write (no proposal, nothing launched); working ones pass and say what they
//! resolve to.

use noderoll::sandbox::Platform;
use serde_json::Value;

use crate::common::*;

const CHECK: &str = "hook and notify commands resolve";

/// The sandbox's plan with `extra` appended, written beside its files as `name.toml`.
fn plan_with(r: &RunningSandbox, name: &str, extra: &str) -> String {
    let text = std::fs::read_to_string(r.plan_path()).unwrap();
    let path = r.dir.path().join(format!("{name}.toml"));
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path.to_str().unwrap().to_string()
}

/// What would show that the service was changed: writes, proposals, launched nodes.
fn changes(r: &RunningSandbox) -> (u64, usize, usize) {
    let (write_requests, proposals) = r
        .sandbox
        .with_world(|w| (w.write_requests, w.created_proposals.len()));
    (
        write_requests,
        proposals,
        r.launched_and_no_duplicate_proposal().0,
    )
}

/// `plan` and `apply` both refuse `plan` (exit 5) with `problem` after the check's name, and
/// nothing is changed; `apply --output json`'s summary says to fix that check.
async fn refused(r: &RunningSandbox, plan: &str, problem: &str) {
    let state = tempfile::tempdir().unwrap();
    let before = changes(r);
    let want = format!("{CHECK}: {problem}");
    let shown = noderoll_in(state.path(), &["plan", "--plan", plan]).await;
    assert_eq!(shown.code, 5, "{}\n{}", shown.stdout, shown.stderr);
    assert!(
        shown.stdout.contains(&format!("Preflight FAILED: {want}")),
        "no {want:?} in\n{}",
        shown.stdout
    );
    let run = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains(&want), "no {want:?} in\n{}", run.stderr);
    let json = noderoll_in(
        state.path(),
        &["apply", "--plan", plan, "--yes", "--output", "json"],
    )
    .await;
    assert_eq!(json.code, 5, "{}", json.stderr);
    let lines = output_schema::lines("run-stream", &json.stdout);
    let summary = lines.last().unwrap();
    assert_eq!(summary["next_step"]["action"], "fix", "{summary}");
    let reason = summary["next_step"]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&want) && reason.contains("nothing was changed"),
        "{summary}"
    );
    assert!(
        !lines.iter().any(|e| e["type"] == "step_started"),
        "{}",
        json.stdout
    );
    assert_eq!(changes(r), before, "the service was changed");
}

#[tokio::test]
async fn a_hook_or_notify_command_that_cannot_start_is_refused_before_any_write() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let dir = std::fs::canonicalize(r.dir.path()).unwrap();

    // A drain script without an execute bit: the hook, its command and the chmod named.
    let drain = r.dir.path().join("drain.sh");
    std::fs::write(&drain, "#!/bin/sh\nexit 0\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&drain, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let plan = plan_with(
        &r,
        "not-executable",
        "[hooks]\nbefore_retire = \"./drain.sh --all\"\n",
    );
    let problem = format!(
        "hook before_retire command `./drain.sh --all`: ./drain.sh is not executable (chmod +x {})",
        dir.join("drain.sh").display()
    );
    refused(&r, &plan, &problem).await;

    // A smoke test that does not exist.
    let plan = plan_with(&r, "missing", "[hooks]\nafter_trust = \"./smoke.sh\"\n");
    let problem = format!(
        "hook after_trust command `./smoke.sh`: ./smoke.sh does not exist (relative to {})",
        dir.display()
    );
    refused(&r, &plan, &problem).await;

    // A notification command not on PATH, beside a hook that is fine.
    let plan = plan_with(
        &r,
        "notify",
        "[hooks]\nafter_trust = \"true\"\n[notify]\ncommand = \"post-to-chat-xyz --room ops\"\n",
    );
    refused(
        &r,
        &plan,
        "notify command `post-to-chat-xyz --room ops`: post-to-chat-xyz is not found on PATH",
    )
    .await;
}

/// Hooks and a notification command that can start pass, and `plan` says what each resolves
/// to.
#[tokio::test]
async fn working_hooks_pass_preflight_and_plan_shows_them() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let drain = r.dir.path().join("drain.sh");
    std::fs::write(&drain, "#!/bin/sh\nexit 0\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&drain, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let plan = plan_with(
        &r,
        "hooks",
        "[hooks]\nbefore_retire = \"./drain.sh\"\non_failure = \"cat > failed.json\"\n\
         [notify]\ncommand = \"cat >> notify.jsonl\"\n",
    );
    let run = noderoll_in(state.path(), &["--output", "json", "plan", "--plan", &plan]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    output_schema::validate("plan", &doc);
    let check = doc["preflight"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == CHECK)
        .unwrap_or_else(|| panic!("no {CHECK:?} in {doc}"));
    assert_eq!(check["ok"], true, "{check}");
    let detail = check["detail"].as_str().unwrap();
    for part in [
        "hook before_retire: ",
        "drain.sh",
        "hook on_failure: cat on PATH",
        "notify: cat on PATH",
    ] {
        assert!(detail.contains(part), "no {part:?} in {detail}");
    }
}
