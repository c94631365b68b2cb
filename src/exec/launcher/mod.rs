//! The command-launcher contract. `launch` runs once per new node with the run's context in
//! the environment and prints, as its last stdout line, `{"node_id": "<64 hex>",
//! "rpc_address": "host:port"}` (at least one of the two); a non-zero exit is a failed launch.
//! `stop` runs with `NODEROLL_NODE_ID` and `NODEROLL_NODE_RPC_ADDRESS` once a node must go.
//!
//! Before anything is written, preflight asks [`CommandLauncher::preflight`] whether the
//! commands can run at all: valid `sh` syntax, the plan's directory readable, and the program
//! a command starts (its first word, see [`crate::shell_command::program_of`]) present and
//! executable ([`crate::exec::shell::startable`], which checks hooks and notifications too).
//!
//! Here the launcher itself; [`crate::shell_command`] reads shell words and finds what a
//! command starts and whether it can, `output` checks the launch command's answer.

mod output;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ccf::NodeAddr;
use crate::env_vars;
use crate::plan::Launched;
use crate::plan::snapshot::FreshSnapshot;
use crate::plan::spec::UpgradeSpec;

pub(crate) use output::parse_launch_output;

/// A launch or stop that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LaunchError {
    /// The command failed.
    #[error("{which} command `{command}` failed: {detail}")]
    Failed {
        /// `launch` or `stop`.
        which: &'static str,
        /// The command.
        command: String,
        /// Exit status and stderr excerpt.
        detail: String,
        /// It could not be run at all (not found, not executable): the plan's mistake,
        /// never a new node's failure.
        cannot_run: bool,
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
pub(crate) struct LaunchRequest {
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
    /// The fresh snapshot to start from (`[nodes] fresh_snapshot`), if the run made one.
    pub snapshot: Option<FreshSnapshot>,
}

/// `path` made absolute against noderoll's working directory (where the plan's relative paths
/// were already resolved against the plan's directory): a launch command that `cd`s elsewhere,
/// or hands the path to `docker -v`, still finds the file.
fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Runs the plan file's launch and stop commands.
#[derive(Debug, Clone)]
pub(crate) struct CommandLauncher {
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
    pub(crate) fn new(spec: &UpgradeSpec, plan_dir: &Path) -> Self {
        CommandLauncher {
            launch: spec.nodes.launch.clone(),
            stop: spec.nodes.stop.clone(),
            cwd: plan_dir.to_path_buf(),
            timeout: spec.nodes.launch_timeout,
            host_data: spec.target.host_data.clone(),
            ccf_version: spec.target.ccf_version.clone().unwrap_or_default(),
            package: None,
            platform: spec.target.platform.as_str(),
        }
    }

    async fn run(
        &self,
        which: &'static str,
        command: &str,
        env: &[(&str, String)],
    ) -> Result<String, LaunchError> {
        let failed = |detail: String, cannot_run: bool| LaunchError::Failed {
            which,
            command: command.to_string(),
            detail,
            cannot_run,
        };
        let ran = crate::exec::shell::run(command, &self.cwd, env, None, self.timeout)
            .await
            .map_err(|e| failed(e, false))?;
        if !ran.status.success() {
            let detail = ran.failure();
            return Err(failed(detail, ran.cannot_run()));
        }
        Ok(ran.stdout)
    }

    /// Pass a verified package to every launch as `NODEROLL_PACKAGE`.
    pub(crate) fn with_package(mut self, package: Option<PathBuf>) -> Self {
        self.package = package;
        self
    }

    /// Start one node.
    pub(crate) async fn launch(&self, req: &LaunchRequest) -> Result<Launched, LaunchError> {
        let mut env = vec![
            ("NODEROLL_RUN_ID", req.run_id.clone()),
            ("NODEROLL_NODE_INDEX", req.index.to_string()),
            ("NODEROLL_NODE_NAME", req.name.clone()),
            (
                "NODEROLL_TARGET_RPC_ADDRESS",
                req.target_rpc_address.to_string(),
            ),
            ("NODEROLL_SERVICE_CERT", absolute(&req.service_cert)),
            ("NODEROLL_HOST_DATA", self.host_data.clone()),
            ("NODEROLL_PLATFORM", self.platform.to_string()),
            ("NODEROLL_CCF_VERSION", self.ccf_version.clone()),
        ];
        if let Some(p) = &self.package {
            env.push(("NODEROLL_PACKAGE", absolute(p)));
        }
        if let Some(s) = &req.snapshot {
            env.push((env_vars::SNAPSHOT_SEQNO, s.seqno.to_string()));
            if let Some(name) = &s.name {
                env.push((env_vars::SNAPSHOT_NAME, name.clone()));
            }
        }
        let stdout = self.run("launch", &self.launch, &env).await?;
        parse_launch_output(&self.launch, &stdout)
    }

    /// Stop one node.
    pub(crate) async fn stop(
        &self,
        node_id: &str,
        address: Option<&NodeAddr>,
    ) -> Result<(), LaunchError> {
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
    pub(crate) async fn cancel(&self, name: &str, run_id: &str) -> Result<(), LaunchError> {
        let env = [
            ("NODEROLL_NODE_ID", String::new()),
            ("NODEROLL_NODE_RPC_ADDRESS", String::new()),
            ("NODEROLL_NODE_NAME", name.to_string()),
            ("NODEROLL_RUN_ID", run_id.to_string()),
        ];
        self.run("stop", &self.stop, &env).await.map(|_| ())
    }

    /// Preflight (nothing is run): whether the commands the remaining steps need, `launch`
    /// and/or `stop`, can be started ([`crate::exec::shell::startable`]). `Ok` says what was
    /// found; `Err` names each command and what is wrong with it.
    pub(crate) async fn preflight(&self, launch: bool, stop: bool) -> Result<String, String> {
        let wanted: Vec<(String, &str)> =
            [("launch", launch, &self.launch), ("stop", stop, &self.stop)]
                .into_iter()
                .filter(|(_, wanted, _)| *wanted)
                .map(|(which, _, command)| (which.to_string(), command.as_str()))
                .collect();
        if wanted.is_empty() {
            return Ok("no launch or stop left to run".into());
        }
        crate::exec::shell::startable(&self.cwd, &wanted).await
    }

    /// The directory the plan's commands run in (the plan file's).
    pub(crate) fn dir(&self) -> &Path {
        &self.cwd
    }
}
