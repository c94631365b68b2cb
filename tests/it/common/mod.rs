//! Test harness: certificates made at test time (rcgen), member key files in the formats CCF
//! tools write, and an in-process HTTPS server on 127.0.0.1:0 that stops when dropped.

#![allow(dead_code)]

pub(crate) mod output_schema;
pub(crate) mod schema;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use noderoll::ccf::NodeAddr;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls_pki_types::pem::PemObject;

pub(crate) fn init() {
    noderoll::ccf::tls::ensure_crypto_provider();
}

/// A service identity (CA "CCF Service") that can endorse node certificates.
pub(crate) struct ServiceIdentity {
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl ServiceIdentity {
    pub(crate) fn new() -> Self {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "CCF Service");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        ServiceIdentity {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A node certificate endorsed by this service (SANs localhost and 127.0.0.1).
    pub(crate) fn node_cert(&self) -> CertAndKey {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        params
            .distinguished_name
            .push(DnType::CommonName, "CCF Node");
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        CertAndKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// A self-signed, CA-flagged node certificate: what a joining CCF node presents.
pub(crate) fn self_signed_node_cert() -> CertAndKey {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    params
        .distinguished_name
        .push(DnType::CommonName, "CCF Node");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    CertAndKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

#[derive(Clone)]
pub(crate) struct CertAndKey {
    pub cert_pem: String,
    pub key_pem: String,
}

impl CertAndKey {
    /// The CCF node id of this certificate's key: SHA-256 of its SubjectPublicKeyInfo.
    pub(crate) fn node_id(&self) -> String {
        use x509_cert::der::{Decode, Encode};
        let der =
            rustls_pki_types::CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).unwrap();
        let cert = x509_cert::Certificate::from_der(&der).unwrap();
        noderoll::ccf::tls::sha256_hex(
            &cert
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .unwrap(),
        )
    }

    pub(crate) fn der_sha256(&self) -> [u8; 32] {
        use sha2::Digest;
        let der =
            rustls_pki_types::CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).unwrap();
        sha2::Sha256::digest(der.as_ref()).into()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Curve {
    P256,
    P384,
}

/// A member identity as files: self-signed certificate, key as SEC1 with an `EC PARAMETERS`
/// block (CCF's keygenerator.sh) and as PKCS#8.
pub(crate) struct MemberFiles {
    pub cert: PathBuf,
    pub key_sec1: PathBuf,
    pub key_pkcs8: PathBuf,
}

pub(crate) fn member_files(dir: &Path, name: &str, curve: Curve) -> MemberFiles {
    let alg = match curve {
        Curve::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        Curve::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
    };
    let key = KeyPair::generate_for(alg).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    let pkcs8 = key.serialize_pem();
    let sec1 = match curve {
        Curve::P384 => {
            use p384::pkcs8::DecodePrivateKey;
            let sk = p384::SecretKey::from_pkcs8_pem(&pkcs8).unwrap();
            format!(
                "-----BEGIN EC PARAMETERS-----\nBgUrgQQAIg==\n-----END EC PARAMETERS-----\n{}",
                sk.to_sec1_pem(p384::pkcs8::LineEnding::LF)
                    .unwrap()
                    .as_str()
            )
        }
        Curve::P256 => {
            use p256::pkcs8::DecodePrivateKey;
            let sk = p256::SecretKey::from_pkcs8_pem(&pkcs8).unwrap();
            format!(
                "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
                sk.to_sec1_pem(p256::pkcs8::LineEnding::LF)
                    .unwrap()
                    .as_str()
            )
        }
    };
    let files = MemberFiles {
        cert: dir.join(format!("{name}_cert.pem")),
        key_sec1: dir.join(format!("{name}_privk.pem")),
        key_pkcs8: dir.join(format!("{name}_privk_pkcs8.pem")),
    };
    std::fs::write(&files.cert, cert.pem()).unwrap();
    write_private(&files.key_sec1, &sec1);
    write_private(&files.key_pkcs8, &pkcs8);
    files
}

pub(crate) fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// An HTTPS server for one test; shut down on drop.
pub(crate) struct TestServer {
    pub addr: NodeAddr,
    handle: Handle<SocketAddr>,
}

impl TestServer {
    pub(crate) async fn start(router: Router, tls: &CertAndKey) -> TestServer {
        init();
        let certs = rustls_pki_types::CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let handle = Handle::new();
        let server = axum_server::bind_rustls(
            "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
            RustlsConfig::from_config(Arc::new(config)),
        )
        .handle(handle.clone());
        tokio::spawn(server.serve(router.into_make_service()));
        let bound = handle
            .listening()
            .await
            .expect("test server failed to bind");
        TestServer {
            addr: NodeAddr::new("127.0.0.1", bound.port()),
            handle,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// A 127.0.0.1 port with nothing listening (bound, then released).
pub(crate) fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The repository root.
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// CCF's published schemas and example responses, vendored under `tests/data/ccf` with CCF's
/// own relative paths (provenance and licence: `tests/data/README.md`).
pub(crate) fn ccf_reference() -> PathBuf {
    repo_root().join("tests/data/ccf")
}

/// The text of a vendored CCF file (`rel` relative to `tests/data/ccf`). A missing file fails
/// the test: the data is part of the repository, so nothing is skipped.
pub(crate) fn ccf_file(rel: &str) -> String {
    let path = ccf_reference().join(rel);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("vendored CCF file {} cannot be read: {e}", path.display()))
}

/// Poll `probe` every 10 ms until it returns `Some`, failing the test after `secs` seconds.
pub(crate) async fn eventually<T, F, Fut>(what: &str, secs: u64, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A sandbox started in-process for a test, with a client and governance for its member.
pub(crate) struct RunningSandbox {
    pub sandbox: noderoll::sandbox::Sandbox,
    pub client: noderoll::ccf::CcfClient,
    pub gov: noderoll::ccf::governance::Governance,
    pub entry: NodeAddr,
    pub dir: tempfile::TempDir,
}

impl RunningSandbox {
    /// Trusted nodes the service lists now (asked at the stable service address, which
    /// outlives any one node).
    pub(crate) async fn trusted_count(&self) -> usize {
        let at: NodeAddr = self.sandbox.info().service_address.parse().unwrap();
        self.client
            .nodes(&at, &Default::default())
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.status == noderoll::ccf::types::NodeStatus::Trusted)
            .count()
    }
}

pub(crate) async fn start_sandbox(
    nodes: usize,
    platform: noderoll::sandbox::Platform,
    speed: f64,
) -> RunningSandbox {
    start_sandbox_with_members(nodes, 1, platform, speed).await
}

pub(crate) async fn start_sandbox_with_members(
    nodes: usize,
    members: usize,
    platform: noderoll::sandbox::Platform,
    speed: f64,
) -> RunningSandbox {
    start_sandbox_with(nodes, platform, speed, |o| o.members = members).await
}

/// A sandbox of `nodes` nodes on `platform` at `speed`, its options adjusted by `tweak`.
pub(crate) async fn start_sandbox_with(
    nodes: usize,
    platform: noderoll::sandbox::Platform,
    speed: f64,
    tweak: impl FnOnce(&mut noderoll::sandbox::SandboxOptions),
) -> RunningSandbox {
    init();
    let dir = tempfile::tempdir().unwrap();
    let mut opts = noderoll::sandbox::SandboxOptions::new(dir.path());
    opts.nodes = nodes;
    opts.members = 1;
    opts.platform = platform;
    opts.seed = 42;
    opts.latency = noderoll::sandbox::LatencyModel::default().with_speed(speed);
    // The ready plan's launcher lines run the noderoll binary (not this test binary).
    opts.noderoll_command = noderoll::sandbox::server::shell_quote(env!("CARGO_BIN_EXE_noderoll"));
    opts.soak = "300ms".into();
    tweak(&mut opts);
    let sandbox = noderoll::sandbox::Sandbox::start(opts).await.unwrap();
    let info = sandbox.info().clone();
    let cert = noderoll::ccf::ServiceCert::load(&dir.path().join(&info.service_cert)).unwrap();
    let client =
        noderoll::ccf::CcfClient::new(&cert, Default::default(), noderoll::wait::Cancel::never())
            .unwrap();
    let m = &info.members[0];
    let member =
        noderoll::signing::Member::load(&dir.path().join(&m.cert), &dir.path().join(&m.key))
            .unwrap();
    let nodes: Vec<NodeAddr> = info
        .nodes
        .iter()
        .map(|n| n.rpc_address.parse().unwrap())
        .collect();
    let gov = noderoll::ccf::governance::Governance::new(
        client.clone(),
        nodes.clone(),
        vec![Arc::new(member)],
    );
    RunningSandbox {
        sandbox,
        client,
        gov,
        entry: nodes[0].clone(),
        dir,
    }
}

/// Wait until the service lists `id` as Pending.
pub(crate) async fn wait_pending(
    client: &noderoll::ccf::CcfClient,
    entry: &NodeAddr,
    id: &str,
) -> noderoll::ccf::types::NodeInfo {
    eventually("the node to appear Pending", 20, || {
        let (c, e, id) = (client.clone(), entry.clone(), id.to_string());
        async move {
            c.node(&e, &id)
                .await
                .ok()
                .flatten()
                .filter(|n| n.status == noderoll::ccf::types::NodeStatus::Pending)
        }
    })
    .await
}

/// What a finished `noderoll` process left.
pub(crate) struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the `noderoll` binary to completion (off the async runtime) with `state` as its state
/// directory and no terminal.
pub(crate) async fn noderoll_in(state: &Path, args: &[&str]) -> Ran {
    noderoll_in_env(state, args, &[]).await
}

/// [`noderoll_in`] with `env` set (`COLUMNS` is unset unless given: tables as wide as their
/// content).
pub(crate) async fn noderoll_in_env(state: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let state = state.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"))
            .args(&args)
            .env_remove("NODEROLL_PLAN")
            .env_remove("COLUMNS")
            .envs(env)
            .env("NODEROLL_STATE_DIR", state)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    })
    .await
    .unwrap()
}

/// Every line of `text` fits `width` columns, and each of `words` is on one line, whole.
pub(crate) fn assert_fits_whole(text: &str, width: usize, words: &[String]) {
    for line in text.lines() {
        let n = line.chars().count();
        assert!(n <= width, "{n} columns: {line:?} in\n{text}");
    }
    for word in words {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().any(|w| w.contains(word.as_str()))),
            "{word:?} whole in\n{text}"
        );
    }
}

/// What a trigger does: gets the event line and the process id.
pub(crate) type Act = Box<dyn FnOnce(&str, u32) + Send>;

/// Something to do when `apply` prints the `nth` (1-based) event of `kind` whose line
/// contains `needle`.
pub(crate) struct Trigger {
    pub kind: &'static str,
    pub nth: usize,
    pub needle: &'static str,
    pub act: Act,
}

impl Trigger {
    pub(crate) fn new(
        kind: &'static str,
        nth: usize,
        needle: &'static str,
        act: impl FnOnce(&str, u32) + Send + 'static,
    ) -> Self {
        Trigger {
            kind,
            nth,
            needle,
            act: Box::new(act),
        }
    }
}

/// Run `noderoll apply --plan PLAN --yes --output json [extra]` with `state` as its state
/// directory, firing `triggers` in order as their events are printed; returns how it ended
/// and how many triggers fired.
pub(crate) async fn apply_with(
    plan: &Path,
    state: &Path,
    extra: &[&str],
    triggers: Vec<Trigger>,
) -> (Ran, usize) {
    let mut args = vec!["apply", "--plan", plan.to_str().unwrap(), "--yes"];
    args.extend(extra);
    run_with(&args, state, triggers).await
}

/// Run `noderoll ARGS --output json` with `state` as its state directory, firing
/// `triggers` in order as their events are printed; returns how it ended and how many
/// triggers fired.
pub(crate) async fn run_with(args: &[&str], state: &Path, triggers: Vec<Trigger>) -> (Ran, usize) {
    use std::io::{BufRead, Read};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_noderoll"))
        .args(args)
        .args(["--output", "json"])
        .env_remove("NODEROLL_PLAN")
        .env("NODEROLL_STATE_DIR", state)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let pid = child.id();
    tokio::task::spawn_blocking(move || {
        let mut triggers = std::collections::VecDeque::from(triggers);
        let (mut seen, mut fired, mut out) = (0, 0, String::new());
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            out.push_str(&line);
            out.push('\n');
            let Some(t) = triggers.front() else { continue };
            if line.contains(&format!("\"type\":\"{}\"", t.kind)) && line.contains(t.needle) {
                seen += 1;
                if seen == t.nth {
                    let t = triggers.pop_front().unwrap();
                    (t.act)(&line, pid);
                    fired += 1;
                    seen = 0;
                }
            }
        }
        let status = child.wait().unwrap();
        let ran = Ran {
            code: status.code().unwrap_or(-1),
            stdout: out,
            stderr: errors.join().unwrap(),
        };
        (ran, fired)
    })
    .await
    .unwrap()
}

/// Start `noderoll apply --plan PLAN --yes --output json` and SIGKILL it when the `nth`
/// (1-based) event of `kind` whose line contains `needle` is printed.
pub(crate) async fn apply_killed_at(
    plan: &Path,
    state: &Path,
    kind: &'static str,
    nth: usize,
    needle: &'static str,
) {
    let kill = Trigger::new(kind, nth, needle, |_, pid| {
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
    });
    let (_, fired) = apply_with(plan, state, &[], vec![kill]).await;
    assert_eq!(
        fired, 1,
        "the kill point {nth} × {needle:?} was never reached"
    );
}

impl RunningSandbox {
    /// The nodes the sandbox started with, as `sandbox.json` lists them.
    pub(crate) fn original_nodes(&self) -> Vec<NodeAddr> {
        self.sandbox
            .info()
            .nodes
            .iter()
            .map(|n| n.rpc_address.parse().unwrap())
            .collect()
    }

    /// Register the sandbox's next (virtual) build through governance; returns it.
    pub(crate) async fn register_next_virtual(&self) -> noderoll::sandbox::Build {
        let next = self.sandbox.info().next_build.clone();
        let body = noderoll::ccf::types::ProposalBody {
            actions: vec![noderoll::ccf::types::Action::new(
                "add_virtual_host_data",
                serde_json::json!({"host_data": next.host_data}),
            )],
        };
        self.gov
            .pass(&body, &noderoll::wait::Cancel::never())
            .await
            .unwrap();
        next
    }

    /// The ready plan the sandbox wrote.
    pub(crate) fn plan_path(&self) -> std::path::PathBuf {
        self.dir.path().join(&self.sandbox.info().plan)
    }

    /// The ready plan with `finalize = "manual"` appended (it ends in `[safety]`); returns its
    /// path.
    pub(crate) fn plan_with_manual_finalize(&self) -> std::path::PathBuf {
        let plan = self.plan_path();
        let text = std::fs::read_to_string(&plan).unwrap();
        std::fs::write(&plan, format!("{text}finalize = \"manual\"\n")).unwrap();
        plan
    }

    /// The ready plan with `[safety] step_timeout` set to `timeout`, so that a new node that
    /// never joins is given up on quickly; returns its path.
    pub(crate) fn plan_with_step_timeout(&self, timeout: &str) -> std::path::PathBuf {
        let plan = self.plan_path();
        let text = std::fs::read_to_string(&plan).unwrap().replace(
            "step_timeout = \"2m\"",
            &format!("step_timeout = \"{timeout}\""),
        );
        std::fs::write(&plan, text).unwrap();
        plan
    }

    /// `apply --output json` with the next launched node never joining: the upgrade fails
    /// and is rolled back automatically (exit 7, asserted). Returns the plan and the run.
    pub(crate) async fn apply_until_automatic_rollback(
        &self,
        state: &Path,
    ) -> (std::path::PathBuf, Ran) {
        let plan = self.plan_with_step_timeout("3s");
        noderoll::sandbox::control::apply_fault(
            self.sandbox.core(),
            noderoll::sandbox::Fault::NeverJoinNext,
        )
        .unwrap();
        let run = noderoll_in(
            state,
            &[
                "apply",
                "--plan",
                plan.to_str().unwrap(),
                "--yes",
                "--output",
                "json",
            ],
        )
        .await;
        assert_eq!(run.code, 7, "{}", run.stderr);
        (plan, run)
    }

    /// The sandbox's plan split as a consortium keeps it: member0's (the upgrade's tables
    /// included) at the sandbox's plan path, and member1's (`[service]` and its own
    /// `[[members]]` only) returned.
    pub(crate) fn split_member_plans(&self) -> (std::path::PathBuf, std::path::PathBuf) {
        let plan = self.plan_path();
        let text = std::fs::read_to_string(&plan).unwrap();
        let only = |i: usize, upgrade_tables: bool| {
            let mut out = String::new();
            for block in text.split("\n\n") {
                let keep = if block.starts_with("[[members]]") {
                    block.contains(&format!("member{i}_cert.pem"))
                } else {
                    upgrade_tables || block.starts_with("[service]")
                };
                if keep {
                    out.push_str(block);
                    out.push_str("\n\n");
                }
            }
            out
        };
        std::fs::write(&plan, only(0, true)).unwrap();
        let voter = self.dir.path().join("member1.toml");
        std::fs::write(&voter, only(1, false)).unwrap();
        (plan, voter)
    }

    /// Nodes launched since the start, and whether every proposal was created only once.
    pub(crate) fn launched_and_no_duplicate_proposal(&self) -> (usize, bool) {
        let start = self.sandbox.info().nodes.len();
        self.sandbox.with_world(|w| {
            let mut unique = w.created_proposals.clone();
            unique.sort();
            unique.dedup();
            (
                w.nodes.len() - start,
                unique.len() == w.created_proposals.len(),
            )
        })
    }
}

/// The sandbox's plan without `[target]` (the channel supplies it), launching whatever build
/// the release names and noting the package each launch was given.
pub(crate) fn channel_plan(r: &RunningSandbox) -> std::path::PathBuf {
    let text = std::fs::read_to_string(r.plan_path()).unwrap();
    let (head, rest) = text.split_once("[target]").unwrap();
    let rest = &rest[rest.find("[nodes]").unwrap()..];
    let start = rest.find("launch = \"").unwrap();
    let end = start + rest[start..].find('\n').unwrap();
    let cmd = noderoll::sandbox::server::shell_quote(env!("CARGO_BIN_EXE_noderoll"));
    let launch = format!(
        "echo \"$NODEROLL_PACKAGE\" >> packages.txt; {cmd} sandbox launch-node --dir . --ccf-version \"$NODEROLL_CCF_VERSION\""
    );
    let plan = format!(
        "{head}{}launch = {launch:?}{}",
        &rest[..start],
        &rest[end..]
    );
    let path = r.dir.path().join("channel-plan.toml");
    std::fs::write(&path, plan).unwrap();
    path
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Copy the directory tree `from` into `to` (a state directory, to try a command on a copy).
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
