//! The upgrade part of a plan file: `[target]` (the new code version), `[nodes]` (how many,
//! and the launcher commands) and `[safety]` (fault-tolerance floor, soak, step timeout).
//! Parsed strictly: unknown keys are rejected with the known ones listed.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Digest;

use crate::ccf::types::{Action, JoinPolicy, QuoteClaims};
use crate::settings::{PlanFile, SettingsError};

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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodesTable {
    #[serde(default)]
    count: Option<i64>,
    launch: String,
    stop: String,
    #[serde(default)]
    max_parallel_launches: Option<i64>,
    #[serde(default)]
    launch_timeout: Option<String>,
    #[serde(default)]
    strategy: Option<Strategy>,
    #[serde(default)]
    canary: Option<i64>,
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

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SafetyTable {
    #[serde(default)]
    min_fault_tolerance: Option<i64>,
    #[serde(default)]
    soak: Option<String>,
    #[serde(default)]
    step_timeout: Option<String>,
    #[serde(default)]
    finalize: Option<FinalizeMode>,
    #[serde(default)]
    on_failure: Option<OnFailure>,
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

/// Parse `30s`, `10m`, `1h`, `500ms`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "{text:?} is not a duration like 30s, 10m, 1h or 500ms"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?}: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        total += match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            "" => return Err(format!("{text:?} needs a unit (ms, s, m, h)")),
            other => {
                return Err(format!(
                    "{text:?}: unknown unit {other:?} (use ms, s, m, h)"
                ));
            }
        };
    }
    Ok(total)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl UpgradeSpec {
    /// Read `[target]`, `[nodes]`, `[safety]` from a loaded plan file.
    pub fn from_plan(plan: &PlanFile) -> Result<UpgradeSpec, SettingsError> {
        let invalid = |detail: String| SettingsError::Invalid {
            path: plan.path.clone(),
            detail,
        };
        let table = |name: &str| plan.raw.get(name).cloned();
        let one_line = |e: toml::de::Error| {
            e.to_string()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };

        let mut target: Target = table("target")
            .ok_or_else(|| {
                invalid("missing [target] table (the code version to upgrade to)".into())
            })?
            .try_into()
            .map_err(|e| invalid(format!("[target]: {}", one_line(e))))?;
        target.host_data = target.host_data.to_ascii_lowercase();
        if !is_hex(&target.host_data, 64) {
            return Err(invalid(format!(
                "[target] host_data {:?} must be a hex SHA-256 digest (64 characters)",
                target.host_data
            )));
        }
        match target.platform {
            CodePlatform::Snp => {
                let m = target.measurement.as_deref().map(str::to_ascii_lowercase);
                match m {
                    Some(m) if is_hex(&m, 96) => target.measurement = Some(m),
                    Some(m) => {
                        return Err(invalid(format!(
                            "[target] measurement {m:?} must be 96 hex characters"
                        )));
                    }
                    // Nodes admitted by UVM endorsement are not checked against the
                    // measurement table (CCF `src/node/quote.cpp`,
                    // `verify_enclave_measurement_against_store`): nothing to pin.
                    None if target.uvm_endorsement.is_some() => {}
                    None => {
                        return Err(invalid(
                            "[target] platform = \"snp\" needs a measurement (or a uvm_endorsement, for nodes admitted by endorsement)".into(),
                        ));
                    }
                }
                if let Some(u) = &target.uvm_endorsement
                    && u.svn.parse::<u64>().is_err()
                {
                    return Err(invalid(format!(
                        "[target] uvm_endorsement svn {:?} must be a whole number, as CCF compares it",
                        u.svn
                    )));
                }
                if let Some(policy) = &target.security_policy {
                    let digest = hex::encode(sha2::Sha256::digest(policy.as_bytes()));
                    if digest != target.host_data {
                        return Err(invalid(format!(
                            "[target] the SHA-256 of security_policy is {digest}, not host_data {}",
                            target.host_data
                        )));
                    }
                }
            }
            CodePlatform::Virtual => {
                if target.security_policy.is_some() || target.uvm_endorsement.is_some() {
                    return Err(invalid(
                        "[target] security_policy and uvm_endorsement are SNP settings".into(),
                    ));
                }
            }
        }

        let nodes: NodesTable = table("nodes")
            .ok_or_else(|| invalid("missing [nodes] table (launch and stop commands)".into()))?
            .try_into()
            .map_err(|e| invalid(format!("[nodes]: {}", one_line(e))))?;
        let count = match nodes.count {
            None => None,
            Some(c) if (1..=64).contains(&c) => Some(c as usize),
            Some(c) => {
                return Err(invalid(format!(
                    "[nodes] count = {c}: give between 1 and 64 nodes"
                )));
            }
        };
        let max_parallel = match nodes.max_parallel_launches {
            None => 3,
            Some(c) if (1..=64).contains(&c) => c as usize,
            Some(c) => {
                return Err(invalid(format!(
                    "[nodes] max_parallel_launches = {c}: give between 1 and 64"
                )));
            }
        };
        if nodes.launch.trim().is_empty() || nodes.stop.trim().is_empty() {
            return Err(invalid("[nodes] launch and stop must be commands".into()));
        }
        for (key, command) in [("launch", &nodes.launch), ("stop", &nodes.stop)] {
            if let Some(why) = crate::exec::launcher::malformed(command) {
                return Err(invalid(format!(
                    "[nodes] {key} = {command:?} is not a shell command: {why}"
                )));
            }
        }
        let duration =
            |key: &str, v: Option<String>, default: Duration| -> Result<Duration, SettingsError> {
                match v {
                    None => Ok(default),
                    Some(s) => parse_duration(&s).map_err(|e| invalid(format!("{key}: {e}"))),
                }
            };
        let launch_timeout = duration(
            "[nodes] launch_timeout",
            nodes.launch_timeout,
            Duration::from_secs(600),
        )?;

        let safety: SafetyTable = match table("safety") {
            None => SafetyTable::default(),
            Some(t) => t
                .try_into()
                .map_err(|e| invalid(format!("[safety]: {}", one_line(e))))?,
        };
        let min_fault_tolerance = match safety.min_fault_tolerance {
            None => None,
            Some(f) if (0..=32).contains(&f) => Some(f as usize),
            Some(f) => {
                return Err(invalid(format!(
                    "[safety] min_fault_tolerance = {f} is out of range"
                )));
            }
        };
        let soak = duration("[safety] soak", safety.soak, Duration::from_secs(30))?;
        let step_timeout = duration(
            "[safety] step_timeout",
            safety.step_timeout,
            Duration::from_secs(600),
        )?;
        if step_timeout.is_zero() {
            return Err(invalid("[safety] step_timeout must be more than 0".into()));
        }
        let canary = match nodes.canary {
            None => 0,
            Some(c) if (0..=64).contains(&c) && count.is_none_or(|n| (c as usize) < n) => {
                c as usize
            }
            Some(c) => {
                return Err(invalid(format!(
                    "[nodes] canary = {c}: give fewer canary nodes than new nodes"
                )));
            }
        };
        let mut hooks: Hooks = match table("hooks") {
            None => Hooks::default(),
            Some(t) => t
                .try_into()
                .map_err(|e| invalid(format!("[hooks]: {}", one_line(e))))?,
        };
        hooks.timeout_parsed = duration(
            "[hooks] timeout",
            hooks.timeout.take(),
            Duration::from_secs(300),
        )?;
        let notify: Option<Notify> = match table("notify") {
            None => None,
            Some(t) => Some(
                t.try_into()
                    .map_err(|e| invalid(format!("[notify]: {}", one_line(e))))?,
            ),
        };
        Ok(UpgradeSpec {
            target,
            nodes: NodesSpec {
                count,
                launch: nodes.launch,
                stop: nodes.stop,
                max_parallel_launches: max_parallel,
                launch_timeout,
                strategy: nodes.strategy.unwrap_or_default(),
                canary,
            },
            safety: Safety {
                min_fault_tolerance,
                soak,
                step_timeout,
                finalize: safety.finalize.unwrap_or_default(),
                on_failure: safety.on_failure.unwrap_or_default(),
            },
            hooks,
            notify,
        })
    }

    /// Load a plan file and its upgrade tables.
    pub fn load(path: &Path) -> Result<(PlanFile, UpgradeSpec), SettingsError> {
        let plan = PlanFile::load(path)?;
        let spec = UpgradeSpec::from_plan(&plan)?;
        Ok((plan, spec))
    }
}

impl Target {
    /// The measurement new nodes must report.
    pub fn measurement(&self) -> &str {
        self.measurement.as_deref().unwrap_or(VIRTUAL_MEASUREMENT)
    }

    /// Whether a node's attestation claims are this target's. A target admitted by UVM
    /// endorsement with no measurement named is identified by its host data alone.
    pub fn matches(&self, claims: &QuoteClaims) -> bool {
        claims.host_data.eq_ignore_ascii_case(&self.host_data)
            && match (self.platform, &self.measurement) {
                (CodePlatform::Virtual, _) | (CodePlatform::Snp, None) => true,
                (CodePlatform::Snp, Some(m)) => claims.measurement.eq_ignore_ascii_case(m),
            }
    }

    /// Whether nodes of this target are admitted by UVM endorsement rather than measurement.
    fn by_endorsement(&self) -> bool {
        self.platform == CodePlatform::Snp && self.uvm_endorsement.is_some()
    }

    /// The "add" actions still needed to register this code version (empty: registered).
    pub fn register_actions(&self, policy: &JoinPolicy) -> Vec<Action> {
        let mut out = Vec::new();
        match self.platform {
            CodePlatform::Virtual => {
                let v = policy.virtual_.clone().unwrap_or_default();
                if !v.measurements.iter().any(|m| m == VIRTUAL_MEASUREMENT) {
                    out.push(Action::new(
                        "add_virtual_measurement",
                        json!({ "measurement": VIRTUAL_MEASUREMENT }),
                    ));
                }
                if !v
                    .host_data
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&self.host_data))
                {
                    // One version of CCF's virtual_attestation_actions.js checks
                    // `checkType(args.metadata, "string", "metadata")`, the other ignores it:
                    // an empty string satisfies both.
                    out.push(Action::new(
                        "add_virtual_host_data",
                        json!({ "host_data": self.host_data, "metadata": "" }),
                    ));
                }
            }
            CodePlatform::Snp => {
                let s = policy.snp.clone().unwrap_or_default();
                if let Some(m) = &self.measurement
                    && !s.measurements.iter().any(|r| r.eq_ignore_ascii_case(m))
                {
                    out.push(Action::new(
                        "add_snp_measurement",
                        json!({ "measurement": m }),
                    ));
                }
                if !s
                    .host_data
                    .keys()
                    .any(|h| h.eq_ignore_ascii_case(&self.host_data))
                {
                    out.push(Action::new(
                        "add_snp_host_data",
                        json!({ "host_data": self.host_data, "security_policy": self.security_policy.clone().unwrap_or_default() }),
                    ));
                }
                // Registered, or registered with a lower minimum svn than the target's:
                // (re)setting it raises the minimum (CCF admits svn ≥ the registered one).
                if let Some(u) = &self.uvm_endorsement {
                    let registered = s
                        .uvm_endorsements
                        .get(&u.did)
                        .and_then(|f| f.get(&u.feed))
                        .map(|e| match e.get("svn") {
                            Some(serde_json::Value::String(v)) => v.clone(),
                            Some(v) => v.to_string(),
                            None => String::new(),
                        });
                    let lower = |r: &str| match (r.parse::<u64>(), u.svn.parse::<u64>()) {
                        (Ok(r), Ok(t)) => r < t,
                        _ => false,
                    };
                    if registered.as_deref().is_none_or(lower) {
                        out.push(Action::new(
                            "add_snp_uvm_endorsement",
                            json!({ "did": u.did, "feed": u.feed, "svn": u.svn }),
                        ));
                    }
                }
            }
        }
        out
    }

    /// The "remove" actions that leave only this code version registered (finalize).
    pub fn finalize_actions(&self, policy: &JoinPolicy) -> Vec<Action> {
        let mut out = Vec::new();
        match self.platform {
            CodePlatform::Virtual => {
                for h in policy.virtual_.iter().flat_map(|v| &v.host_data) {
                    if !h.eq_ignore_ascii_case(&self.host_data) {
                        out.push(Action::new(
                            "remove_virtual_host_data",
                            json!({ "host_data": h }),
                        ));
                    }
                }
            }
            CodePlatform::Snp => {
                if let Some(s) = &policy.snp {
                    for h in s
                        .host_data
                        .keys()
                        .filter(|h| !h.eq_ignore_ascii_case(&self.host_data))
                    {
                        out.push(Action::new(
                            "remove_snp_host_data",
                            json!({ "host_data": h }),
                        ));
                    }
                    // A target admitted by endorsement pins no measurement: the table is
                    // not consulted for its nodes, and others' entries are not ours to drop.
                    if !self.by_endorsement() {
                        for m in s
                            .measurements
                            .iter()
                            .filter(|m| !m.eq_ignore_ascii_case(self.measurement()))
                        {
                            out.push(Action::new(
                                "remove_snp_measurement",
                                json!({ "measurement": m }),
                            ));
                        }
                    }
                    // UVM endorsements are never removed: one the plan did not name may be
                    // what admits every future joiner (Azure confidential containers), and
                    // removing it locks them out ("UVM endorsements are not authorised").
                }
            }
        }
        out
    }

    /// What identifies this code version across runs (journal's failed targets).
    pub fn key(&self) -> String {
        let platform = match self.platform {
            CodePlatform::Virtual => "virtual",
            CodePlatform::Snp => "snp",
        };
        match self.platform {
            CodePlatform::Virtual => format!("{platform}:{}", self.host_data.to_ascii_lowercase()),
            CodePlatform::Snp => format!(
                "{platform}:{}:{}",
                self.host_data.to_ascii_lowercase(),
                self.measurement().to_ascii_lowercase()
            ),
        }
    }

    /// The "remove" actions that take back what registering this code version added, keeping
    /// whatever `keep` (the version rolled back to) needs: a rollback's last step.
    pub fn deregister_actions(&self, policy: &JoinPolicy, keep: &Target) -> Vec<Action> {
        let mut out = Vec::new();
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match self.platform {
            CodePlatform::Virtual => {
                let registered = policy.virtual_.iter().flat_map(|v| &v.host_data);
                for h in registered.filter(|h| same(h, &self.host_data)) {
                    if !same(h, &keep.host_data) {
                        out.push(Action::new(
                            "remove_virtual_host_data",
                            json!({ "host_data": h }),
                        ));
                    }
                }
            }
            CodePlatform::Snp => {
                if let Some(s) = &policy.snp {
                    for h in s.host_data.keys().filter(|h| same(h, &self.host_data)) {
                        if !same(h, &keep.host_data) {
                            out.push(Action::new(
                                "remove_snp_host_data",
                                json!({ "host_data": h }),
                            ));
                        }
                    }
                    for m in s
                        .measurements
                        .iter()
                        .filter(|m| same(m, self.measurement()))
                    {
                        if !same(m, keep.measurement()) {
                            out.push(Action::new(
                                "remove_snp_measurement",
                                json!({ "measurement": m }),
                            ));
                        }
                    }
                    if let Some(u) = &self.uvm_endorsement
                        && s.uvm_endorsements
                            .get(&u.did)
                            .is_some_and(|f| f.contains_key(&u.feed))
                        && keep
                            .uvm_endorsement
                            .as_ref()
                            .is_none_or(|k| k.did != u.did || k.feed != u.feed)
                    {
                        out.push(Action::new(
                            "remove_snp_uvm_endorsement",
                            json!({ "did": u.did, "feed": u.feed }),
                        ));
                    }
                }
            }
        }
        out
    }

    /// Short description, e.g. `virtual d6a0a114… (ccf-7.0.2)`.
    pub fn describe(&self) -> String {
        let platform = match self.platform {
            CodePlatform::Virtual => "virtual",
            CodePlatform::Snp => "snp",
        };
        let v = self
            .ccf_version
            .as_deref()
            .map(|v| format!(" ({v})"))
            .unwrap_or_default();
        format!("{platform} {}…{v}", &self.host_data[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Result<UpgradeSpec, SettingsError> {
        let base = "[service]\nurl = \"a:1\"\nservice_cert = \"s\"\n";
        let p = PlanFile::parse(&format!("{base}{text}"), Path::new("/x/p.toml"))?;
        UpgradeSpec::from_plan(&p)
    }

    const NODES: &str = "[nodes]\nlaunch = \"l\"\nstop = \"s\"\n";

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn a_full_plan_parses_with_defaults() {
        let s = plan(&format!("[target]\nplatform = \"virtual\"\nhost_data = \"{}\"\nccf_version = \"ccf-7.0.2\"\n{NODES}", "AB".repeat(32))).unwrap();
        assert_eq!(s.target.host_data, "ab".repeat(32));
        assert_eq!(s.nodes.max_parallel_launches, 3);
        assert_eq!(s.safety.soak, Duration::from_secs(30));
        assert_eq!(s.safety.step_timeout, Duration::from_secs(600));
        assert_eq!(s.safety.finalize, FinalizeMode::Auto);
        assert_eq!(s.nodes.count, None);
    }

    #[test]
    fn finalize_mode_is_auto_or_manual() {
        let t = format!(
            "[target]\nplatform = \"virtual\"\nhost_data = \"{}\"\n{NODES}",
            "ab".repeat(32)
        );
        let s = plan(&format!("{t}[safety]\nfinalize = \"manual\"\n")).unwrap();
        assert_eq!(s.safety.finalize, FinalizeMode::Manual);
        let e = plan(&format!("{t}[safety]\nfinalize = \"later\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[safety]") && e.contains("manual"), "{e}");
    }

    #[test]
    fn on_failure_is_rollback_unless_stop() {
        let t = format!(
            "[target]\nplatform = \"virtual\"\nhost_data = \"{}\"\n{NODES}",
            "ab".repeat(32)
        );
        assert_eq!(plan(&t).unwrap().safety.on_failure, OnFailure::Rollback);
        let s = plan(&format!("{t}[safety]\non_failure = \"stop\"\n")).unwrap();
        assert_eq!(s.safety.on_failure, OnFailure::Stop);
        let e = plan(&format!("{t}[safety]\non_failure = \"retry\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("rollback") && e.contains("stop"), "{e}");
    }

    #[test]
    fn bad_plans_are_named_clearly() {
        let t = format!(
            "[target]\nplatform = \"virtual\"\nhost_data = \"{}\"\n",
            "ab".repeat(32)
        );
        let e = plan(&format!(
            "{t}[nodes]\ncount = 0\nlaunch = \"l\"\nstop = \"s\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("count = 0"), "{e}");
        let e = plan(&format!(
            "{t}[nodes]\ncount = 1000\nlaunch = \"l\"\nstop = \"s\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("1000"), "{e}");
        for (nodes, words) in [
            (
                "launch = \"  \"\nstop = \"s\"",
                &["launch and stop must be commands"][..],
            ),
            (
                "launch = \"./l.sh 'x\"\nstop = \"s\"",
                &["[nodes] launch", "./l.sh 'x", "' quote is never closed"][..],
            ),
            (
                "launch = \"l\"\nstop = \"./s.sh \\\"$ID\"",
                &["[nodes] stop", "\" quote is never closed"][..],
            ),
        ] {
            let e = plan(&format!("{t}[nodes]\n{nodes}\n"))
                .unwrap_err()
                .to_string();
            for w in words {
                assert!(e.contains(w), "{nodes}: no {w:?} in {e}");
            }
        }
        let e = plan(&format!("{t}{NODES}[safety]\nsoak = \"thirty\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[safety] soak"), "{e}");
        let e = plan(&format!("{t}{NODES}[safety]\nsoke = \"3s\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("soke") && e.contains("min_fault_tolerance"),
            "{e}"
        );
        let e = plan(&format!(
            "[target]\nplatform = \"sgx\"\nhost_data = \"{}\"\n{NODES}",
            "ab".repeat(32)
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("[target]"), "{e}");
        let e = plan(&format!(
            "[target]\nplatform = \"snp\"\nhost_data = \"{}\"\n{NODES}",
            "ab".repeat(32)
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("measurement"), "{e}");
        let e = plan(&format!(
            "[target]\nplatform = \"virtual\"\nhost_data = \"xyz\"\n{NODES}"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("host_data"), "{e}");
        let e = plan(&t).unwrap_err().to_string();
        assert!(e.contains("[nodes]"), "{e}");
    }

    #[test]
    fn register_and_finalize_actions() {
        let t = Target {
            platform: CodePlatform::Virtual,
            host_data: "bb".repeat(32),
            ccf_version: None,
            measurement: None,
            security_policy: None,
            uvm_endorsement: None,
        };
        let mut jp = JoinPolicy {
            virtual_: Some(crate::ccf::types::VirtualPolicy {
                measurements: vec![VIRTUAL_MEASUREMENT.into()],
                host_data: vec!["aa".repeat(32)],
            }),
            ..Default::default()
        };
        let reg = t.register_actions(&jp);
        assert_eq!(reg.len(), 1);
        assert_eq!(reg[0].name, "add_virtual_host_data");
        jp.virtual_
            .as_mut()
            .unwrap()
            .host_data
            .push("bb".repeat(32));
        assert!(t.register_actions(&jp).is_empty());
        let fin = t.finalize_actions(&jp);
        assert_eq!(
            fin,
            vec![Action::new(
                "remove_virtual_host_data",
                json!({"host_data": "aa".repeat(32)})
            )]
        );
    }

    fn snp_target(uvm_svn: &str) -> Target {
        Target {
            platform: CodePlatform::Snp,
            host_data: "bb".repeat(32),
            ccf_version: None,
            measurement: None,
            security_policy: None,
            uvm_endorsement: Some(UvmEndorsement {
                did: "did:x509:acme".into(),
                feed: "ContainerPlat-AMD-UVM".into(),
                svn: uvm_svn.into(),
            }),
        }
    }

    fn snp_policy(svn: &str, others: &[(&str, &str)]) -> JoinPolicy {
        let mut uvm: std::collections::BTreeMap<_, std::collections::BTreeMap<_, _>> =
            Default::default();
        uvm.entry("did:x509:acme".to_string())
            .or_default()
            .insert("ContainerPlat-AMD-UVM".to_string(), json!({ "svn": svn }));
        for (did, feed) in others {
            uvm.entry(did.to_string())
                .or_default()
                .insert(feed.to_string(), json!({ "svn": "1" }));
        }
        JoinPolicy {
            snp: Some(crate::ccf::types::SnpPolicy {
                measurements: vec!["cd".repeat(48)],
                host_data: [("aa".repeat(32), String::new())].into(),
                uvm_endorsements: uvm,
                tcb_versions: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn nodes_admitted_by_uvm_endorsement_pin_no_measurement() {
        let t = snp_target("101");
        let jp = snp_policy("101", &[]);
        let names: Vec<String> = t
            .register_actions(&jp)
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["add_snp_host_data"], "no measurement added");
        let claims = QuoteClaims {
            measurement: "ef".repeat(48),
            host_data: "bb".repeat(32),
            report_data: String::new(),
        };
        assert!(t.matches(&claims), "any measurement: CCF does not check it");
        let fin: Vec<String> = t
            .finalize_actions(&jp)
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(
            fin,
            ["remove_snp_host_data"],
            "measurements and endorsements stay"
        );
    }

    #[test]
    fn a_higher_target_svn_raises_the_registered_minimum() {
        let t = snp_target("102");
        let reg = t.register_actions(&snp_policy("101", &[]));
        assert!(
            reg.iter()
                .any(|a| a.name == "add_snp_uvm_endorsement" && a.args["svn"] == "102"),
            "{reg:?}"
        );
        // Equal or higher already registered: nothing to raise.
        let reg = snp_target("101").register_actions(&snp_policy("101", &[]));
        assert!(!reg.iter().any(|a| a.name == "add_snp_uvm_endorsement"));
        let reg = snp_target("100").register_actions(&snp_policy("101", &[]));
        assert!(!reg.iter().any(|a| a.name == "add_snp_uvm_endorsement"));
    }

    #[test]
    fn finalize_never_removes_an_endorsement_the_plan_did_not_name() {
        let t = snp_target("101");
        let jp = snp_policy("101", &[("did:x509:other", "Other-Feed")]);
        assert!(
            !t.finalize_actions(&jp)
                .iter()
                .any(|a| a.name == "remove_snp_uvm_endorsement")
        );
    }

    #[test]
    fn add_virtual_host_data_carries_empty_metadata() {
        let t = crate::plan::fixtures::spec().target;
        let reg = t.register_actions(&JoinPolicy::default());
        let add = reg
            .iter()
            .find(|a| a.name == "add_virtual_host_data")
            .unwrap();
        assert_eq!(add.args["metadata"], "");
    }
}
