//! The clap definition of the command line. No I/O here.

use std::path::PathBuf;

use clap::{Arg, ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::env_vars;
use crate::output::OutputFormat;

mod sandbox;

pub(crate) use sandbox::*;

/// Rolling code upgrades for Microsoft CCF services.
#[derive(Debug, Parser)]
#[command(name = "noderoll", version, about, after_long_help = crate::exit_codes::help_text())]
pub(crate) struct Cli {
    /// Output format: `human` tables or one `json` document.
    #[arg(long, global = true, value_enum, default_value = "human")]
    pub output: OutputFormat,
    /// Less output (errors only on stderr).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More diagnostics on stderr (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// `--supervised`, which `noderoll watch` runs its children with: stop at a safe point
    /// when stdin closes; signals are the supervisor's to handle. Only the parser knows the
    /// flag ([`Cli::parse_args`]), so completions and the man page never offer it.
    #[arg(skip)]
    pub supervised: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The hidden flag `noderoll watch` runs its children with.
const SUPERVISED: &str = "supervised";

impl Cli {
    /// The command line, parsed: [`Cli`]'s flags and `--supervised`.
    pub(crate) fn parse_args() -> Result<Cli, clap::Error> {
        let matches = parser().try_get_matches()?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        cli.supervised = matches.get_flag(SUPERVISED);
        Ok(cli)
    }
}

/// What parses the command line: [`Cli::command`] (what completions and the man page are
/// generated from) and the hidden `--supervised`.
pub(crate) fn parser() -> clap::Command {
    Cli::command().arg(
        Arg::new(SUPERVISED)
            .long(SUPERVISED)
            .global(true)
            .hide(true)
            .action(ArgAction::SetTrue)
            .help("Run under `noderoll watch`: stop at a safe point when stdin closes"),
    )
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show every node (status, primary, address, version, retirement), fault tolerance,
    /// registered code versions and open proposals. Read-only.
    Status(StatusArgs),
    /// Preview the upgrade a plan file asks for: each step, the nodes it touches, the node
    /// count and fault tolerance after it, and its gate. Changes nothing.
    Plan(PlanArgs),
    /// Perform the upgrade: a plan file (asks for confirmation unless --yes), or a plan saved
    /// by `plan --out` (refused if the service changed since).
    Apply(ApplyArgs),
    /// Remove the old code version once the rest of the upgrade is done: the point of no
    /// return, for plans with `[safety] finalize = "manual"`. Refused while other steps remain.
    Finalize(FinalizeArgs),
    /// Go back to the previous version: before any old node was retired, remove the new
    /// nodes; after, launch nodes of the previous build in their place. Then deregister the
    /// plan's target. Impossible once the upgrade was finalized.
    Rollback(RollbackArgs),
    /// Show this service's journal: runs, launched nodes, proposals, steps, outcomes.
    Journal(JournalArgs),
    /// Release channels: which release on a channel this service should run.
    Channel(ChannelArgs),
    /// Keep services on a release channel, unattended: resume any upgrade left unfinished,
    /// then every interval read the channel and upgrade each service that is behind (inside
    /// its [watch] windows, one upgrade per service, at most --max-concurrent at once), with
    /// each plan's own safety settings, rollback and notifications. SIGTERM or Ctrl-C stops
    /// at a safe point.
    Watch(WatchArgs),
    /// Show a proposal's actions and vote for it as each configured member.
    Vote(VoteArgs),
    /// The whole upgrade against a built-in sandbox, with live progress: no arguments needed.
    #[cfg(feature = "sandbox")]
    Demo(DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the man page noderoll(1) (roff), or write it and every command's page
    /// (noderoll-apply(1), …) into a directory.
    Man(ManArgs),
    /// Run the built-in simulated CCF service on 127.0.0.1 until Ctrl-C, or act on a running
    /// one (launch or stop a node, inject a fault, check invariants).
    #[cfg(feature = "sandbox")]
    Sandbox(SandboxArgs),
}

/// `--state-dir`, shared by every subcommand that keeps or reads per-service state. Each
/// subcommand says in its help what it keeps there (see [`state_dir_help`]).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct StateDirArgs {
    /// The state directory [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll].
    #[arg(id = "state_dir", long = "state-dir", value_name = "STATE_DIR", env = env_vars::STATE_DIR)]
    pub dir: Option<PathBuf>,
}

impl StateDirArgs {
    /// The directory given, else the default one.
    pub(crate) fn resolve(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(crate::journal::lock::default_state_dir)
    }
}

/// A subcommand's help for `--state-dir`: what it keeps there, then the default.
fn state_dir_help(what: &str) -> String {
    format!("{what} [default: $XDG_DATA_HOME/noderoll or ~/.local/share/noderoll]")
}

/// Where the service is: a plan file, or explicit flags (which win over the plan).
#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    /// Plan file whose `[service]` table names the service.
    #[arg(long, env = env_vars::PLAN)]
    pub plan: Option<PathBuf>,
    /// A node of the service, `host:port` or `https://host:port` (repeat or comma-separate
    /// for several; the first that answers is used).
    #[arg(long = "service-url", env = env_vars::SERVICE_URL, value_delimiter = ',')]
    pub service_url: Vec<String>,
    /// The service certificate (`service_cert.pem`): the only TLS root trusted.
    #[arg(long, env = env_vars::SERVICE_CERT)]
    pub service_cert: Option<PathBuf>,
}

/// `noderoll status`.
#[derive(Debug, Args)]
#[command(mut_arg("state_dir", |a| a.help(state_dir_help("The state directory, where the service's node addresses are kept after each look and tried when none of the given addresses answers"))))]
pub(crate) struct StatusArgs {
    /// Where the service is.
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Keep watching: redraw whenever the service changes (Ctrl-C to stop).
    #[arg(long)]
    pub watch: bool,
    /// With --watch: exit 0 once this holds (`upgraded` needs --plan with a [target]).
    #[arg(long, value_enum, requires = "watch")]
    pub until: Option<UntilCondition>,
    /// With --watch: how often to look (e.g. 2s, 500ms).
    #[arg(long, default_value = "2s", requires = "watch")]
    pub interval: String,
    /// With --watch: give up after this long (exit 3), e.g. 10m.
    #[arg(long, requires = "watch")]
    pub timeout: Option<String>,
    /// The state directory.
    #[command(flatten)]
    pub state_dir: StateDirArgs,
}

/// Conditions `status --watch --until` can wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum UntilCondition {
    /// Every node runs the plan's target, nothing is Pending or Retired, and only the target
    /// code version is registered (what a second `apply` would call "nothing to do").
    Upgraded,
}

/// `noderoll plan`.
#[derive(Debug, Args)]
#[command(mut_arg("state_dir", |a| a.help(state_dir_help("The state directory whose journal says what this machine's runs left unfinished"))))]
pub(crate) struct PlanArgs {
    /// The plan file.
    #[arg(long, env = env_vars::PLAN)]
    pub plan: PathBuf,
    /// Save the plan for `noderoll apply FILE`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit 0 when there is nothing to do, 2 when there are changes, 8 when only finalize is left.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// How far the version guard lets the target go.
    #[command(flatten)]
    pub versions: VersionArgs,
    /// Plan a target that failed before and was rolled back, as `apply --retry-failed-target`
    /// would apply it.
    #[arg(long)]
    pub retry_failed_target: bool,
    /// The state directory.
    #[command(flatten)]
    pub state_dir: StateDirArgs,
}

/// Version guard overrides.
#[derive(Debug, Args, Clone, Copy, Default)]
pub(crate) struct VersionArgs {
    /// Allow a target ccf_version older than what the service runs.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Allow a target that skips a major version (CCF supports N to N+1 only).
    #[arg(long)]
    pub allow_version_jump: bool,
}

/// `noderoll apply`.
#[derive(Debug, Args)]
#[command(mut_arg("state_dir", |a| a.help(state_dir_help("Where per-service state (the run lock) lives"))))]
pub(crate) struct ApplyArgs {
    /// A plan saved by `noderoll plan --out` (applied without asking).
    #[arg(conflicts_with = "plan")]
    pub saved: Option<PathBuf>,
    /// The plan file.
    #[arg(long, env = env_vars::PLAN)]
    pub plan: Option<PathBuf>,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How far the version guard lets the target go.
    #[command(flatten)]
    pub versions: VersionArgs,
    /// Continue an upgrade this machine has no journal of (started on another machine, or
    /// whose state directory is lost). Alone: every Pending node attesting the target is
    /// taken over, mixed builds and the configured members' open proposals are accepted as
    /// that upgrade's. With node ids (or unique prefixes of 8+ characters; repeat or
    /// comma-separate): only those Pending nodes are taken over.
    #[arg(long, value_name = "NODE_ID", value_delimiter = ',', num_args = 0..)]
    pub adopt: Option<Vec<String>>,
    /// Try a target that failed before and was rolled back (the journal remembers it).
    #[arg(long)]
    pub retry_failed_target: bool,
    /// The state directory.
    #[command(flatten)]
    pub state_dir: StateDirArgs,
}

impl ApplyArgs {
    /// An apply of a plan file with no other flag: what `finalize`, `rollback` and
    /// `channel apply` run under.
    pub(crate) fn for_plan(plan: PathBuf, yes: bool, state_dir: StateDirArgs) -> Self {
        ApplyArgs {
            saved: None,
            plan: Some(plan),
            yes,
            versions: VersionArgs::default(),
            adopt: None,
            retry_failed_target: false,
            state_dir,
        }
    }
}

/// `noderoll finalize`.
#[derive(Debug, Args)]
#[command(mut_arg("state_dir", |a| a.help(state_dir_help("Where per-service state (the run lock) lives"))))]
pub(crate) struct FinalizeArgs {
    /// The plan file.
    #[arg(long, env = env_vars::PLAN)]
    pub plan: PathBuf,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The state directory.
    #[command(flatten)]
    pub state_dir: StateDirArgs,
}

/// `noderoll rollback`.
#[derive(Debug, Args)]
#[command(mut_arg("state_dir", |a| a.help(state_dir_help("Where per-service state (the run lock) lives"))))]
pub(crate) struct RollbackArgs {
    /// The plan file whose target is given up.
    #[arg(long, env = env_vars::PLAN)]
    pub plan: PathBuf,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what the rollback would do and change nothing (exit 0: nothing to roll back,
    /// 2: steps to run).
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// The state directory.
    #[command(flatten)]
    pub state_dir: StateDirArgs,
}

/// `noderoll channel`.
#[derive(Debug, Args)]
pub(crate) struct ChannelArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ChannelAction,
}

/// `noderoll channel` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ChannelAction {
    /// Compare the channel's newest eligible release with what the service runs (version
    /// guard rules: no downgrade, no skipped major version). Exit 0: current; 2: an upgrade
    /// is available (its [target] table is printed), or one is in progress. Read-only.
    Check(ChannelCheckArgs),
    /// Upgrade the service to the channel's newest eligible release: its package (if the
    /// manifest names one) is downloaded and verified first and handed to the launcher as
    /// NODEROLL_PACKAGE; then the same run as `apply` with the release as [target]. An
    /// upgrade this machine left unfinished on the service is finished first (and alone).
    Apply(ChannelApplyArgs),
    /// Forget which releases failed on this service, so `check` and `apply` consider them
    /// again. Prints what was cleared.
    ClearFailed(ChannelClearArgs),
}

/// `noderoll channel clear-failed`.
#[derive(Debug, Args)]
pub(crate) struct ChannelClearArgs {
    /// The plan file naming the service.
    #[arg(long, env = env_vars::PLAN)]
    pub plan: PathBuf,
    /// The state directory.
    #[command(flatten)]
    pub state_dir: StateDirArgs,
}

/// A channel and the service it is compared with.
#[derive(Debug, Args)]
#[command(mut_arg("state_dir", |a| a.help(state_dir_help("Where per-service state (lock, journal with the releases that failed here, package cache) lives"))))]
pub(crate) struct ChannelSourceArgs {
    /// The plan file: service, members, launcher, safety (its [target] may be absent).
    #[arg(long, env = env_vars::PLAN)]
    pub plan: PathBuf,
    /// The channel manifest: an `https://` URL or a local file.
    #[arg(long)]
    pub channel: String,
    /// Trust only this CA (PEM) for `https://` channels and packages instead of the
    /// system's roots.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// The state directory.
    #[command(flatten)]
    pub state_dir: StateDirArgs,
}

/// `noderoll channel check`.
#[derive(Debug, Args)]
pub(crate) struct ChannelCheckArgs {
    /// The channel and the service.
    #[command(flatten)]
    pub source: ChannelSourceArgs,
}

/// `noderoll channel apply`.
#[derive(Debug, Args)]
pub(crate) struct ChannelApplyArgs {
    /// The channel and the service.
    #[command(flatten)]
    pub source: ChannelSourceArgs,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Consider releases that failed on this service before.
    #[arg(long)]
    pub retry_failed_target: bool,
}

/// `noderoll watch`.
#[derive(Debug, Args)]
#[command(mut_arg("state_dir", |a| a.help(state_dir_help("Where per-service state (locks, journals, package cache) lives"))))]
pub(crate) struct WatchArgs {
    /// A plan file naming a service (repeat for several services; each plan's [target] may
    /// be absent: the channel supplies it).
    #[arg(long = "plan", required = true)]
    pub plans: Vec<PathBuf>,
    /// The channel manifest: an `https://` URL or a local file (read again every interval).
    #[arg(long)]
    pub channel: String,
    /// Trust only this CA (PEM) for `https://` channels and packages instead of the
    /// system's roots.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Time between two looks at the channel (e.g. 10m, 1h, 30s).
    #[arg(long, default_value = "10m")]
    pub interval: String,
    /// Upgrades running at the same time, at most (each service has at most one).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent: u16,
    /// Look once (after resuming what was left unfinished), wait for the upgrades it
    /// started, then exit: for cron jobs. Exit code: the first failure's, else 0.
    #[arg(long)]
    pub once: bool,
    /// The state directory.
    #[command(flatten)]
    pub state_dir: StateDirArgs,
}

/// `noderoll vote`.
#[derive(Debug, Args)]
#[command(mut_arg("state_dir", |a| a.help(state_dir_help("The state directory: where this machine last saw the service's nodes, tried when none of the plan's addresses answers"))))]
pub(crate) struct VoteArgs {
    /// The proposal id, or a prefix of 8+ characters naming one open proposal.
    #[arg(required_unless_present = "follow")]
    pub proposal_id: Option<String>,
    /// The plan file: `[service]` and `[[members]]` are all a vote needs.
    #[arg(long, env = env_vars::PLAN)]
    pub plan: PathBuf,
    /// Vote without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Vote yes on each proposal of the upgrade in progress as it appears (only those whose
    /// every action is one an upgrade proposes), until the upgrade is over; Ctrl-C stops.
    #[arg(long, conflicts_with = "proposal_id")]
    pub follow: bool,
    /// With --follow: how long the service must show no upgrade in progress before it is
    /// over (default 30s).
    #[arg(long, requires = "follow")]
    pub settle: Option<String>,
    /// With --follow: give up after this long (exit 3; default 6h).
    #[arg(long, requires = "follow")]
    pub timeout: Option<String>,
    /// The state directory.
    #[command(flatten)]
    pub state_dir: StateDirArgs,
}

/// `noderoll completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `noderoll man`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write every page (noderoll.1, noderoll-apply.1, …) into this directory (created if
    /// missing) instead of printing noderoll.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `noderoll journal`.
#[derive(Debug, Args)]
pub(crate) struct JournalArgs {
    /// Where the service is (its certificate keys the journal).
    #[command(flatten)]
    pub service: ServiceArgs,
    /// The state directory.
    #[command(flatten)]
    pub state_dir: StateDirArgs,
}
