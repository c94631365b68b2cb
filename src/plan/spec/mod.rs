//! The upgrade part of a plan file: `[target]` (the new code version), `[nodes]` (how many,
//! and the launcher commands) and `[safety]` (fault-tolerance floor, soak, step timeout).
//! Parsed strictly: unknown keys are rejected with the known ones listed.
//!
//! The types are here; `parse` reads them from a plan file, `target` says what a target
//! needs registered, removed and matched.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::settings::{PlanFile, SettingsError};

mod parse;
mod target;

pub use parse::parse_duration;

/// The virtual platform's fixed measurement.
pub const VIRTUAL_MEASUREMENT: &str = "Insecure hard-coded virtual measurement v1";

/// Attestation platform of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodePlatform {
    /// Virtual: host data = SHA-256 of the package.
    Virtual,
    /// AMD SEV-SNP: measurement + host data (SHA-256 of the security policy).
    Snp,
}

impl CodePlatform {
    /// The platform as plan files, channel manifests, launcher environments and messages spell
    /// it (`virtual`, `snp`): the same spelling serde reads and writes.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CodePlatform::Virtual => "virtual",
            CodePlatform::Snp => "snp",
        }
    }
}

/// An SNP UVM endorsement to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UvmEndorsement {
    /// DID of the issuer.
    pub did: String,
    /// Feed.
    pub feed: String,
    /// Minimum SVN.
    pub svn: String,
}

/// `[target]`: the code version to upgrade to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Platform.
    pub platform: CodePlatform,
    /// Host data (lowercase hex SHA-256).
    pub host_data: String,
    /// What new nodes must report on `/node/version`.
    #[serde(default)]
    pub ccf_version: Option<String>,
    /// SNP launch measurement (96 hex). Required for SNP.
    #[serde(default)]
    pub measurement: Option<String>,
    /// SNP security policy text (its SHA-256 must be `host_data`); registered as metadata.
    #[serde(default)]
    pub security_policy: Option<String>,
    /// SNP UVM endorsement to register.
    #[serde(default)]
    pub uvm_endorsement: Option<UvmEndorsement>,
    /// `validity_period_days` of every `transition_node_to_trusted` (None: the service's
    /// `maximumNodeCertificateValidityDays`, as CCF's constitution defaults it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_cert_validity_days: Option<u64>,
}

/// A target as every JSON document, event and journal record names it: the fields that tell
/// one code version from another, whole (`describe` is the short form people read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRef {
    /// Platform.
    pub platform: CodePlatform,
    /// Host data (64 hex), whole.
    pub host_data: String,
    /// The plan's or release's `ccf_version`; null when the plan names none.
    pub ccf_version: Option<String>,
}

impl TargetRef {
    /// Short description, e.g. `virtual d6a0a114… (ccf-7.0.2)`.
    pub fn describe(&self) -> String {
        let v = self
            .ccf_version
            .as_deref()
            .map(|v| format!(" ({v})"))
            .unwrap_or_default();
        format!(
            "{} {}…{v}",
            self.platform.as_str(),
            crate::ccf::types::short_id(&self.host_data)
        )
    }

    /// The same code version (host data compared without regard to case).
    pub fn same(&self, other: &TargetRef) -> bool {
        self.platform == other.platform
            && self.host_data.eq_ignore_ascii_case(&other.host_data)
            && self.ccf_version == other.ccf_version
    }
}

/// `[hooks]`: commands run at named points of the upgrade.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    /// After new nodes are launched and Pending (gating).
    #[serde(default)]
    pub after_launch: Option<String>,
    /// After new nodes are trusted and serving (gating).
    #[serde(default)]
    pub after_trust: Option<String>,
    /// Before each old node is retired (gating).
    #[serde(default)]
    pub before_retire: Option<String>,
    /// After each old node is stopped and deleted (gating).
    #[serde(default)]
    pub after_retire: Option<String>,
    /// After the old code version is removed (informational).
    #[serde(default)]
    pub after_finalize: Option<String>,
    /// When the upgrade stops on a failure (informational).
    #[serde(default)]
    pub on_failure: Option<String>,
    /// Time a hook may take (default 5m).
    #[serde(default)]
    timeout: Option<String>,
    #[serde(skip)]
    /// Parsed `timeout`.
    pub timeout_parsed: Duration,
}

/// Event kinds a notification command can receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    /// A run began.
    Started,
    /// A step finished.
    StepFinished,
    /// The run stopped on a failure.
    Failed,
    /// The run finished (upgraded, or nothing to do).
    Finished,
    /// A new node failed and the upgrade was rolled back (`[safety] on_failure = "rollback"`).
    RolledBack,
}

/// `[notify]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Receives each selected event as JSON on stdin.
    pub command: String,
    /// Which events (default: all).
    #[serde(default = "all_kinds")]
    pub events: Vec<NotifyKind>,
}

fn all_kinds() -> Vec<NotifyKind> {
    vec![
        NotifyKind::Started,
        NotifyKind::StepFinished,
        NotifyKind::Failed,
        NotifyKind::Finished,
        NotifyKind::RolledBack,
    ]
}

/// How new nodes are added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Launch in parallel (up to `max_parallel_launches`) and trust all in one proposal.
    #[default]
    Parallel,
    /// One node at a time: launch, trust, then the next (as CCF's own test harness does).
    Sequential,
}

/// When the old code version is removed (the point of no return).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FinalizeMode {
    /// As the last step of the upgrade.
    #[default]
    Auto,
    /// Only by `noderoll finalize`: `apply` stops with the old version still registered.
    Manual,
}

/// What `apply` does when a new node fails to join, attest, catch up or stay healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Roll back to the previous version and record the target as failed.
    #[default]
    Rollback,
    /// Stop where it is (re-running `apply` continues).
    Stop,
}

/// `[nodes]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodesSpec {
    /// New nodes wanted (default: as many as the service has).
    pub count: Option<usize>,
    /// Launcher command.
    pub launch: String,
    /// Stop command.
    pub stop: String,
    /// Launches running at once.
    pub max_parallel_launches: usize,
    /// Time a launch command may take.
    pub launch_timeout: Duration,
    /// Parallel (default) or sequential addition of new nodes.
    pub strategy: Strategy,
    /// New nodes launched, trusted and soaked first, before the rest (0 = no canary).
    pub canary: usize,
    /// `[nodes] fresh_snapshot`: make a committed snapshot before the run's first launch and
    /// hand it to the launcher (`None`: the default rule, [`crate::plan::snapshot`]).
    pub fresh_snapshot: Option<bool>,
}

/// `[safety]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Safety {
    /// Never retire below this f (default: the f the service has at the start).
    pub min_fault_tolerance: Option<usize>,
    /// All new nodes healthy this long before the first retirement.
    pub soak: Duration,
    /// Deadline of every step.
    pub step_timeout: Duration,
    /// `[safety] finalize`.
    pub finalize: FinalizeMode,
    /// `[safety] on_failure`.
    pub on_failure: OnFailure,
}

/// Everything the upgrade needs from the plan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeSpec {
    /// `[target]`.
    pub target: Target,
    /// `[nodes]`.
    pub nodes: NodesSpec,
    /// `[safety]`.
    pub safety: Safety,
    /// `[hooks]`.
    pub hooks: Hooks,
    /// `[notify]`.
    pub notify: Option<Notify>,
}

impl UpgradeSpec {
    /// Load a plan file and its upgrade tables.
    pub fn load(path: &Path) -> Result<(PlanFile, UpgradeSpec), SettingsError> {
        let plan = PlanFile::load(path)?;
        let spec = UpgradeSpec::from_plan(&plan)?;
        Ok((plan, spec))
    }
}

#[cfg(test)]
mod tests {
    use super::CodePlatform;

    /// `as_str` is how plans and manifests are written; serde is how they are read back.
    #[test]
    fn as_str_is_the_serde_spelling() {
        for p in [CodePlatform::Virtual, CodePlatform::Snp] {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
    }
}
