//! CCF's upgrade-path rules, end to end: a service is first taken (with `--allow-downgrade`)
//! to an older CCF release through the launcher contract (`sandbox launch-node
//! --ccf-version`), then `plan`/`apply` towards a release the rules refuse exit 5 naming the
//! rule and the intermediate release, and `--allow-version-jump` lets them through.

use std::path::PathBuf;

use noderoll::sandbox::{Platform, simulated_build};

use crate::common::*;

/// The binary with a state directory of this sandbox's own.
async fn noderoll(r: &RunningSandbox, args: &[&str]) -> Ran {
    noderoll_in(&r.dir.path().join("state"), args).await
}

fn writes(r: &RunningSandbox) -> u64 {
    r.sandbox.with_world(|w| w.write_requests)
}

/// The sandbox's plan aimed at `version` (a simulated build of it), its launcher starting
/// nodes that report that version.
fn plan_for(r: &RunningSandbox, version: &str) -> PathBuf {
    let build = simulated_build(Platform::Virtual, version);
    let info = r.sandbox.info();
    let text = std::fs::read_to_string(r.plan_path())
        .unwrap()
        .replace(
            &format!("host_data = \"{}\"", info.next_build.host_data),
            &format!("host_data = \"{}\"", build.host_data),
        )
        .replace(
            &format!("ccf_version = \"{}\"", info.next_build.ccf_version),
            &format!("ccf_version = \"{version}\""),
        );
    let (head, rest) = text.split_once("launch = \"").unwrap();
    let (launch, rest) = rest.split_once("\"\n").unwrap();
    let text =
        format!("{head}launch = \"{launch} --ccf-version \\\"$NODEROLL_CCF_VERSION\\\"\"\n{rest}");
    let path = r.dir.path().join(format!("plan-{version}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A 3-node sandbox whose nodes all run `version` (replaced from the sandbox's own build).
async fn service_on(version: &str) -> RunningSandbox {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = plan_for(&r, version);
    let run = noderoll(
        &r,
        &[
            "apply",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "--allow-downgrade",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "to {version}: {}\n{}", run.stdout, run.stderr);
    let at: noderoll::ccf::NodeAddr = r.sandbox.info().service_address.parse().unwrap();
    for n in r.client.nodes(&at, &Default::default()).await.unwrap() {
        if n.status == noderoll::ccf::types::NodeStatus::Trusted {
            let addr: noderoll::ccf::NodeAddr = n.rpc_address().unwrap().parse().unwrap();
            assert_eq!(r.client.version(&addr).await.unwrap().ccf_version, version);
        }
    }
    r
}

/// `plan` and `apply` towards `plan` exit 5 on the version guard with every `want` in the
/// output, nothing written; `plan --allow-version-jump` exits 0.
async fn refused(r: &RunningSandbox, plan: &std::path::Path, want: &[&str]) {
    let plan = plan.to_str().unwrap();
    let run = noderoll(r, &["plan", "--plan", plan]).await;
    assert_eq!(run.code, 5, "{}\n{}", run.stdout, run.stderr);
    for w in ["version guard", "--allow-version-jump"].iter().chain(want) {
        assert!(run.stdout.contains(w), "{w:?} missing: {}", run.stdout);
    }
    let before = writes(r);
    let run = noderoll(r, &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(run.code, 5, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(writes(r), before, "refused before any change");
    let run = noderoll(r, &["plan", "--plan", plan, "--allow-version-jump"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // The note says it is allowed, and how it would be done without the flag; not "refused".
    let note = run
        .stdout
        .lines()
        .find(|l| l.starts_with("note: version guard:"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        note.contains("is allowed by --allow-version-jump")
            && note.contains("the supported path: ")
            && !note.contains("refused")
            && !note.contains("pass --allow-version-jump"),
        "{note}"
    );
    let path = want.iter().find_map(|w| w.strip_prefix("path: ")).unwrap();
    assert!(note.contains(path), "{path}: {note}");
}

#[tokio::test]
async fn a_5_x_service_is_refused_6_0_1_and_shown_the_path_to_6_0_2() {
    let r = service_on("ccf-5.0.12").await;
    refused(
        &r,
        &plan_for(&r, "ccf-6.0.1"),
        &[
            "ccf-5.0.12 → ccf-6.0.1 is refused",
            "Failed to deserialise",
            "#7002",
            "upgrade to 6.0.2 or later instead",
            "path: ccf-5.0.12 → ccf-6.0.2 (or later 6.0.x)",
        ],
    )
    .await;
    let plan = plan_for(&r, "ccf-6.0.2");
    let run = noderoll(&r, &["plan", "--plan", plan.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[tokio::test]
async fn a_6_0_20_service_is_refused_7_0_x_naming_6_0_21_unless_the_jump_is_allowed() {
    let r = service_on("ccf-6.0.20").await;
    let plan = r.plan_path(); // the sandbox's own next build, ccf-7.0.2
    refused(
        &r,
        &plan,
        &[
            "ccf-6.0.20 → ccf-7.0.2 is refused",
            "every node must run 6.0.21 or later before 7.x nodes join",
            "upgrade to 6.0.21+ first",
            "path: ccf-6.0.20 → ccf-6.0.21 (or later 6.0.x) → ccf-7.0.2",
        ],
    )
    .await;
    let run = noderoll(
        &r,
        &[
            "apply",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "--allow-version-jump",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn a_4_0_18_service_is_refused_5_0_0_naming_4_0_19() {
    let r = service_on("ccf-4.0.18").await;
    refused(
        &r,
        &plan_for(&r, "ccf-5.0.0"),
        &[
            "ccf-4.0.18 → ccf-5.0.0 is refused",
            "4.0.19",
            "path: ccf-4.0.18 → ccf-4.0.19 (or later 4.0.x) → ccf-5.0.0",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_6_0_21_service_upgrades_to_7_0_2() {
    let r = service_on("ccf-6.0.21").await;
    let plan = r.plan_path();
    let run = noderoll(&r, &["plan", "--plan", plan.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let run = noderoll(&r, &["apply", "--plan", plan.to_str().unwrap(), "--yes"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(r.sandbox.violations(), vec![]);
}

/// A `ccf_version` that is not one of CCF's release tags is bad input wherever it is written:
/// in a plan's `[target]` (a typo would switch the version guard off) and in a channel
/// manifest (it would be printed into the suggested `[target]`). Exit 64, the field, the
/// value and the expected form named, nothing written.
#[tokio::test]
async fn a_version_that_is_not_ccf_x_y_z_is_refused_in_plans_and_manifests() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let before = writes(&r);
    for v in ["banana", "7.0.2", "ccf-7.0"] {
        let plan = plan_for(&r, v);
        let plan = plan.to_str().unwrap();
        for args in [
            &["plan", "--plan", plan][..],
            &["apply", "--plan", plan, "--yes"],
        ] {
            let run = noderoll(&r, args).await;
            assert_eq!(run.code, 64, "{args:?}: {}", run.stderr);
            for says in [
                &format!("[target] ccf_version {v:?} is not a CCF version")[..],
                "expected ccf-X.Y.Z, e.g. ccf-7.0.2",
            ] {
                assert!(run.stderr.contains(says), "{says:?} in:\n{}", run.stderr);
            }
        }
    }
    let info = r.sandbox.info();
    for (v, at) in [("7.0.3", 1), ("7.0.2", 1), ("ccf-7.0", 1)] {
        let manifest = serde_json::json!({
            "schema_version": 1, "channel": "stable",
            "releases": [
                {"ccf_version": info.current_build.ccf_version, "platform": "virtual",
                 "host_data": info.current_build.host_data},
                {"ccf_version": v, "platform": "virtual", "host_data": info.next_build.host_data},
            ]
        });
        let file = r.dir.path().join("channel.json");
        std::fs::write(&file, manifest.to_string()).unwrap();
        let plan = r.plan_path();
        let args = [
            "--plan",
            plan.to_str().unwrap(),
            "--channel",
            file.to_str().unwrap(),
        ];
        let run = noderoll(&r, &[&["channel", "check"][..], &args].concat()).await;
        assert_eq!(run.code, 64, "{v}: {}\n{}", run.stdout, run.stderr);
        let says =
            format!("releases[{at}].ccf_version: {v:?} is not a CCF version: expected ccf-X.Y.Z");
        assert!(run.stderr.contains(&says), "{says:?} in:\n{}", run.stderr);
        assert!(!run.stdout.contains("[target]"), "{}", run.stdout);
    }
    assert_eq!(writes(&r), before, "the service was changed");
}
