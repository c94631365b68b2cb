//! The command-launcher contract. `launch` runs once per new node with the run's context in
//! the environment and prints, as its last stdout line, `{"node_id": "<64 hex>",
//! "rpc_address": "host:port"}` (at least one of the two); a non-zero exit is a failed launch.
//! `stop` runs with `NODEROLL_NODE_ID` and `NODEROLL_NODE_RPC_ADDRESS` once a node must go.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ccf::NodeAddr;
use crate::ccf::types::is_hex_id;
use crate::plan::Launched;
use crate::plan::spec::{CodePlatform, UpgradeSpec};

/// A launch or stop that failed.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The command failed.
    #[error("{which} command `{command}` failed: {detail}")]
    Failed {
        /// `launch` or `stop`.
        which: &'static str,
        /// The command.
        command: String,
        /// Exit status and stderr excerpt.
        detail: String,
    },
    /// The command's answer is unusable.
    #[error(
        "launch command `{command}` printed an unusable answer: {detail}; its last stdout line must be \
             {{\"node_id\": \"<64 hex>\", \"rpc_address\": \"host:port\"}}"
    )]
    BadOutput {
        /// The command.
        command: String,
        /// Why.
        detail: String,
    },
}

/// What a launch is told.
#[derive(Debug, Clone)]
pub struct LaunchRequest {
    /// Run id.
    pub run_id: String,
    /// Index of the new node in this run.
    pub index: usize,
    /// A name for it.
    pub name: String,
    /// A current trusted node to join through.
    pub target_rpc_address: NodeAddr,
    /// The service certificate file.
    pub service_cert: PathBuf,
}

/// Runs the plan file's launch and stop commands.
#[derive(Debug, Clone)]
pub struct CommandLauncher {
    launch: String,
    stop: String,
    cwd: PathBuf,
    timeout: Duration,
    host_data: String,
    ccf_version: String,
    platform: &'static str,
    package: Option<PathBuf>,
}

impl CommandLauncher {
    /// From the plan; commands run through `sh -c` in the plan file's directory.
    pub fn new(spec: &UpgradeSpec, plan_dir: &Path) -> Self {
        CommandLauncher {
            launch: spec.nodes.launch.clone(),
            stop: spec.nodes.stop.clone(),
            cwd: plan_dir.to_path_buf(),
            timeout: spec.nodes.launch_timeout,
            host_data: spec.target.host_data.clone(),
            ccf_version: spec.target.ccf_version.clone().unwrap_or_default(),
            package: None,
            platform: match spec.target.platform {
                CodePlatform::Virtual => "virtual",
                CodePlatform::Snp => "snp",
            },
        }
    }

    async fn run(
        &self,
        which: &'static str,
        command: &str,
        env: &[(&str, String)],
    ) -> Result<String, LaunchError> {
        let failed = |detail: String| LaunchError::Failed {
            which,
            command: command.to_string(),
            detail,
        };
        let ran = super::shell::run(command, &self.cwd, env, None, self.timeout)
            .await
            .map_err(failed)?;
        if !ran.status.success() {
            return Err(failed(format!("{} ({})", ran.status, ran.stderr_tail)));
        }
        Ok(ran.stdout)
    }

    /// Pass a verified package to every launch as `NODEROLL_PACKAGE`.
    pub fn with_package(mut self, package: Option<PathBuf>) -> Self {
        self.package = package;
        self
    }

    /// Start one node.
    pub async fn launch(&self, req: &LaunchRequest) -> Result<Launched, LaunchError> {
        let mut env = vec![
            ("NODEROLL_RUN_ID", req.run_id.clone()),
            ("NODEROLL_NODE_INDEX", req.index.to_string()),
            ("NODEROLL_NODE_NAME", req.name.clone()),
            (
                "NODEROLL_TARGET_RPC_ADDRESS",
                req.target_rpc_address.to_string(),
            ),
            (
                "NODEROLL_SERVICE_CERT",
                req.service_cert.display().to_string(),
            ),
            ("NODEROLL_HOST_DATA", self.host_data.clone()),
            ("NODEROLL_PLATFORM", self.platform.to_string()),
            ("NODEROLL_CCF_VERSION", self.ccf_version.clone()),
        ];
        if let Some(p) = &self.package {
            env.push(("NODEROLL_PACKAGE", p.display().to_string()));
        }
        let stdout = self.run("launch", &self.launch, &env).await?;
        parse_launch_output(&self.launch, &stdout)
    }

    /// Stop one node.
    pub async fn stop(&self, node_id: &str, address: Option<&NodeAddr>) -> Result<(), LaunchError> {
        let env = [
            ("NODEROLL_NODE_ID", node_id.to_string()),
            (
                "NODEROLL_NODE_RPC_ADDRESS",
                address.map(ToString::to_string).unwrap_or_default(),
            ),
        ];
        self.run("stop", &self.stop, &env).await.map(|_| ())
    }

    /// Cancel a launch whose node was never reported (a run stopped while its launch command
    /// ran): the stop command with `NODEROLL_NODE_NAME` and `NODEROLL_RUN_ID`, no node id.
    pub async fn cancel(&self, name: &str, run_id: &str) -> Result<(), LaunchError> {
        let env = [
            ("NODEROLL_NODE_ID", String::new()),
            ("NODEROLL_NODE_RPC_ADDRESS", String::new()),
            ("NODEROLL_NODE_NAME", name.to_string()),
            ("NODEROLL_RUN_ID", run_id.to_string()),
        ];
        self.run("stop", &self.stop, &env).await.map(|_| ())
    }
}

/// Parse the launcher's last stdout line.
pub fn parse_launch_output(command: &str, stdout: &str) -> Result<Launched, LaunchError> {
    let bad = |detail: String| LaunchError::BadOutput {
        command: command.to_string(),
        detail,
    };
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| bad("nothing on stdout".into()))?;
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        node_id: Option<String>,
        #[serde(default)]
        rpc_address: Option<String>,
    }
    let a: Answer = serde_json::from_str(line.trim())
        .map_err(|e| bad(format!("last line is not JSON ({e})")))?;
    let node_id = a.node_id.map(|i| i.to_ascii_lowercase());
    if let Some(id) = &node_id
        && !is_hex_id(id)
    {
        return Err(bad(format!("node_id {id:?} is not 64 hex characters")));
    }
    let rpc_address = a
        .rpc_address
        .map(|s| {
            s.parse::<NodeAddr>()
                .map_err(|e| bad(format!("rpc_address: {e}")))
        })
        .transpose()?;
    if node_id.is_none() && rpc_address.is_none() {
        return Err(bad("neither node_id nor rpc_address".into()));
    }
    Ok(Launched {
        node_id,
        rpc_address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_output() {
        let id = "a".repeat(64);
        let l = parse_launch_output(
            "x",
            &format!(
                "starting...\n{{\"node_id\": \"{id}\", \"rpc_address\": \"10.0.0.9:8000\"}}\n\n"
            ),
        )
        .unwrap();
        assert_eq!(l.node_id.as_deref(), Some(id.as_str()));
        assert_eq!(l.rpc_address, Some(NodeAddr::new("10.0.0.9", 8000)));
        assert!(
            parse_launch_output("x", "{\"rpc_address\": \"h:1\"}")
                .unwrap()
                .node_id
                .is_none()
        );
        for bad in [
            "",
            "garbage",
            "{}",
            "{\"node_id\": \"xyz\"}",
            "{\"rpc_address\": \"http://h:1\"}",
        ] {
            assert!(parse_launch_output("x", bad).is_err(), "{bad:?}");
        }
    }
}
