//! The arguments of `noderoll sandbox` (and its subcommands) and `noderoll demo`: the
//! built-in simulated service.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `noderoll sandbox`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SandboxArgs {
    /// Act on a running sandbox instead of starting one.
    #[command(subcommand)]
    pub action: Option<SandboxAction>,
    /// How to start one.
    #[command(flatten)]
    pub serve: SandboxServeArgs,
}

/// Attestation platform of simulated builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PlatformArg {
    /// Virtual (host data = SHA-256 of the package).
    Virtual,
    /// AMD SEV-SNP (measurement + host data = SHA-256 of the security policy).
    Snp,
}

/// Starting a sandbox.
#[derive(Debug, Args)]
pub(crate) struct SandboxServeArgs {
    /// Directory for service_cert.pem, member identities, sandbox.json and a ready plan.
    #[arg(long, default_value = "noderoll-sandbox")]
    pub dir: PathBuf,
    /// Nodes at start (1–64).
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Members, all Active (1–32).
    #[arg(long, default_value_t = 1)]
    pub members: usize,
    /// Seed of the latency model (same seed, same delays).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Divide every simulated latency by this (2 = twice as fast).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Platform of the simulated builds.
    #[arg(long, value_enum, default_value = "virtual")]
    pub platform: PlatformArg,
    /// With --platform snp: nodes present UVM endorsements (Azure confidential containers) and
    /// are admitted by them, not by measurement.
    #[arg(long)]
    pub uvm: bool,
    /// The nodes at start started from a snapshot at this seqno (0: none): joiners with an
    /// older snapshot (or none) are refused with StartupSeqnoIsOld.
    #[arg(long, default_value_t = 0, value_name = "SEQNO")]
    pub startup_seqno: u64,
    /// Start as a recovered service whose node table keeps N Retired nodes from before the
    /// disaster recovery that never become removable (CCF issue #6604).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub stale_retired: usize,
}

/// Subcommands acting on a running sandbox (found through `DIR/sandbox.json`).
#[derive(Debug, Subcommand)]
pub(crate) enum SandboxAction {
    /// Launcher contract: start a node of the build with NODEROLL_HOST_DATA and print
    /// `{"node_id": ..., "rpc_address": ...}`.
    LaunchNode(LaunchNodeArgs),
    /// Launcher contract: stop the node NODEROLL_NODE_ID (or NODEROLL_NODE_RPC_ADDRESS).
    StopNode(StopNodeArgs),
    /// Inject a fault.
    Fault(FaultArgs),
    /// Print the invariant violations recorded so far (exit 3 if there are any).
    Check(SandboxDirArgs),
}

/// A running sandbox's directory.
#[derive(Debug, Args)]
pub(crate) struct SandboxDirArgs {
    /// The directory given to `noderoll sandbox --dir`.
    #[arg(long, default_value = "noderoll-sandbox")]
    pub dir: PathBuf,
}

/// `noderoll sandbox launch-node`.
#[derive(Debug, Args)]
pub(crate) struct LaunchNodeArgs {
    /// The running sandbox.
    #[command(flatten)]
    pub sandbox: SandboxDirArgs,
    /// Host data of the build to run (default: the sandbox's next build).
    #[arg(long, env = "NODEROLL_HOST_DATA")]
    pub host_data: Option<String>,
    /// Platform (default: the sandbox's).
    #[arg(long, env = "NODEROLL_PLATFORM", value_enum)]
    pub platform: Option<PlatformArg>,
    /// Version the node reports (default: that of the known build with this host data).
    #[arg(long)]
    pub ccf_version: Option<String>,
    /// SNP: the node presents a UVM endorsement with this SVN (the sandbox's DID and feed).
    #[arg(long, env = "NODEROLL_UVM_SVN")]
    pub uvm_svn: Option<u64>,
    /// The launch's name, carried in the node's node_data as `noderoll_name`.
    #[arg(long, env = "NODEROLL_NODE_NAME")]
    pub name: Option<String>,
    /// Start from this committed snapshot (downloaded as `GET /node/snapshot/{name}` would;
    /// default: none, so the node's startup seqno is 0).
    #[arg(long, env = "NODEROLL_SNAPSHOT_NAME")]
    pub snapshot_name: Option<String>,
    /// Start from a snapshot at this seqno (without --snapshot-name: one the operator copied).
    #[arg(long, env = "NODEROLL_SNAPSHOT_SEQNO")]
    pub snapshot_seqno: Option<u64>,
}

/// `noderoll sandbox stop-node`.
#[derive(Debug, Args)]
pub(crate) struct StopNodeArgs {
    /// The running sandbox.
    #[command(flatten)]
    pub sandbox: SandboxDirArgs,
    /// Node id.
    #[arg(long, env = "NODEROLL_NODE_ID")]
    pub node_id: Option<String>,
    /// Node RPC address (used when no id is given).
    #[arg(long, env = "NODEROLL_NODE_RPC_ADDRESS")]
    pub rpc_address: Option<String>,
    /// The launch's name (used when neither id nor address is given: a launch whose node was
    /// never reported); nothing to do if no node was launched under it.
    #[arg(long, env = "NODEROLL_NODE_NAME")]
    pub name: Option<String>,
}

/// Fault kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FaultKind {
    /// Crash --node.
    Kill,
    /// Cut --node off.
    Partition,
    /// Reconnect --node.
    Heal,
    /// Fail the next --count requests with 503.
    FailNext,
    /// Fail --fraction of requests with 503.
    FailFraction,
    /// Add --ms of latency to every request.
    Latency,
    /// The next launched node never joins.
    NeverJoinNext,
    /// The next launched node joins but never reports ready.
    NeverReadyNext,
    /// The next accepted proposal fails to apply (500).
    FailApplyNext,
    /// The primary writes no snapshots from now on (trigger_snapshot has no effect).
    NoSnapshots,
    /// No interface enables SnapshotRead: /node/snapshot answers a bodiless 404.
    SnapshotReadOff,
    /// Tear down the connections of the next --count requests.
    ResetNext,
    /// Renew the service certificate with the same key (the directory's file keeps the old).
    RenewServiceCert,
    /// Other members' recent proposals are --secs ahead (this signer's clock is behind).
    ClockSkew,
    /// Depose the primary now.
    ForceElection,
    /// Another member's add proposal is accepted (drops open proposals).
    InjectAddProposal,
    /// Multiply election time by --factor.
    SlowElections,
    /// Set --member-id Active (--active true) or not.
    MemberStatus,
}

/// `noderoll sandbox fault`.
#[derive(Debug, Args)]
pub(crate) struct FaultArgs {
    /// The running sandbox.
    #[command(flatten)]
    pub sandbox: SandboxDirArgs,
    /// What to inject.
    #[arg(value_enum)]
    pub kind: FaultKind,
    /// Node id or address (kill, partition, heal).
    #[arg(long)]
    pub node: Option<String>,
    /// Count (fail-next).
    #[arg(long, default_value_t = 1)]
    pub count: u32,
    /// Fraction 0–1 (fail-fraction).
    #[arg(long, default_value_t = 0.0)]
    pub fraction: f64,
    /// Milliseconds (latency).
    #[arg(long, default_value_t = 0)]
    pub ms: u64,
    /// Factor (slow-elections).
    #[arg(long, default_value_t = 1.0)]
    pub factor: f64,
    /// Seconds (clock-skew).
    #[arg(long, default_value_t = 600)]
    pub secs: u64,
    /// Member id (member-status).
    #[arg(long)]
    pub member_id: Option<String>,
    /// Active or not (member-status).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub active: bool,
}

/// `noderoll demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Nodes of the demo service.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Speed of the simulated service (2 = twice as fast).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Platform of the simulated builds.
    #[arg(long, value_enum, default_value = "virtual")]
    pub platform: PlatformArg,
    /// Keep the sandbox's files here (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}
