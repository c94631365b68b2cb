//! The sandbox runtime: one HTTPS listener per node on 127.0.0.1, a ticker that advances the
//! simulation, node launch/stop/kill/partition, and the files a user needs in `--dir`.
//!
//! This file starts and stops it; the node processes are `runtime`'s, the files `files`'s.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

use super::builds::{
    CURRENT_VERSION, NEXT_VERSION, SIMULATED_UVM_SVN, simulated_build, simulated_uvm,
};
use super::error::{SandboxError, io};
use super::files::{MemberEntry, NodeEntry, SandboxInfo, file_name, ready_plan, write_atomically};
use super::http::Shared;
use super::latency::LatencyModel;
use super::pki::{CertSlot, NodeIdentity, ServiceIdentity, write_member};
use super::runtime::{Core, serve_nodes};
use super::world::{Build, MemberRec, Platform, Violation, World, WriteStall};
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
    /// Days the service certificate is valid from the start. CCF's own initial certificate
    /// lasts `initial_service_certificate_validity_days` (1) until members renew it with
    /// `set_service_certificate_validity`; the default, 365, is a service renewed at the
    /// default maximum (`maximum_service_certificate_validity_days`). 1 models one never
    /// renewed.
    pub service_cert_days: u64,
    /// Days the genesis nodes' endorsed certificates are valid from the start (default 365:
    /// renewed at the default maximum with `set_all_nodes_certificate_validity`).
    pub genesis_node_cert_days: u64,
    /// SNP only: a service started on 5.x, before `nodes.snp.tcb_versions` existed, and
    /// never given a minimum TCB version: the table is empty (CCF 6.x fills it only when a
    /// service starts or recovers, `node_frontend.h` `create` calling
    /// `trust_node_snp_tcb_version`: the starting node's CPUID and reported TCB).
    pub snp_without_tcb_versions: bool,
    /// The nodes at start started from a snapshot at this seqno (0: none): a joiner with an
    /// older one is refused with `StartupSeqnoIsOld`.
    pub startup_seqno: u64,
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
            service_cert_days: 365,
            genesis_node_cert_days: 365,
            snp_without_tcb_versions: false,
            startup_seqno: 0,
        }
    }
}

/// Quote for `sh`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
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
        check_sizes(&opts)?;
        std::fs::create_dir_all(&opts.dir)
            .map_err(io(format!("cannot create {}", opts.dir.display())))?;
        let service = Arc::new(ServiceIdentity::generate(opts.service_cert_days.max(1))?);
        let service_cert_path = opts.dir.join("service_cert.pem");
        std::fs::write(&service_cert_path, &service.cert_pem)
            .map_err(io(format!("cannot write {}", service_cert_path.display())))?;
        let (members, member_entries) = write_members(&opts.dir, opts.members)?;
        check_variants(&opts)?;
        let (current, next) = builds(&opts);
        let (identities, listeners) =
            bind_nodes(opts.nodes, &service, opts.genesis_node_cert_days.max(1))?;
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
        let (shared, stale_ports) =
            new_shared(&opts, &service, &genesis, &identities, &current, members)?;
        let servers = serve_nodes(&shared, listeners, stale_ports)?;
        let gateway = start_gateway(&shared, &service, &service_cert_path)?;
        let core = Arc::new(Core::new(shared.clone(), service.clone(), servers));
        let (control, control_task) = super::control::start(core.clone()).await?;
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
            plan: "upgrade.toml".into(),
        };
        write_files(&opts, &info)?;
        let ticker = tokio::spawn(run_ticker(shared, service, core.clone()));
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
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker.abort();
        self.control.abort();
        self.gateway.shutdown();
        self.core.shutdown();
    }
}

fn check_sizes(opts: &SandboxOptions) -> Result<(), SandboxError> {
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
    Ok(())
}

fn check_variants(opts: &SandboxOptions) -> Result<(), SandboxError> {
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
    Ok(())
}

/// Write `n` member identities into `dir`: the members (all Active) and their files.
fn write_members(dir: &Path, n: usize) -> Result<(Vec<MemberRec>, Vec<MemberEntry>), SandboxError> {
    let mut members = Vec::new();
    let mut member_entries = Vec::new();
    for i in 0..n {
        let files = write_member(dir, i)?;
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
    Ok((members, member_entries))
}

/// The build the service runs and the one its ready plan upgrades to.
fn builds(opts: &SandboxOptions) -> (Build, Build) {
    let mut current = simulated_build(opts.platform, CURRENT_VERSION);
    let mut next = simulated_build(opts.platform, NEXT_VERSION);
    if opts.uvm {
        current.uvm = Some(simulated_uvm(SIMULATED_UVM_SVN));
        next.uvm = Some(simulated_uvm(SIMULATED_UVM_SVN));
    }
    (current, next)
}

/// An identity endorsed by `service` and a bound listener for each of `n` genesis nodes.
fn bind_nodes(
    n: usize,
    service: &ServiceIdentity,
    days: u64,
) -> Result<(Vec<NodeIdentity>, Vec<std::net::TcpListener>), SandboxError> {
    let mut identities = Vec::new();
    let mut listeners = Vec::new();
    for _ in 0..n {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").map_err(io("cannot bind 127.0.0.1:0"))?;
        identities.push(NodeIdentity::generate(service, days)?);
        listeners.push(listener);
    }
    Ok((identities, listeners))
}

/// The simulation at start and the certificates its nodes present; with the ports of the
/// nodes from before a recovery (which serve nothing).
fn new_shared(
    opts: &SandboxOptions,
    service: &ServiceIdentity,
    genesis: &[(String, u16)],
    identities: &[NodeIdentity],
    current: &Build,
    members: Vec<MemberRec>,
) -> Result<(Arc<Shared>, Vec<u16>), SandboxError> {
    let mut world = World::new(
        opts.latency,
        opts.seed,
        Instant::now(),
        genesis,
        current,
        members,
    );
    if opts.snp_without_tcb_versions {
        world.join_policy.snp_tcb_versions.clear();
    }
    world.start_from_snapshot(opts.startup_seqno);
    let mut endorsed_pems: Vec<String> =
        identities.iter().map(|i| i.endorsed_pem.clone()).collect();
    let mut cert_slots: Vec<Arc<CertSlot>> =
        identities.iter().map(|i| CertSlot::new(i, true)).collect();
    // A recovered service: the previous service's nodes, endorsed by its identity, retired
    // by the recovery and gone.
    let mut stale_ports = Vec::new();
    let previous_service_cert_pem = if opts.stale_retired > 0 {
        let previous = ServiceIdentity::generate(365)?;
        for _ in 0..opts.stale_retired {
            let identity = NodeIdentity::generate(&previous, 365)?;
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
    Ok((shared, stale_ports))
}

/// Write the ready plan, then `sandbox.json`.
fn write_files(opts: &SandboxOptions, info: &SandboxInfo) -> Result<(), SandboxError> {
    write_atomically(
        &opts.dir.join(&info.plan),
        &ready_plan(info, &opts.noderoll_command, opts.nodes, &opts.soak),
    )?;
    write_atomically(
        &opts.dir.join("sandbox.json"),
        &serde_json::to_string_pretty(info).expect("info serialises"),
    )
}

/// The gateway listener: a service-endorsed certificate of its own, forwarding to live nodes.
fn start_gateway(
    shared: &Arc<Shared>,
    service: &ServiceIdentity,
    service_cert: &Path,
) -> Result<(Handle<SocketAddr>, u16), SandboxError> {
    let identity = NodeIdentity::generate(service, 365)?;
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

/// Issue the endorsed certificates trust proposals asked for: (slot, valid from, days).
fn issue_endorsed(
    shared: &Shared,
    service: &ServiceIdentity,
    to_issue: Vec<(usize, SystemTime, u64)>,
) {
    for (slot, from, days) in to_issue {
        let cert_slot = shared
            .cert_slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(slot)
            .cloned();
        let Some(cert_slot) = cert_slot else { continue };
        match cert_slot.reissue_endorsed(service, from, days) {
            Ok(pem) => {
                if let Some(p) = shared
                    .endorsed_pems
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_mut(slot)
                {
                    *p = pem;
                }
            }
            Err(e) => {
                tracing::error!(target: "noderoll::sandbox", "cannot endorse slot {slot}: {e}")
            }
        }
    }
}

/// Advance the simulation every few milliseconds and present endorsed certificates as nodes
/// become trusted and caught up.
async fn run_ticker(shared: Arc<Shared>, service: Arc<ServiceIdentity>, core: Arc<Core>) {
    let mut interval = tokio::time::interval(Duration::from_millis(5));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        let (endorsed, log, to_issue) = {
            let mut w = shared.world();
            w.tick(Instant::now());
            let endorsed: Vec<bool> = w.nodes.iter().map(|n| n.endorsed()).collect();
            (endorsed, std::mem::take(&mut w.log), w.take_endorsements())
        };
        issue_endorsed(&shared, &service, to_issue);
        core.close_stopped();
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
