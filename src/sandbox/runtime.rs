//! The running service's node processes: launch, stop, crash and partition, each node behind
//! an HTTPS listener of its own on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

use super::error::{SandboxError, io};
use super::http::{ConnId, Shared, node_router};
use super::pki::{CertSlot, NodeIdentity, ServiceIdentity};
use super::world::Build;

/// A node's listener: its port, and its handle while it serves.
pub(crate) struct NodeServer {
    handle: Option<Handle<SocketAddr>>,
    port: u16,
}

/// What the control endpoint and the [`Sandbox`](super::Sandbox) handle share.
pub struct Core {
    /// The simulation and node certificates.
    pub shared: Arc<Shared>,
    service: Arc<ServiceIdentity>,
    servers: Mutex<Vec<NodeServer>>,
    /// Launch names stopped before their launch reached the sandbox: an orchestrator that
    /// cancels a launch by name makes sure it never starts.
    cancelled: Mutex<std::collections::BTreeSet<String>>,
}

pub(crate) fn serve(
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
        let make = app.into_make_service_with_connect_info::<ConnId>();
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

/// Serve each genesis node on its listener; the nodes of the service before a recovery keep
/// their ports but serve nothing.
pub(crate) fn serve_nodes(
    shared: &Arc<Shared>,
    listeners: Vec<std::net::TcpListener>,
    stale_ports: Vec<u16>,
) -> Result<Vec<NodeServer>, SandboxError> {
    let mut servers = Vec::new();
    for (slot, listener) in listeners.into_iter().enumerate() {
        let port = listener
            .local_addr()
            .map_err(io("cannot read a bound address"))?
            .port();
        let handle = serve(shared, slot, listener)?;
        servers.push(NodeServer {
            handle: Some(handle),
            port,
        });
    }
    for port in stale_ports {
        servers.push(NodeServer { handle: None, port });
    }
    Ok(servers)
}

impl Core {
    /// The launch/stop machinery of a service whose listeners are `servers`.
    pub(crate) fn new(
        shared: Arc<Shared>,
        service: Arc<ServiceIdentity>,
        servers: Vec<NodeServer>,
    ) -> Core {
        Core {
            cancelled: Mutex::default(),
            shared,
            service,
            servers: Mutex::new(servers),
        }
    }

    /// Stop every node's listener.
    pub(crate) fn shutdown(&self) {
        for s in self
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

    /// Close the listeners of nodes whose process stopped by itself (a joiner CCF shut down
    /// after a fatal answer to its join): they no longer answer anything.
    pub(crate) fn close_stopped(&self) {
        let running: Vec<bool> = self
            .shared
            .world()
            .nodes
            .iter()
            .map(|n| n.running)
            .collect();
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        for (s, running) in servers.iter_mut().zip(running) {
            if !running && let Some(h) = s.handle.take() {
                h.shutdown();
            }
        }
    }

    /// Launch a node running `build`; returns its node id and RPC address.
    pub fn launch(&self, build: Build) -> Result<(String, String), SandboxError> {
        self.launch_named(build, None, 0)
    }

    /// The startup seqno of a joiner given a snapshot by name and/or seqno
    /// (`NODEROLL_SNAPSHOT_NAME`, `NODEROLL_SNAPSHOT_SEQNO`; neither: 0, no snapshot). A name
    /// must be a committed snapshot of this sandbox, as a joiner can only load a file it has.
    pub fn startup_seqno(
        &self,
        name: Option<&str>,
        seqno: Option<u64>,
    ) -> Result<u64, SandboxError> {
        let Some(name) = name else {
            return Ok(seqno.unwrap_or(0));
        };
        let w = self.shared.world();
        let found = w.committed_snapshot(name).map(|s| s.seqno).ok_or_else(|| {
            SandboxError::Refused(format!(
                "no committed snapshot named {name} in this sandbox (GET /node/snapshot finds them)"
            ))
        })?;
        match seqno {
            Some(s) if s != found => Err(SandboxError::Refused(format!(
                "snapshot {name} is at seqno {found}, not {s}"
            ))),
            _ => Ok(found),
        }
    }

    /// [`Core::launch`], the node carrying its launch's name (`NODEROLL_NODE_NAME`) and
    /// starting from a snapshot at `startup_seqno` (0: none).
    pub fn launch_named(
        &self,
        build: Build,
        name: Option<String>,
        startup_seqno: u64,
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
        let identity = NodeIdentity::generate(&self.service, 365)?;
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
            w.nodes[slot].startup_seqno = startup_seqno;
            shared
                .endorsed_pems
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                // None until a trust proposal issues it (`nodes.endorsed_certificates`).
                .push(String::new());
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

    /// Stop a node; see [`Sandbox::stop`](crate::sandbox::Sandbox::stop).
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
