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
    // Exit 2 ends with what to do next: the channel apply that moves the service.
    assert!(
        run.stderr.contains(&format!(
            "To apply: noderoll channel apply --plan {plan} --channel {file} --yes"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("): 4 releases. "), "{}", run.stdout);
    // With -q there is no table to point at: the next step names the release itself.
    let quiet = noderoll_in(
        state.path(),
        &["-q", "channel", "check", "--plan", plan, "--channel", file],
    )
    .await;
    assert_eq!(quiet.code, 2, "{}", quiet.stderr);
    assert_eq!(quiet.stdout, "");
    assert!(
        quiet
            .stderr
            .contains("the channel has a newer eligible release: ccf-7.0.2 (virtual "),
        "{}",
        quiet.stderr
    );
    assert!(!quiet.stderr.contains("above"), "{}", quiet.stderr);
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
    output_schema::validate("channel-check", &doc);
    assert_eq!(doc["upgrade"], Value::Null);
    assert_eq!(doc["running"]["ccf_versions"][0], "ccf-7.0.2");
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

/// A channel served over HTTPS (trusting only `ca`) with one release whose package is
/// `served`, announced with digest `announced`.
async fn serve_release(
    version: &str,
    served: &'static [u8],
    announced: &str,
    host_data: &str,
    ca: &ServiceIdentity,
) -> (TestServer, String) {
    let tls = ca.node_cert();
    let router = Router::new().route("/pkg.tar.gz", get(move || async move { served }));
    let server = TestServer::start(router, &tls).await;
    let manifest = json!({
        "schema_version": 1,
        "channel": "stable",
        "releases": [{
            "ccf_version": version, "platform": "virtual", "host_data": host_data,
            "package": {"url": format!("https://{}/pkg.tar.gz", server.addr), "sha256": announced}
        }]
    });
    (server, manifest.to_string())
}

#[tokio::test]
async fn channel_apply_verifies_the_package_then_upgrades_to_the_release() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    const PACKAGE: &[u8] = b"noderoll test package: ccf-7.0.3 for the virtual platform";
    let digest = sha256_hex(PACKAGE);
    let ca = ServiceIdentity::new();
    let (_server, manifest) = serve_release("ccf-7.0.3", PACKAGE, &digest, &digest, &ca).await;
    let channel = r.dir.path().join("stable.json");
    std::fs::write(&channel, manifest).unwrap();
    let ca_file = r.dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    let plan = channel_plan(&r);
    let args = |cmd: &'static str| -> Vec<String> {
        let mut a: Vec<String> = ["channel", cmd, "--plan", plan.to_str().unwrap()]
            .map(String::from)
            .to_vec();
        a.extend(["--channel".into(), channel.display().to_string()]);
        a.extend(["--ca".into(), ca_file.display().to_string()]);
        a
    };
    let apply: Vec<String> = args("apply").into_iter().chain(["--yes".into()]).collect();
    let apply: Vec<&str> = apply.iter().map(String::as_str).collect();
    let run = noderoll_in(state.path(), &apply).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Every node runs the release; every launch was handed the verified package.
    let at: noderoll::ccf::NodeAddr = r.sandbox.info().service_address.parse().unwrap();
    let nodes = r.client.nodes(&at, &Default::default()).await.unwrap();
    assert_eq!(nodes.len(), 3);
    for n in &nodes {
        let addr: noderoll::ccf::NodeAddr = n.rpc_address().unwrap().parse().unwrap();
        assert_eq!(
            r.client.version(&addr).await.unwrap().ccf_version,
            "ccf-7.0.3"
        );
    }
    let packages = std::fs::read_to_string(r.dir.path().join("packages.txt")).unwrap();
    let lines: Vec<&str> = packages.lines().collect();
    assert_eq!(lines.len(), 3, "{packages}");
    for l in lines {
        assert_eq!(sha256_hex(&std::fs::read(l).unwrap()), digest, "{l}");
    }
    // Current now: nothing to do.
    let run = noderoll_in(state.path(), &apply).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("Nothing to do"), "{}", run.stdout);
    assert_eq!(r.sandbox.violations(), vec![]);
}

#[tokio::test]
async fn a_package_that_does_not_verify_is_refused_recorded_and_skipped() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let state = tempfile::tempdir().unwrap();
    let ca = ServiceIdentity::new();
    let ca_file = r.dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    let plan = channel_plan(&r);
    let plan = plan.to_str().unwrap();
    const SERVED: &[u8] = b"what the server sends";
    let announced = sha256_hex(b"what the channel promised");
    let cases = [
        // The bytes are not the ones announced.
        (announced.clone(), announced.clone(), "refused"),
        // A virtual release whose host data is not its package's digest.
        (
            sha256_hex(SERVED),
            "cd".repeat(32),
            "is not the SHA-256 of its package",
        ),
    ];
    for (digest, host_data, words) in cases {
        let (_server, manifest) =
            serve_release("ccf-7.0.3", SERVED, &digest, &host_data, &ca).await;
        let channel = r.dir.path().join("bad.json");
        std::fs::write(&channel, manifest).unwrap();
        let channel = channel.to_str().unwrap();
        let writes = r.sandbox.with_world(|w| w.write_requests);
        let run = noderoll_in(
            state.path(),
            &[
                "channel",
                "apply",
                "--plan",
                plan,
                "--channel",
                channel,
                "--ca",
                ca_file.to_str().unwrap(),
                "--yes",
            ],
        )
        .await;
        assert_eq!(run.code, 5, "{}", run.stderr);
        assert!(run.stderr.contains(words), "{}", run.stderr);
        assert_eq!(
            r.sandbox.with_world(|w| w.write_requests),
            writes,
            "nothing changed"
        );
        // Remembered: the release is skipped from now on.
        let run = noderoll_in(
            state.path(),
            &[
                "channel",
                "check",
                "--plan",
                plan,
                "--channel",
                channel,
                "--ca",
                ca_file.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stdout.contains("failed on this service"),
            "{}",
            run.stdout
        );
    }
    // An operator clears the marks: the last release is eligible again.
    let dry_state = tempfile::tempdir().unwrap();
    copy_dir(state.path(), dry_state.path());
    let run = noderoll_in(state.path(), &["channel", "clear-failed", "--plan", plan]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cleared = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("  virtual "))
        .count();
    assert_eq!(cleared, 2, "{}", run.stdout);
    // The same in JSON (on a copy of the state as it was): each target whole.
    let run = noderoll_in(
        dry_state.path(),
        &[
            "channel",
            "clear-failed",
            "--plan",
            plan,
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = output_schema::lines("channel-clear-failed", &run.stdout).remove(0);
    let cleared = doc["cleared"].as_array().unwrap();
    assert_eq!(cleared.len(), 2, "{doc}");
    assert!(
        cleared.iter().all(|c| c["target"]["platform"] == "virtual"),
        "{doc}"
    );
    let channel = r.dir.path().join("bad.json");
    let run = noderoll_in(
        state.path(),
        &[
            "channel",
            "check",
            "--plan",
            plan,
            "--channel",
            channel.to_str().unwrap(),
            "--ca",
            ca_file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    let run = noderoll_in(state.path(), &["channel", "clear-failed", "--plan", plan]).await;
    assert!(
        run.stdout.contains("No release is marked failed"),
        "{}",
        run.stdout
    );
}
