//! `noderoll sandbox` as a process: it writes its files, serves until SIGINT, and its
//! launch-node / stop-node / fault / check subcommands follow the launcher contract.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::*;

fn noderoll() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_noderoll"));
    for v in [
        "NODEROLL_PLAN",
        "NODEROLL_SERVICE_URL",
        "NODEROLL_SERVICE_CERT",
        "NODEROLL_HOST_DATA",
        "NODEROLL_PLATFORM",
        "NODEROLL_NODE_ID",
        "NODEROLL_NODE_RPC_ADDRESS",
    ] {
        c.env_remove(v);
    }
    // `status` keeps where the service's nodes are: not in the real home directory.
    c.env(
        "NODEROLL_STATE_DIR",
        std::env::temp_dir().join("noderoll-test-state"),
    );
    c
}

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

async fn wait_for_file(path: &Path) {
    eventually("sandbox.json to be written", 20, || async {
        path.exists().then_some(())
    })
    .await;
}

#[tokio::test]
async fn sandbox_process_serves_and_follows_the_launcher_contract() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let child = noderoll()
        .args([
            "sandbox", "--dir", &d, "--nodes", "3", "--speed", "5", "--seed", "7",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut served = Served(child);
    wait_for_file(&dir.path().join("sandbox.json")).await;
    for f in [
        "service_cert.pem",
        "member0_cert.pem",
        "member0_privk.pem",
        "upgrade.toml",
    ] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    let key = std::fs::read_to_string(dir.path().join("member0_privk.pem")).unwrap();
    assert!(
        key.starts_with("-----BEGIN EC PARAMETERS-----") && key.contains("BEGIN EC PRIVATE KEY"),
        "CCF keygenerator format"
    );
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sandbox.json")).unwrap())
            .unwrap();

    // The ready plan is a plan file noderoll reads.
    let plan = dir.path().join("upgrade.toml");
    let (code, out, err) = run(noderoll().args([
        "status",
        "--plan",
        plan.to_str().unwrap(),
        "--output",
        "json",
    ]));
    assert_eq!(code, 0, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    crate::common::output_schema::validate("status", &status);
    assert_eq!(status["nodes"].as_array().unwrap().len(), 3);

    // launch-node: environment in, one JSON line out.
    let host_data = info["current_build"]["host_data"].as_str().unwrap();
    let (code, out, err) = run(noderoll()
        .args(["sandbox", "launch-node", "--dir", &d])
        .env("NODEROLL_HOST_DATA", host_data)
        .env("NODEROLL_PLATFORM", "virtual")
        .env("NODEROLL_NODE_NAME", "new-0"));
    assert_eq!(code, 0, "{err}");
    let launched: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let id = launched["node_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64);
    assert!(
        launched["rpc_address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    eventually("the launched node to be Pending", 20, || {
        let plan = plan.clone();
        let id = id.clone();
        async move {
            let (_, out, _) = run(noderoll().args([
                "status",
                "--plan",
                plan.to_str().unwrap(),
                "--output",
                "json",
            ]));
            let s: Value = serde_json::from_str(&out).ok()?;
            s["nodes"]
                .as_array()?
                .iter()
                .find(|n| n["node_id"] == id.as_str() && n["status"] == "Pending")
                .map(|_| ())
        }
    })
    .await;

    // An unknown build is refused with a clear message.
    let (code, _, err) = run(noderoll()
        .args(["sandbox", "launch-node", "--dir", &d])
        .env("NODEROLL_HOST_DATA", "ab".repeat(32)));
    assert_eq!(code, 64);
    assert!(err.contains("not one of this sandbox's builds"), "{err}");

    // stop-node (a Pending node may be stopped), a fault, and the invariant check.
    let (code, _, err) = run(noderoll()
        .args(["sandbox", "stop-node", "--dir", &d])
        .env("NODEROLL_NODE_ID", &id));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) =
        run(noderoll().args(["sandbox", "fault", "--dir", &d, "fail-next", "--count", "1"]));
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(noderoll().args(["sandbox", "check", "--dir", &d]));
    assert_eq!((code, out.trim()), (0, "no invariant violations"));

    // Stopping a trusted node is recorded, and `check` then fails.
    let trusted = info["nodes"][1]["node_id"].as_str().unwrap();
    run(noderoll().args(["sandbox", "stop-node", "--dir", &d, "--node-id", trusted]));
    let (code, out, _) = run(noderoll().args(["sandbox", "check", "--dir", &d]));
    assert_eq!(code, 3);
    assert!(out.contains("stopped_in_active_config"), "{out}");

    // SIGINT stops it; it reports the violation and exits with the step-failed code.
    let pid = served.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || {
        let s = served.0.wait().unwrap();
        let mut err = String::new();
        use std::io::Read;
        served
            .0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (s, err)
    })
    .await
    .unwrap();
    assert_eq!(status.0.code(), Some(3), "{}", status.1);
    assert!(status.1.contains("invariant violation"), "{}", status.1);
}

#[tokio::test]
async fn sandbox_subcommands_without_a_sandbox_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(noderoll().args([
        "sandbox",
        "launch-node",
        "--dir",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(code, 64, "{err}");
    assert!(
        err.contains("sandbox.json") && err.contains("is `noderoll sandbox --dir"),
        "{err}"
    );
    let (code, _, err) = run(noderoll().args([
        "sandbox",
        "--nodes",
        "0",
        "--dir",
        dir.path().to_str().unwrap(),
    ]));
    assert_eq!(code, 64, "{err}");
}

#[tokio::test]
async fn sandbox_process_with_uvm_endorsements_and_pre_recovery_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let child = noderoll()
        .args([
            "sandbox",
            "--dir",
            &d,
            "--speed",
            "5",
            "--platform",
            "snp",
            "--uvm",
            "--stale-retired",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _served = Served(child);
    wait_for_file(&dir.path().join("sandbox.json")).await;
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sandbox.json")).unwrap())
            .unwrap();
    let control = info["control"].as_str().unwrap().to_string();
    assert_eq!(info["current_build"]["uvm"]["svn"], "101");
    let plan = std::fs::read_to_string(dir.path().join("upgrade.toml")).unwrap();
    assert!(plan.contains("uvm_endorsement = {"), "{plan}");

    // Two pre-recovery nodes: Retired, not running.
    let status = noderoll::sandbox::control::call(&control, "/status", None)
        .await
        .unwrap();
    let retired: Vec<&Value> = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["status"] == "Retired")
        .collect();
    assert_eq!(retired.len(), 2);
    assert!(retired.iter().all(|n| n["running"] == false));

    // launch-node with NODEROLL_UVM_SVN: below the registered minimum it is refused, at it
    // it joins.
    let host_data = info["current_build"]["host_data"].as_str().unwrap();
    let launch = |svn: &str| {
        let (code, out, err) = run(noderoll()
            .args(["sandbox", "launch-node", "--dir", &d])
            .env("NODEROLL_HOST_DATA", host_data)
            .env("NODEROLL_UVM_SVN", svn));
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        v["node_id"].as_str().unwrap().to_string()
    };
    let low = launch("100");
    let ok = launch("101");
    let lifecycle = |id: String| {
        let control = control.clone();
        async move {
            let s = noderoll::sandbox::control::call(&control, "/status", None)
                .await
                .ok()?;
            s["nodes"]
                .as_array()?
                .iter()
                .find(|n| n["node_id"] == id.as_str())
                .and_then(|n| n["lifecycle"].as_str().map(str::to_string))
        }
    };
    eventually("the low-svn node to be refused", 20, || {
        let f = lifecycle(low.clone());
        async move {
            f.await
                .filter(|l| l.starts_with("refused: UVM endorsements are not authorised"))
        }
    })
    .await;
    eventually("the node at the minimum svn to be pending", 20, || {
        let f = lifecycle(ok.clone());
        async move { f.await.filter(|l| l == "pending") }
    })
    .await;

    // check reports the write stall next to the violations.
    let (code, out, err) =
        run(noderoll().args(["sandbox", "check", "--dir", &d, "--output", "json"]));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    crate::common::output_schema::validate("sandbox-check", &v);
    assert_eq!(v["violations"], serde_json::json!([]));
    assert_eq!(v["write_stall"]["count"], 0);
}
