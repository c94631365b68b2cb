//! The files a user needs in the sandbox's directory: `sandbox.json` (what launch-node,
//! stop-node and users read) and the ready plan.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::builds::snp_policy;
use super::error::{SandboxError, io};
use super::world::{Build, Platform};
use crate::plan::spec::CodePlatform;

/// The simulated platform as the plan names it: the ready plan spells it as noderoll does.
impl From<Platform> for CodePlatform {
    fn from(p: Platform) -> Self {
        match p {
            Platform::Virtual => CodePlatform::Virtual,
            Platform::Snp => CodePlatform::Snp,
        }
    }
}

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

pub(crate) fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default()
}

pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<(), SandboxError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io(format!("cannot write {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io(format!("cannot write {}", path.display())))
}

/// The ready plan: upgrade this sandbox to its next build with the launcher commands of
/// `noderoll_command`, `max_parallel_launches` at a time.
pub(crate) fn ready_plan(
    info: &SandboxInfo,
    noderoll_command: &str,
    max_parallel_launches: usize,
    soak: &str,
) -> String {
    // Launcher commands run in the plan file's directory, which is the sandbox's.
    let dir = ".";
    let platform = CodePlatform::from(info.next_build.platform).as_str();
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
        cmd = noderoll_command.replace('\\', "\\\\").replace('"', "\\\""),
        dir = dir.replace('\\', "\\\\").replace('"', "\\\""),
        n = max_parallel_launches,
    )
}
