//! The sandbox runtime: one HTTPS listener per node on 127.0.0.1, a ticker that advances the
//! simulation, node launch/stop/kill/partition, and the files a user needs in `--dir`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::http::{Shared, node_router};
use super::latency::LatencyModel;
use super::pki::{CertSlot, NodeIdentity, PkiError, ServiceIdentity, write_member};
use super::world::{
    Build, MemberRec, Platform, UvmEndorsement, VIRTUAL_MEASUREMENT, Violation, World, WriteStall,
};
use crate::signing::MemberCert;

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Directory for the service certificate, member identities, `sandbox.json` and the plan.
    pub dir: PathBuf,
    /// Nodes at start.
    pub nodes: usize,
    /// Members (all Active).
    pub members: usize,
    /// Seed of the latency model.
    pub seed: u64,
    /// Latency model (its `speed` scales every delay).
    pub latency: LatencyModel,
    /// Platform of the simulated builds.
    pub platform: Platform,
    /// Command that runs noderoll (for the launcher lines in the ready plan).
    pub noderoll_command: String,
    /// `[safety] soak` of the ready plan.
    pub soak: String,
    /// SNP only: the nodes present UVM endorsements (Azure confidential containers), so the
    /// join policy holds the endorsement and host data but no measurement.
    pub uvm: bool,
    /// Start as a recovered service (`recovery_count` 1) whose node table still holds this
    /// many nodes of the service before the disaster recovery: `Retired`, not running, never
    /// removable (CCF #6604).
    pub stale_retired: usize,
}

impl SandboxOptions {
    /// Defaults for `dir`: 3 nodes, 1 member, seed 0, speed 1, virtual platform.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SandboxOptions {
            dir: dir.into(),
            nodes: 3,
            members: 1,
            seed: 0,
            latency: LatencyModel::default(),
            platform: Platform::Virtual,
            noderoll_command: std::env::current_exe()
                .map(|p| shell_quote(&p.display().to_string()))
                .unwrap_or_else(|_| "noderoll".into()),
            soak: "1s".into(),
            uvm: false,
            stale_retired: 0,
        }
    }
}

/// Quote for `sh`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Why the sandbox could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Keys or certificates.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A file or socket.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A request the sandbox refuses.
    #[error("{0}")]
    Refused(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SandboxError {
    let what = what.into();
    move |source| SandboxError::Io { what, source }
}

/// A simulated build's identity (derived from its version so it is stable across runs).
pub fn simulated_build(platform: Platform, ccf_version: &str) -> Build {
    let package = format!("noderoll sandbox package {ccf_version}");
    match platform {
        Platform::Virtual => Build {
            platform,
            ccf_version: ccf_version.into(),
            host_data: hex::encode(sha2::Sha256::digest(package.as_bytes())),
            measurement: VIRTUAL_MEASUREMENT.into(),
            uvm: None,
        },
        Platform::Snp => Build {
            platform,
            ccf_version: ccf_version.into(),
            host_data: hex::encode(sha2::Sha256::digest(snp_policy(ccf_version).as_bytes())),
            measurement: hex::encode(sha2::Sha384::digest(package.as_bytes())),
            uvm: None,
        },
    }
}

/// The UVM endorsement simulated SNP nodes present with `--uvm`: the DID and feed of Azure's
/// ContainerPlat UVM, at `svn`.
pub fn simulated_uvm(svn: &str) -> UvmEndorsement {
    UvmEndorsement {
        did: "did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2".into(),
        feed: "ContainerPlat-AMD-UVM".into(),
        svn: svn.into(),
    }
}

/// The SVN of the UVM endorsement simulated builds carry with `--uvm`.
pub const SIMULATED_UVM_SVN: &str = "101";

/// The security policy text of a simulated SNP build (its SHA-256 is the host data).
pub fn snp_policy(ccf_version: &str) -> String {
    format!(
        "package policy\n\napi_version := \"0.10.0\"\nframework_svn := \"noderoll sandbox {ccf_version}\"\n"
    )
}

/// The version the sandbox starts on, and the one its ready plan upgrades to.
pub const CURRENT_VERSION: &str = "ccf-7.0.1";
/// See [`CURRENT_VERSION`].
pub const NEXT_VERSION: &str = "ccf-7.0.2";

/// `sandbox.json`: what launch-node, stop-node and users need to know.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxInfo {
    /// Format version.
    pub schema_version: u32,
    /// Process id of the sandbox.
    pub pid: u32,
    /// Control endpoint (plain HTTP on 127.0.0.1).
    pub control: String,
    /// The service's stable address (a gateway forwarding to a live node).
    pub service_address: String,
    /// Service certificate file.
    pub service_cert: String,
    /// Nodes at start.
    pub nodes: Vec<NodeEntry>,
    /// Members.
    pub members: Vec<MemberEntry>,
    /// The build the service runs.
    pub current_build: Build,
    /// The build the ready plan upgrades to.
    pub next_build: Build,
    /// The ready plan file.
    pub plan: String,
}

/// A node in `sandbox.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Node id.
    pub node_id: String,
    /// `127.0.0.1:port`.
    pub rpc_address: String,
}

/// A member in `sandbox.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberEntry {
    /// Member id.
    pub member_id: String,
    /// Certificate file name.
    pub cert: String,
    /// Key file name.
    pub key: String,
}

impl SandboxInfo {
    /// Read `DIR/sandbox.json`.
    pub fn load(dir: &Path) -> Result<SandboxInfo, SandboxError> {
        let path = dir.join("sandbox.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            SandboxError::Refused(format!(
                "cannot read {} ({e}); is `noderoll sandbox --dir {}` running?",
                path.display(),
                dir.display()
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            SandboxError::Refused(format!(
                "{} is not a sandbox description: {e}",
                path.display()
            ))
        })
    }
}

struct NodeServer {
    handle: Option<Handle<SocketAddr>>,
    port: u16,
}

/// What the control endpoint and the [`Sandbox`] handle share.
pub struct Core {
    /// The simulation and node certificates.
    pub shared: Arc<Shared>,
    service: ServiceIdentity,
    servers: Mutex<Vec<NodeServer>>,
    /// Launch names stopped before their launch reached the sandbox: an orchestrator that
    /// cancels a launch by name makes sure it never starts.
    cancelled: Mutex<std::collections::BTreeSet<String>>,
}

/// A running sandbox. Dropping it stops every listener.
pub struct Sandbox {
    core: Arc<Core>,
    ticker: tokio::task::JoinHandle<()>,
    control: tokio::task::JoinHandle<()>,
    gateway: Handle<SocketAddr>,
    info: SandboxInfo,
    dir: PathBuf,
}

impl Sandbox {
    /// Start a sandbox and write its files. Must run inside a tokio runtime.
    pub async fn start(opts: SandboxOptions) -> Result<Sandbox, SandboxError> {
        crate::ccf::tls::ensure_crypto_provider();
        if opts.nodes == 0 || opts.nodes > 64 {
            return Err(SandboxError::Refused(format!(
                "--nodes must be between 1 and 64, not {}",
                opts.nodes
            )));
        }
        if opts.members == 0 || opts.members > 32 {
            return Err(SandboxError::Refused(format!(
                "--members must be between 1 and 32, not {}",
                opts.members
            )));
        }
        std::fs::create_dir_all(&opts.dir)
            .map_err(io(format!("cannot create {}", opts.dir.display())))?;
        let service = ServiceIdentity::generate()?;
        let service_cert_path = opts.dir.join("service_cert.pem");
        std::fs::write(&service_cert_path, &service.cert_pem)
            .map_err(io(format!("cannot write {}", service_cert_path.display())))?;

        let mut members = Vec::new();
        let mut member_entries = Vec::new();
        for i in 0..opts.members {
            let files = write_member(&opts.dir, i)?;
            let cert = MemberCert::from_pem(&files.cert_pem, &files.cert).map_err(|e| {
                SandboxError::Refused(format!("generated member certificate is unusable: {e}"))
            })?;
            member_entries.push(MemberEntry {
                member_id: cert.member_id().to_string(),
                cert: file_name(&files.cert),
                key: file_name(&files.key),
            });
            members.push(MemberRec {
                id: cert.member_id().to_string(),
                cert_pem: files.cert_pem,
                public_key: cert.public_key().clone(),
                active: true,
            });
        }

        if opts.uvm && opts.platform != Platform::Snp {
            return Err(SandboxError::Refused(
                "--uvm needs --platform snp (UVM endorsements are an SNP feature)".into(),
            ));
        }
        if opts.stale_retired > 64 {
            return Err(SandboxError::Refused(format!(
                "--stale-retired must be at most 64, not {}",
                opts.stale_retired
            )));
        }
        let mut current = simulated_build(opts.platform, CURRENT_VERSION);
        let mut next = simulated_build(opts.platform, NEXT_VERSION);
        if opts.uvm {
            current.uvm = Some(simulated_uvm(SIMULATED_UVM_SVN));
            next.uvm = Some(simulated_uvm(SIMULATED_UVM_SVN));
        }
        let mut identities = Vec::new();
        let mut listeners = Vec::new();
        for _ in 0..opts.nodes {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")
                .map_err(io("cannot bind 127.0.0.1:0"))?;
            identities.push(NodeIdentity::generate(&service)?);
            listeners.push(listener);
        }
        let genesis: Vec<(String, u16)> = identities
            .iter()
            .zip(&listeners)
            .map(|(id, l)| {
                (
                    id.node_id.clone(),
                    l.local_addr().map(|a| a.port()).unwrap_or(0),
                )
            })
            .collect();
        let mut world = World::new(
            opts.latency,
            opts.seed,
            Instant::now(),
            &genesis,
            &current,
            members,
        );
        let mut endorsed_pems: Vec<String> =
            identities.iter().map(|i| i.endorsed_pem.clone()).collect();
        let mut cert_slots: Vec<Arc<CertSlot>> =
            identities.iter().map(|i| CertSlot::new(i, true)).collect();
        // A recovered service: the previous service's nodes, endorsed by its identity, retired
        // by the recovery and gone.
        let mut stale_ports = Vec::new();
        let previous_service_cert_pem = if opts.stale_retired > 0 {
            let previous = ServiceIdentity::generate()?;
            for _ in 0..opts.stale_retired {
                let identity = NodeIdentity::generate(&previous)?;
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map_err(io("cannot bind 127.0.0.1:0"))?
                    .port();
                world.add_pre_recovery_node(identity.node_id.clone(), port, current.clone());
                endorsed_pems.push(identity.endorsed_pem.clone());
                cert_slots.push(CertSlot::new(&identity, true));
                stale_ports.push(port);
            }
            world.recovery_count = 1;
            Some(previous.cert_pem.clone())
        } else {
            None
        };
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            service_cert_pem: Mutex::new(service.cert_pem.clone()),
            endorsed_pems: Mutex::new(endorsed_pems),
            cert_slots: Mutex::new(cert_slots),
            previous_service_cert_pem,
            sessions: Mutex::new(std::collections::HashMap::new()),
        });
        let mut servers = Vec::new();
        for (slot, listener) in listeners.into_iter().enumerate() {
            let port = listener
                .local_addr()
                .map_err(io("cannot read a bound address"))?
                .port();
            let handle = serve(&shared, slot, listener)?;
            servers.push(NodeServer {
                handle: Some(handle),
                port,
            });
        }
        for port in stale_ports {
            servers.push(NodeServer { handle: None, port });
        }

        let gateway = start_gateway(&shared, &service, &service_cert_path)?;
        let core = Arc::new(Core {
            cancelled: Mutex::default(),
            shared: shared.clone(),
            service,
            servers: Mutex::new(servers),
        });
        let (control, control_task) = super::control::start(core.clone()).await?;
        let plan_name = "upgrade.toml";
        let info = SandboxInfo {
            schema_version: 1,
            pid: std::process::id(),
            control: control.to_string(),
            service_address: format!("127.0.0.1:{}", gateway.1),
            service_cert: "service_cert.pem".into(),
            nodes: genesis
                .iter()
                .map(|(id, port)| NodeEntry {
                    node_id: id.clone(),
                    rpc_address: format!("127.0.0.1:{port}"),
                })
                .collect(),
            members: member_entries,
            current_build: current,
            next_build: next,
            plan: plan_name.into(),
        };
        write_atomically(&opts.dir.join(plan_name), &ready_plan(&info, &opts))?;
        write_atomically(
            &opts.dir.join("sandbox.json"),
            &serde_json::to_string_pretty(&info).expect("info serialises"),
        )?;

        let ticker = tokio::spawn(run_ticker(shared));
        Ok(Sandbox {
            core,
            ticker,
            control: control_task,
            gateway: gateway.0,
            info,
            dir: opts.dir,
        })
    }

    /// What `sandbox.json` says.
    pub fn info(&self) -> &SandboxInfo {
        &self.info
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The launch/stop machinery.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// Run `f` on the simulation (fault injection, inspection).
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.core.shared.world())
    }

    /// Invariant violations recorded so far.
    pub fn violations(&self) -> Vec<Violation> {
        self.core.shared.world().violations.clone()
    }

    /// Catch-up write stalls so far (see [`WriteStall`]).
    pub fn write_stall(&self) -> WriteStall {
        self.core.shared.world().write_stall()
    }

    /// Launch a node running `build`; returns its node id and RPC address.
    pub fn launch(&self, build: Build) -> Result<(String, String), SandboxError> {
        self.core.launch(build)
    }

    /// Stop a node (by id or `127.0.0.1:port`). `by_orchestrator`: the launcher contract's
    /// stop command, checked by the invariants; otherwise a crash.
    pub fn stop(&self, node: &str, by_orchestrator: bool) -> Result<(), SandboxError> {
        self.core.stop(node, by_orchestrator)
    }

    /// Partition a node away (or heal it).
    pub fn partition(&self, node: &str, partitioned: bool) -> Result<(), SandboxError> {
        self.core.partition(node, partitioned)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker.abort();
        self.control.abort();
        self.gateway.shutdown();
        for s in self
            .core
            .servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter_mut()
        {
            if let Some(h) = s.handle.take() {
                h.shutdown();
            }
        }
    }
}

/// The gateway listener: a service-endorsed certificate of its own, forwarding to live nodes.
fn start_gateway(
    shared: &Arc<Shared>,
    service: &ServiceIdentity,
    service_cert: &Path,
) -> Result<(Handle<SocketAddr>, u16), SandboxError> {
    let identity = NodeIdentity::generate(service)?;
    let cert = CertSlot::new(&identity, true);
    let trust = crate::ccf::ServiceCert::load(service_cert).map_err(|e| {
        SandboxError::Refused(format!("cannot read back the service certificate: {e}"))
    })?;
    let app = super::http::gateway_router(shared.clone(), &trust)
        .map_err(|e| SandboxError::Refused(format!("cannot build the gateway's client: {e}")))?;
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io("cannot bind 127.0.0.1:0"))?;
    let port = listener
        .local_addr()
        .map_err(io("cannot read a bound address"))?
        .port();
    listener
        .set_nonblocking(true)
        .map_err(io("cannot configure a listener"))?;
    let handle = Handle::new();
    let server = axum_server::from_tcp_rustls(
        listener,
        RustlsConfig::from_config(Arc::new(cert.server_config())),
    )
    .map_err(io("cannot serve the gateway"))?
    .handle(handle.clone());
    tokio::spawn(async move {
        if let Err(e) = server.serve(app.into_make_service()).await {
            tracing::warn!("sandbox gateway stopped: {e}");
        }
    });
    Ok((handle, port))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default()
}

fn write_atomically(path: &Path, text: &str) -> Result<(), SandboxError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io(format!("cannot write {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io(format!("cannot write {}", path.display())))
}

fn ready_plan(info: &SandboxInfo, opts: &SandboxOptions) -> String {
    // Launcher commands run in the plan file's directory, which is the sandbox's.
    let dir = ".";
    let platform = match info.next_build.platform {
        Platform::Virtual => "virtual",
        Platform::Snp => "snp",
    };
    let mut target = format!(
        "platform = \"{platform}\"\nhost_data = \"{}\"\nccf_version = \"{}\"\n",
        info.next_build.host_data, info.next_build.ccf_version
    );
    if info.next_build.platform == Platform::Snp {
        // Nodes admitted by UVM endorsement are not checked against a measurement: the plan
        // names none, as an operator of Azure confidential containers would write it.
        if info.next_build.uvm.is_none() {
            target.push_str(&format!(
                "measurement = \"{}\"\n",
                info.next_build.measurement
            ));
        }
        target.push_str(&format!(
            "security_policy = {:?}\n",
            snp_policy(&info.next_build.ccf_version)
        ));
        if let Some(u) = &info.next_build.uvm {
            target.push_str(&format!(
                "uvm_endorsement = {{ did = {:?}, feed = {:?}, svn = {:?} }}\n",
                u.did, u.feed, u.svn
            ));
        }
    }
    let members: String = info
        .members
        .iter()
        .map(|m| {
            format!(
                "[[members]]\ncert = \"{}\"\nkey = \"{}\"\n\n",
                m.cert, m.key
            )
        })
        .collect();
    format!(
        "# Upgrade the noderoll sandbox in this directory from {} to {}.\n\
         # Written by `noderoll sandbox`; see the README's plan file reference.\n\n\
         [service]\nurl = \"https://{}\"  # the sandbox gateway: forwards to a live node\nservice_cert = \"service_cert.pem\"\n\n\
         {members}\
         [target]\n{target}\n\
         [nodes]\nlaunch = \"{cmd} sandbox launch-node --dir {dir}\"\nstop = \"{cmd} sandbox stop-node --dir {dir}\"\n\
         max_parallel_launches = {n}\n\n\
         [safety]\nsoak = \"{soak}\"\nstep_timeout = \"2m\"\n",
        info.current_build.ccf_version,
        info.next_build.ccf_version,
        info.service_address,
        cmd = opts
            .noderoll_command
            .replace('\\', "\\\\")
            .replace('"', "\\\""),
        dir = dir.replace('\\', "\\\\").replace('"', "\\\""),
        n = opts.nodes,
        soak = opts.soak,
    )
}

fn serve(
    shared: &Arc<Shared>,
    slot: usize,
    listener: std::net::TcpListener,
) -> Result<Handle<SocketAddr>, SandboxError> {
    listener
        .set_nonblocking(true)
        .map_err(io("cannot configure a listener"))?;
    let handle = Handle::new();
    let cert = shared.cert_slots.lock().unwrap_or_else(|e| e.into_inner())[slot].clone();
    let config = RustlsConfig::from_config(Arc::new(cert.server_config()));
    let server = axum_server::from_tcp_rustls(listener, config)
        .map_err(io("cannot serve a node"))?
        .handle(handle.clone());
    let app = node_router(shared.clone(), slot);
    tokio::spawn(async move {
        let make = app.into_make_service_with_connect_info::<super::http::ConnId>();
        if let Err(e) = server.serve(make).await {
            tracing::warn!("sandbox node listener stopped: {e}");
        }
    });
    Ok(handle)
}

fn find_slot(shared: &Shared, node: &str) -> Result<usize, SandboxError> {
    let w = shared.world();
    w.nodes
        .iter()
        .position(|n| {
            n.node_id == node
                || n.address() == node
                || format!("localhost:{}", n.port) == node
                || n.name.as_deref() == Some(node)
        })
        .ok_or_else(|| SandboxError::Refused(format!("no node {node} in this sandbox")))
}

impl Core {
    /// Launch a node running `build`; returns its node id and RPC address.
    pub fn launch(&self, build: Build) -> Result<(String, String), SandboxError> {
        self.launch_named(build, None)
    }

    /// [`Core::launch`], the node carrying its launch's name (`NODEROLL_NODE_NAME`).
    pub fn launch_named(
        &self,
        build: Build,
        name: Option<String>,
    ) -> Result<(String, String), SandboxError> {
        if let Some(n) = &name
            && self
                .cancelled
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(n)
        {
            return Err(SandboxError::Refused(format!(
                "launch {n} was cancelled by the stop command"
            )));
        }
        let (shared, servers) = (&self.shared, &self.servers);
        let identity = NodeIdentity::generate(&self.service)?;
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").map_err(io("cannot bind 127.0.0.1:0"))?;
        let port = listener
            .local_addr()
            .map_err(io("cannot read a bound address"))?
            .port();
        let cert = CertSlot::new(&identity, false);
        let slot = {
            let mut w = shared.world();
            let slot = w.launch(identity.node_id.clone(), port, build, Instant::now());
            w.nodes[slot].name = name;
            shared
                .endorsed_pems
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(identity.endorsed_pem.clone());
            shared
                .cert_slots
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(cert);
            slot
        };
        let handle = serve(shared, slot, listener)?;
        servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(NodeServer {
                handle: Some(handle),
                port,
            });
        Ok((identity.node_id, format!("127.0.0.1:{port}")))
    }

    /// Renew the service certificate (same key): served from now on by `/node/network` and
    /// `/gov/service/info`; the file in the sandbox directory keeps the old one, as an
    /// operator's copy would.
    pub fn renew_service_cert(&self) -> Result<(), SandboxError> {
        let pem = self
            .service
            .renewed_cert_pem()
            .map_err(|e| SandboxError::Refused(e.to_string()))?;
        *self
            .shared
            .service_cert_pem
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = pem;
        Ok(())
    }

    /// Stop a node; see [`Sandbox::stop`].
    pub fn stop(&self, node: &str, by_orchestrator: bool) -> Result<(), SandboxError> {
        let slot = find_slot(&self.shared, node)?;
        self.stop_slot(slot, by_orchestrator);
        Ok(())
    }

    /// The stop command by launch name: stops the node launched under it, or, if its launch
    /// has not reached the sandbox yet, makes sure it never starts.
    pub fn stop_by_name(&self, name: &str) {
        match find_slot(&self.shared, name) {
            Ok(slot) => self.stop_slot(slot, true),
            Err(_) => {
                self.cancelled
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name.to_string());
            }
        }
    }

    fn stop_slot(&self, slot: usize, by_orchestrator: bool) {
        let (shared, servers) = (&self.shared, &self.servers);
        shared.world().stop(slot, by_orchestrator, Instant::now());
        if let Some(h) = servers.lock().unwrap_or_else(|e| e.into_inner())[slot]
            .handle
            .take()
        {
            h.shutdown();
        }
    }

    /// Partition a node away (or heal it).
    pub fn partition(&self, node: &str, partitioned: bool) -> Result<(), SandboxError> {
        let (shared, servers) = (&self.shared, &self.servers);
        let slot = find_slot(shared, node)?;
        if !shared.world().nodes[slot].running {
            return Err(SandboxError::Refused(format!("node {node} is not running")));
        }
        shared.world().set_partitioned(slot, partitioned);
        let mut servers = servers.lock().unwrap_or_else(|e| e.into_inner());
        let s = &mut servers[slot];
        if partitioned {
            if let Some(h) = s.handle.take() {
                h.shutdown();
            }
        } else if s.handle.is_none() {
            let listener = std::net::TcpListener::bind(("127.0.0.1", s.port))
                .map_err(io(format!("cannot rebind port {}", s.port)))?;
            s.handle = Some(serve(shared, slot, listener)?);
        }
        Ok(())
    }
}

/// Advance the simulation every few milliseconds and present endorsed certificates as nodes
/// become trusted and caught up.
async fn run_ticker(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(Duration::from_millis(5));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        let (endorsed, log) = {
            let mut w = shared.world();
            w.tick(Instant::now());
            let endorsed: Vec<bool> = w.nodes.iter().map(|n| n.endorsed()).collect();
            (endorsed, std::mem::take(&mut w.log))
        };
        for line in log {
            if line.starts_with("INVARIANT") {
                tracing::error!(target: "noderoll::sandbox", "{line}");
            } else {
                tracing::info!(target: "noderoll::sandbox", "{line}");
            }
        }
        let slots = shared.cert_slots.lock().unwrap_or_else(|e| e.into_inner());
        for (slot, e) in slots.iter().zip(endorsed) {
            slot.set_endorsed(e);
        }
    }
}
