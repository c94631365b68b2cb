//! Operator and CI experience: canary ordering, gating hooks, notifications, `status --watch`,
//! the example plans, and terminal conventions.

use std::process::Command;

use noderoll::sandbox::Platform;
use serde_json::Value;

use crate::common::*;

fn noderoll(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_noderoll"))
        .args(args)
        .env_remove("NODEROLL_PLAN")
        .env(
            "NODEROLL_STATE_DIR",
            std::env::temp_dir().join("noderoll-test-state"),
        )
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

async fn run(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        noderoll(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap()
}

/// The JSON lines of `stdout`, each valid under `schemas/<schema>.json`.
fn lines(schema: &str, stdout: &str) -> Vec<Value> {
    output_schema::lines(schema, stdout)
}

/// Add TOML to the sandbox's ready plan.
fn extend_plan(r: &RunningSandbox, nodes_extra: &str, tables: &str) -> String {
    let plan = r.dir.path().join(&r.sandbox.info().plan);
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("[nodes]\n", &format!("[nodes]\n{nodes_extra}"));
    std::fs::write(&plan, format!("{text}\n{tables}")).unwrap();
    plan.to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_canary_is_launched_trusted_and_soaked_before_the_rest() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = extend_plan(&r, "canary = 1\n", "[hooks]\nafter_trust = \"true\"\n");
    let (code, out, err) = run(&["apply", "--plan", &plan, "--yes", "--output", "json"]).await;
    assert_eq!(code, 0, "{err}");
    let events = lines("run-stream", &out);
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "hook_ran" && e["hook"] == "after_trust"),
        "{out}"
    );
    let steps: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "step_started")
        .map(|e| e["description"].as_str().unwrap().to_string())
        .collect();
    assert!(steps[1].starts_with("launch 1 new node"), "{steps:?}");
    assert!(steps[2].starts_with("trust 1 new node"), "{steps:?}");
    assert!(steps[3].starts_with("soak"), "{steps:?}");
    assert!(steps[4].starts_with("launch 2 new nodes"), "{steps:?}");
    assert!(steps[5].starts_with("trust 2 new nodes"), "{steps:?}");
    assert!(steps[6].starts_with("soak"), "{steps:?}");
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn a_failing_gating_hook_stops_the_upgrade_safely() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = extend_plan(
        &r,
        "",
        "[hooks]\nafter_launch = \"cat > after_launch.json\"\nafter_trust = \"cat > after_trust.json\"\n\
         before_retire = \"cat > before_retire.json; echo 'smoke test failed' >&2; exit 1\"\n\
         on_failure = \"cat > on_failure.json\"\n",
    );
    let (code, _, err) = run(&["apply", "--plan", &plan, "--yes"]).await;
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("before_retire hook") && err.contains("smoke test failed"),
        "{err}"
    );
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(r.dir.path().join(f)).unwrap()).unwrap()
    };
    let launched = read("after_launch.json");
    assert_eq!(launched["hook"], "after_launch");
    assert_eq!(launched["nodes"].as_array().unwrap().len(), 3);
    // Trusted in two batches (2, then 1): the file holds the last one's.
    assert_eq!(
        read("after_trust.json")["nodes"].as_array().unwrap().len(),
        1
    );
    assert_eq!(read("before_retire.json")["hook"], "before_retire");
    assert!(
        read("on_failure.json")["error"]
            .as_str()
            .unwrap()
            .contains("before_retire")
    );
    // Stopped before any retirement: old and new nodes are all trusted, nothing was stopped.
    assert_eq!(r.trusted_count().await, 6);
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn notifications_receive_events_as_json() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = extend_plan(
        &r,
        "",
        "[notify]\ncommand = \"cat >> notify.jsonl; echo >> notify.jsonl\"\n",
    );
    let (code, _, err) = run(&["apply", "--plan", &plan, "--yes"]).await;
    assert_eq!(code, 0, "{err}");
    let got = lines(
        "run-stream",
        &std::fs::read_to_string(r.dir.path().join("notify.jsonl")).unwrap(),
    );
    let kinds: Vec<&str> = got.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"run_started"), "{kinds:?}");
    assert!(
        kinds.iter().filter(|k| **k == "step_finished").count() >= 8,
        "{kinds:?}"
    );
    let summary = got
        .iter()
        .find(|e| e["type"] == "summary")
        .expect("a summary notification");
    assert_eq!(summary["outcome"], "upgraded");
}

#[tokio::test]
async fn status_watch_until_upgraded_has_ci_exit_codes() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = r
        .dir
        .path()
        .join(&r.sandbox.info().plan)
        .to_str()
        .unwrap()
        .to_string();
    let watch = [
        "status",
        "--plan",
        &plan,
        "--watch",
        "--until",
        "upgraded",
        "--interval",
        "100ms",
        "--timeout",
        "1s",
        "--output",
        "json",
    ];
    let (code, out, err) = run(&watch).await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("--timeout 1s passed"), "{err}");
    let frames = lines("status-line", &out);
    assert!(frames[0]["schema_version"] == 1 && frames[0]["type"] == "status");
    let (code, _, err) = run(&["apply", "--plan", &plan, "--yes"]).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&watch).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        lines("status-line", &out).len(),
        1,
        "printed once, then the condition held"
    );
    let (code, out, err) =
        run(&["status", "--plan", &plan, "--watch", "--until", "upgraded"]).await;
    assert!(code == 0, "{err}");
    assert!(
        out.trim_end()
            .ends_with("upgraded: all 3 nodes on ccf-7.0.2"),
        "a closing line says what held: {out}"
    );
    let (code, _, err) = run(&[
        "status",
        "--service-url",
        "127.0.0.1:1",
        "--service-cert",
        "x",
        "--watch",
        "--until",
        "upgraded",
    ])
    .await;
    assert_eq!(code, 64, "{err}");
}

#[test]
fn example_plans_parse() {
    let dir = repo_root().join("plans");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            noderoll::plan::UpgradeSpec::load(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(
        seen >= 4,
        "plans/ holds the sandbox, virtual, SNP and consortium examples"
    );
}

#[tokio::test]
async fn no_escape_codes_off_a_terminal() {
    let r = start_sandbox(1, Platform::Virtual, 5.0).await;
    let plan = r
        .dir
        .path()
        .join(&r.sandbox.info().plan)
        .to_str()
        .unwrap()
        .to_string();
    let (code, out, err) = run(&["-v", "plan", "--plan", &plan]).await;
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\u{1b}') && !err.contains('\u{1b}'), "{err}");
}

#[tokio::test]
async fn quiet_prints_nothing_on_success() {
    // `-q`: errors only. The service table and the outcome line were printed regardless.
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = r.plan_path();
    let (code, out, err) = run(&["-q", "apply", "--plan", plan.to_str().unwrap(), "--yes"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "stdout under -q");
    assert_eq!(r.trusted_count().await, 3);
}
