//! The bad-input corpus: broken plan files, keys, certificates and launchers, each given to
//! the real binary against a live sandbox. Every one ends with a clear message naming the
//! thing and the fix, its documented exit code, no panic, and (but for the launchers that
//! exist and misbehave, which are only found out at launch and then rolled back) no request
//! that changes the service.

use noderoll::sandbox::Platform;

use crate::common::*;

struct Bench {
    r: RunningSandbox,
    original: String,
    state: tempfile::TempDir,
}

impl Bench {
    async fn new() -> Bench {
        let r = start_sandbox(3, Platform::Virtual, 5.0).await;
        let original = std::fs::read_to_string(r.plan_path()).unwrap();
        Bench {
            r,
            original,
            state: tempfile::tempdir().unwrap(),
        }
    }

    fn writes(&self) -> u64 {
        self.r.sandbox.with_world(|w| w.write_requests)
    }

    /// Apply `plan` (written beside the sandbox's files, so its relative paths resolve);
    /// expect `code`, every one of `words` in stderr, and no write.
    async fn refused(&self, name: &str, plan: &str, code: i32, words: &[&str]) -> Ran {
        let path = self.r.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, plan).unwrap();
        let before = self.writes();
        let run = noderoll_in(
            self.state.path(),
            &["apply", "--plan", path.to_str().unwrap(), "--yes"],
        )
        .await;
        assert_eq!(run.code, code, "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        assert!(
            run.stderr.lines().any(|l| l.starts_with("error: ")),
            "{name}: {}",
            run.stderr
        );
        for w in words {
            assert!(
                run.stderr.contains(w),
                "{name}: no {w:?} in\n{}",
                run.stderr
            );
        }
        assert_eq!(self.writes(), before, "{name}: the service was changed");
        run
    }

    fn with(&self, from: &str, to: &str) -> String {
        assert!(self.original.contains(from), "{from}");
        self.original.replacen(from, to, 1)
    }
}

#[tokio::test]
async fn broken_plan_files_are_named_with_the_fix() {
    let b = Bench::new().await;
    let dir = b.r.dir.path();
    b.refused("not-toml", "[service\nurl = ", 64, &["not-toml.toml"])
        .await;
    let typed = b.with(
        "max_parallel_launches = 3",
        "max_parallel_launches = \"three\"",
    );
    b.refused(
        "wrong-type",
        &typed,
        64,
        &["wrong-type.toml", "max_parallel_launches"],
    )
    .await;
    let unknown = b.with("soak = ", "soaks = \"1s\"\nsoak = ");
    b.refused(
        "unknown-key",
        &unknown,
        64,
        &["soaks", "step_timeout", "on_failure"],
    )
    .await;
    let http = b.with("url = \"https://", "url = \"http://");
    b.refused("http", &http, 64, &["http://", "https"]).await;
    for count in ["0", "1000"] {
        let plan = b.with("[nodes]\n", &format!("[nodes]\ncount = {count}\n"));
        b.refused("count", &plan, 64, &["count", count]).await;
    }
    let missing_cert = b.with(
        "service_cert = \"service_cert.pem\"",
        "service_cert = \"nope.pem\"",
    );
    b.refused(
        "missing-cert",
        &missing_cert,
        64,
        &[&dir.join("nope.pem").display().to_string()],
    )
    .await;
    let garbage = dir.join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let plan = b.with(
        "service_cert = \"service_cert.pem\"",
        "service_cert = \"garbage.pem\"",
    );
    b.refused("garbage-cert", &plan, 64, &["garbage.pem"]).await;

    // A plan file that does not exist.
    let run = noderoll_in(
        b.state.path(),
        &["apply", "--plan", "/no/such/plan.toml", "--yes"],
    )
    .await;
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert!(run.stderr.contains("/no/such/plan.toml"), "{}", run.stderr);

    // Relative paths are the plan's, not the working directory's.
    // (Waited for off the runtime: the sandbox serves from this test's runtime.)
    let (plan, state) = (b.r.plan_path(), b.state.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"))
            .current_dir("/")
            .args(["plan", "--plan", plan.to_str().unwrap()])
            .env("NODEROLL_STATE_DIR", state)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn unreachable_and_wrong_services_are_refused() {
    let b = Bench::new().await;
    let port = closed_port();
    let url = format!("url = \"https://127.0.0.1:{port}\"");
    let start = b.original.find("url = \"").unwrap();
    let end = start + b.original[start..].find('\n').unwrap();
    let plan = format!("{}{url}{}", &b.original[..start], &b.original[end..]);
    b.refused("unreachable", &plan, 69, &[&format!("127.0.0.1:{port}")])
        .await;

    // Another service's certificate: the TLS handshake fails and names the file.
    let other = ServiceIdentity::new();
    std::fs::write(b.r.dir.path().join("other_service.pem"), &other.cert_pem).unwrap();
    let plan = b.with(
        "service_cert = \"service_cert.pem\"",
        "service_cert = \"other_service.pem\"",
    );
    b.refused(
        "wrong-service",
        &plan,
        69,
        &["service certificate mismatch", "other_service.pem"],
    )
    .await;
}

#[tokio::test]
async fn bad_member_identities_are_refused() {
    let b = Bench::new().await;
    let dir = b.r.dir.path();
    let member = &b.r.sandbox.info().members[0];
    let stranger = member_files(dir, "stranger", Curve::P384);
    // A key that is not the certificate's.
    let plan = b.with(
        &format!("key = \"{}\"", member.key),
        &format!("key = \"{}\"", stranger.key_sec1.display()),
    );
    b.refused("mismatch", &plan, 64, &["does not match"]).await;
    // A matching pair that is not a member of this service.
    let plan = b
        .with(
            &format!("cert = \"{}\"", member.cert),
            &format!("cert = \"{}\"", stranger.cert.display()),
        )
        .replace(
            &format!("key = \"{}\"", member.key),
            &format!("key = \"{}\"", stranger.key_sec1.display()),
        );
    b.refused(
        "not-a-member",
        &plan,
        5,
        &["configured members are Active", "not Active members"],
    )
    .await;
    // RSA and encrypted keys.
    let rsa = dir.join("rsa.pem");
    let enc = dir.join("enc.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&rsa)
        .status()
        .unwrap()
        .success()
        && std::process::Command::new("openssl")
            .args([
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-passout",
                "pass:x",
                "-in",
            ])
            .arg(&stranger.key_pkcs8)
            .arg("-out")
            .arg(&enc)
            .status()
            .unwrap()
            .success();
    assert!(ok, "openssl is installed by .ci/run");
    for (name, key, word) in [("rsa", &rsa, "RSA"), ("encrypted", &enc, "encrypted")] {
        let plan = b.with(
            &format!("key = \"{}\"", member.key),
            &format!("key = \"{}\"", key.display()),
        );
        b.refused(name, &plan, 64, &[word, &key.display().to_string()])
            .await;
    }
}

impl Bench {
    /// The plan with `[nodes] launch` replaced by `launch` (and `extra` lines after it).
    fn with_launch(&self, launch: &str, extra: &str) -> String {
        let start = self.original.find("launch = \"").unwrap();
        let end = start + self.original[start..].find('\n').unwrap();
        format!(
            "{}launch = {launch:?}{extra}{}",
            &self.original[..start],
            &self.original[end..]
        )
    }

    fn proposals(&self) -> usize {
        self.r.sandbox.with_world(|w| w.created_proposals.len())
    }

    /// Run a launcher that starts but misbehaves: found out at launch, after the code version
    /// was registered; the automatic rollback takes the registration back (exit 7) and the
    /// error has every one of `words`.
    async fn rolled_back(&self, name: &str, launch: &str, words: &[&str]) {
        let plan = self
            .with_launch(launch, "\nlaunch_timeout = \"1s\"")
            .replace("step_timeout = \"2m\"", "step_timeout = \"2s\"");
        let path = self.r.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, plan).unwrap();
        let state = tempfile::tempdir().unwrap();
        let run = noderoll_in(
            state.path(),
            &["apply", "--plan", path.to_str().unwrap(), "--yes"],
        )
        .await;
        assert_eq!(run.code, 7, "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        for w in words {
            assert!(
                run.stderr.contains(w),
                "{name}: no {w:?} in\n{}",
                run.stderr
            );
        }
        let at: noderoll::ccf::NodeAddr = self.r.sandbox.info().service_address.parse().unwrap();
        let nodes = self.r.client.nodes(&at, &Default::default()).await.unwrap();
        assert_eq!(nodes.len(), 3, "{name}: {nodes:?}");
        let jp = self.r.client.join_policy(&at).await.unwrap();
        assert_eq!(
            jp.virtual_.unwrap().host_data.len(),
            1,
            "{name}: registration taken back"
        );
    }
}

/// A launcher that exists but fails is only found out at launch, after the code version was
/// registered: the automatic rollback takes the registration back, and the error names the
/// command.
#[tokio::test]
async fn broken_launchers_are_named_and_rolled_back() {
    let b = Bench::new().await;
    let id = "ab".repeat(32);
    let cases: [(&str, String, &[&str]); 5] = [
        (
            "fails",
            "echo boom >&2; exit 3".into(),
            &["launch command", "exit status: 3", "boom"],
        ),
        ("hangs", "sleep 30".into(), &["launch command", "1s"]),
        (
            "silent",
            "true".into(),
            &["launch command", "nothing on stdout"],
        ),
        (
            "garbage",
            "echo not json".into(),
            &["launch command", "not json"],
        ),
        (
            "phantom",
            format!("echo '{{\"node_id\": \"{id}\"}}'"),
            &["to appear Pending", &id[..8]],
        ),
    ];
    for (name, launch, words) in cases {
        b.rolled_back(name, &launch, words).await;
    }
    assert_eq!(b.r.sandbox.violations(), vec![]);
}

/// A launcher whose last line is not the contract's — a node id that is not 64 hex, an
/// address that is not `host:port`, JSON that is not an object — fails its launch with a
/// message naming the command and quoting the line.
#[tokio::test]
async fn launchers_answering_a_bad_node_id_or_address_are_named_with_the_line() {
    let b = Bench::new().await;
    let cases: [(&str, &str, &str, &[&str]); 5] = [
        (
            "not-an-object",
            "echo '[\"10.0.0.1:8000\"]'",
            r#"last line "[\"10.0.0.1:8000\"]""#,
            &["not a JSON object"],
        ),
        (
            "short-id",
            "echo starting; echo '{\"node_id\": \"abc123\"}'",
            r#"last line "{\"node_id\": \"abc123\"}""#,
            &["node_id \"abc123\" is not a node id", "6 characters"],
        ),
        (
            "not-hex-id",
            "echo '{\"node_id\": \"node-1\", \"rpc_address\": \"10.0.0.1:8000\"}'",
            r#"last line "{\"node_id\": \"node-1\", \"rpc_address\": \"10.0.0.1:8000\"}""#,
            &["not all hex"],
        ),
        (
            "bad-address",
            "echo '{\"rpc_address\": \"node 1:8000\"}'",
            r#"last line "{\"rpc_address\": \"node 1:8000\"}""#,
            &["rpc_address", "is not host:port"],
        ),
        (
            "no-port",
            "echo '{\"rpc_address\": \"10.0.0.9\"}'",
            r#"last line "{\"rpc_address\": \"10.0.0.9\"}""#,
            &["rpc_address", "no port"],
        ),
    ];
    for (name, launch, line, words) in cases {
        let named = format!("launch command `{launch}`");
        let mut all = vec![named.as_str(), line];
        all.extend_from_slice(words);
        b.rolled_back(name, launch, &all).await;
    }
    assert_eq!(b.r.sandbox.violations(), vec![]);
}

/// A launcher that cannot even start — missing, not executable, not on PATH, not valid `sh` —
/// is a failed preflight check (exit 5) naming the command and what is wrong, before any
/// write: `plan` says so too, and `apply` sends nothing and proposes nothing.
#[tokio::test]
async fn a_missing_or_broken_launcher_is_refused_before_any_write() {
    let b = Bench::new().await;
    let dir = b.r.dir.path();
    let canonical = std::fs::canonicalize(dir).unwrap();
    let missing = b.with_launch("./missing.sh", "");

    // `plan`: exit 5, the check named, nothing written.
    let path = dir.join("missing-launcher.toml");
    std::fs::write(&path, &missing).unwrap();
    let before = (b.writes(), b.proposals());
    let run = noderoll_in(b.state.path(), &["plan", "--plan", path.to_str().unwrap()]).await;
    assert_eq!(run.code, 5, "{}\n{}", run.stdout, run.stderr);
    let want = format!(
        "Preflight FAILED: launch and stop commands resolve: launch command `./missing.sh`: ./missing.sh does not exist (relative to {})",
        canonical.display()
    );
    assert!(run.stdout.contains(&want), "no {want:?} in\n{}", run.stdout);
    let json = noderoll_in(
        b.state.path(),
        &["--output", "json", "plan", "--plan", path.to_str().unwrap()],
    )
    .await;
    assert_eq!(json.code, 5, "{}", json.stderr);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    output_schema::validate("plan", &doc);
    assert!(
        json.stdout.contains("launch and stop commands resolve"),
        "{}",
        json.stdout
    );
    assert_eq!(
        (b.writes(), b.proposals()),
        before,
        "plan changed the service"
    );

    // `apply`: exit 5 before registering anything (`refused` checks no write was made).
    b.refused(
        "missing-launcher",
        &missing,
        5,
        &[
            "launch and stop commands resolve",
            "launch command `./missing.sh`: ./missing.sh does not exist",
            &format!("(relative to {})", canonical.display()),
        ],
    )
    .await;
    assert_eq!(b.proposals(), before.1, "a proposal was created");

    // A launcher file without an execute bit.
    let script = dir.join("launch-node.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    b.refused(
        "not-executable",
        &b.with_launch("./launch-node.sh --join", ""),
        5,
        &[
            "launch command `./launch-node.sh --join`",
            &format!(
                "./launch-node.sh is not executable (chmod +x {})",
                canonical.join("launch-node.sh").display()
            ),
        ],
    )
    .await;
    // A bare name is looked for on PATH (and the file beside the plan pointed at).
    b.refused(
        "bare-name",
        &b.with_launch("launch-node.sh", ""),
        5,
        &[
            "launch-node.sh is not found on PATH",
            "write ./launch-node.sh",
        ],
    )
    .await;
    // Not valid sh: `sh -n` says why.
    b.refused(
        "syntax",
        &b.with_launch("./launch-node.sh &&", ""),
        5,
        &[
            "launch command `./launch-node.sh &&`",
            "not valid sh syntax",
        ],
    )
    .await;
    // The stop command is checked too (retirements need it).
    let stop_start = b.original.find("stop = \"").unwrap();
    let stop_end = stop_start + b.original[stop_start..].find('\n').unwrap();
    let plan = format!(
        "{}stop = \"NODE=$NODEROLL_NODE_ID ./stop-node.sh\"{}",
        &b.original[..stop_start],
        &b.original[stop_end..]
    );
    b.refused(
        "missing-stop",
        &plan,
        5,
        &["stop command `NODE=$NODEROLL_NODE_ID ./stop-node.sh`: ./stop-node.sh does not exist"],
    )
    .await;
    // A quote left open is not a command at all: bad input, at plan load.
    b.refused(
        "open-quote",
        &b.with_launch("./launch-node.sh 'x", ""),
        64,
        &[
            "open-quote.toml",
            "[nodes] launch",
            "' quote is never closed",
        ],
    )
    .await;
    assert_eq!(b.proposals(), before.1, "a proposal was created");
}

/// Legitimate launchers are not refused: the sandbox's own (a single-quoted absolute path),
/// with `VAR=value` assignments before it, through `exec`, `env` or `sh -c`, after a `cd`,
/// or computed by the shell.
#[tokio::test]
async fn legitimate_launcher_commands_pass_preflight() {
    let b = Bench::new().await;
    let start = b.original.find("launch = \"").unwrap() + "launch = \"".len();
    let end = start + b.original[start..].find('"').unwrap();
    let sandbox = b.original[start..end].replace("\\\"", "\"");
    let dir = b.r.dir.path();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let before = b.writes();
    for launch in [
        sandbox.clone(),
        format!("NODEROLL_HOST_DATA=abc X=\"a b\" {sandbox}"),
        format!("exec {sandbox}"),
        format!("env FOO=1 {sandbox}"),
        format!("sh -c \"{}\"", sandbox.replace('"', "\\\"")),
        format!("cd sub && {sandbox}"),
        format!("L=x; $L || {sandbox}"),
        format!("# the sandbox's launcher\n{sandbox}"),
    ] {
        let path = dir.join("fine.toml");
        std::fs::write(&path, b.with_launch(&launch, "")).unwrap();
        let run = noderoll_in(b.state.path(), &["plan", "--plan", path.to_str().unwrap()]).await;
        assert_eq!(run.code, 0, "{launch}:\n{}\n{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("checks pass"),
            "{launch}: {}",
            run.stdout
        );
    }
    assert_eq!(b.writes(), before);
}

#[tokio::test]
async fn an_expired_certificate_and_a_key_readable_by_others_are_warned_about() {
    let b = Bench::new().await;
    let dir = b.r.dir.path();
    // An expired certificate of some other service: refused, and the expiry said.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "CCF Service");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    std::fs::write(
        dir.join("expired.pem"),
        params.self_signed(&key).unwrap().pem(),
    )
    .unwrap();
    let plan = b.with(
        "service_cert = \"service_cert.pem\"",
        "service_cert = \"expired.pem\"",
    );
    b.refused(
        "expired",
        &plan,
        69,
        &["expired on 2021-01-01", "service certificate mismatch"],
    )
    .await;

    // A member key others can read: a warning naming the file and the fix; nothing refused.
    let member = &b.r.sandbox.info().members[0];
    let open = dir.join("open_privk.pem");
    std::fs::copy(dir.join(&member.key), &open).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let plan = b.with(
        &format!("key = \"{}\"", member.key),
        "key = \"open_privk.pem\"",
    );
    let path = dir.join("open.toml");
    std::fs::write(&path, plan).unwrap();
    let run = noderoll_in(b.state.path(), &["plan", "--plan", path.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("open_privk.pem")
            && run.stderr.contains("readable by group or others")
            && run.stderr.contains("chmod 600"),
        "{}",
        run.stderr
    );
}
