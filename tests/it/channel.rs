//! Release channels: `noderoll channel check` against a sandbox, with a manifest from a file
//! and over HTTPS trusting only a given CA.

use axum::Router;
use axum::routing::get;
use noderoll::sandbox::Platform;
use serde_json::{Value, json};

use crate::common::*;

fn manifest(r: &RunningSandbox) -> Value {
    let info = r.sandbox.info();
    let (cur, next) = (&info.current_build, &info.next_build);
    json!({
        "schema_version": 1,
        "channel": "stable",
        "releases": [
            {"ccf_version": cur.ccf_version, "platform": "virtual", "host_data": cur.host_data},
            {"ccf_version": next.ccf_version, "platform": "virtual", "host_data": next.host_data,
             "package": {"url": "https://example.invalid/ccf.tar.gz", "sha256": "ab".repeat(32)}},
            {"ccf_version": "ccf-6.0.9", "platform": "virtual", "host_data": "ee".repeat(32)},
            {"ccf_version": "ccf-9.0.0", "platform": "virtual", "host_data": "dd".repeat(32)},
        ]
    })
}

#[tokio::test]
async fn check_names_the_newest_eligible_release_then_reports_current() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let file = r.dir.path().join("channel.json");
    std::fs::write(&file, manifest(&r).to_string()).unwrap();
    let plan = r.plan_path();
    let (plan, file) = (plan.to_str().unwrap(), file.to_str().unwrap());
    let writes = r.sandbox.with_world(|w| w.write_requests);
    let run = noderoll_in(
        state.path(),
        &["channel", "check", "--plan", plan, "--channel", file],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    let next = r.sandbox.info().next_build.clone();
    assert!(
        run.stdout.contains("Upgrade available: ccf-7.0.2")
            && run
                .stdout
                .contains(&format!("host_data = \"{}\"", next.host_data))
            && run.stdout.contains("skips a major version")
            && run.stdout.contains("older than"),
        "{}",
        run.stdout
    );
    assert_eq!(
        r.sandbox.with_world(|w| w.write_requests),
        writes,
        "read-only"
    );

    // Upgrade, then the channel has nothing newer.
    let up = noderoll_in(state.path(), &["apply", "--plan", plan, "--yes"]).await;
    assert_eq!(up.code, 0, "{}", up.stderr);
    let run = noderoll_in(
        state.path(),
        &[
            "channel",
            "check",
            "--plan",
            plan,
            "--channel",
            file,
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["upgrade"], Value::Null);
    assert_eq!(doc["running"]["ccf_version"][0], "ccf-7.0.2");
    assert_eq!(doc["releases"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn an_https_channel_is_verified_and_a_bad_manifest_is_named() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let body = manifest(&r).to_string();
    let router = Router::new()
        .route("/stable.json", get(move || async move { body }))
        .route("/broken.json", get(|| async { "{\"schema_version\": 1}" }));
    let ca = ServiceIdentity::new();
    let server = TestServer::start(router, &ca.node_cert()).await;
    let ca_file = r.dir.path().join("channel_ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    let plan = r.plan_path();
    let plan = plan.to_str().unwrap();
    let url = format!("https://{}/stable.json", server.addr);
    let run = noderoll_in(
        state.path(),
        &[
            "channel",
            "check",
            "--plan",
            plan,
            "--channel",
            &url,
            "--ca",
            ca_file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    // Without the CA the server's certificate is not trusted: never fetched unverified.
    let run = noderoll_in(
        state.path(),
        &["channel", "check", "--plan", plan, "--channel", &url],
    )
    .await;
    assert_eq!(run.code, 69, "{}", run.stderr);
    assert!(run.stderr.contains(&url), "{}", run.stderr);
    // A malformed manifest: the field is named.
    let broken = format!("https://{}/broken.json", server.addr);
    let run = noderoll_in(
        state.path(),
        &[
            "channel",
            "check",
            "--plan",
            plan,
            "--channel",
            &broken,
            "--ca",
            ca_file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert!(
        run.stderr.contains("missing field `channel`"),
        "{}",
        run.stderr
    );
    // http:// is refused outright.
    let run = noderoll_in(
        state.path(),
        &[
            "channel",
            "check",
            "--plan",
            plan,
            "--channel",
            "http://example.invalid/c.json",
        ],
    )
    .await;
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert!(run.stderr.contains("use https://"), "{}", run.stderr);
}
