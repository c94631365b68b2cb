//! Reading the upgrade tables of a plan file. Strict: unknown keys are rejected with the
//! known ones listed, and every value is range-checked with the key named.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::Digest;

use super::{
    CodePlatform, FinalizeMode, Hooks, NodesSpec, Notify, OnFailure, Safety, Strategy, Target,
    UpgradeSpec,
};
use crate::plan::version::CcfVersion;
use crate::settings::{PlanFile, SettingsError};

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
    #[serde(default)]
    fresh_snapshot: Option<bool>,
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

/// The plan file being read: its tables, and errors that name it.
struct Reader<'a> {
    plan: &'a PlanFile,
}

impl Reader<'_> {
    fn invalid(&self, detail: String) -> SettingsError {
        SettingsError::Invalid {
            path: self.plan.path.clone(),
            detail,
        }
    }

    /// Table `[name]`, if present, read strictly (toml's error on one line).
    fn table<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, SettingsError> {
        let Some(t) = self.plan.raw.get(name).cloned() else {
            return Ok(None);
        };
        let one_line = |e: toml::de::Error| {
            e.to_string()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        t.try_into()
            .map(Some)
            .map_err(|e| self.invalid(format!("[{name}]: {}", one_line(e))))
    }

    /// A duration setting, `default` when absent.
    fn duration(
        &self,
        key: &str,
        v: Option<String>,
        default: Duration,
    ) -> Result<Duration, SettingsError> {
        match v {
            None => Ok(default),
            Some(s) => parse_duration(&s).map_err(|e| self.invalid(format!("{key}: {e}"))),
        }
    }

    /// `[target]`.
    fn target(&self) -> Result<Target, SettingsError> {
        let mut target: Target = self.table("target")?.ok_or_else(|| {
            self.invalid("missing [target] table (the code version to upgrade to)".into())
        })?;
        target.host_data = target.host_data.to_ascii_lowercase();
        if !is_hex(&target.host_data, 64) {
            return Err(self.invalid(format!(
                "[target] host_data {:?} must be a hex SHA-256 digest (64 characters)",
                target.host_data
            )));
        }
        if let Some(v) = &target.ccf_version {
            // A typo would switch the version guard off ("not compared"): refused instead.
            CcfVersion::parse_strict(v)
                .map_err(|e| self.invalid(format!("[target] ccf_version {e}")))?;
        }
        // CCF's constitution refuses a validity below one day (`checkBounds(..., 1, ...)` in
        // `transition_node_to_trusted`); its maximum is the service's, checked once it is seen.
        if target.node_cert_validity_days == Some(0) {
            return Err(self.invalid(
                "[target] node_cert_validity_days = 0: give at least 1 day, or leave it out to use the service's maximum (maximumNodeCertificateValidityDays of GET /gov/service/info)".into(),
            ));
        }
        match target.platform {
            CodePlatform::Snp => self.snp_target(&mut target)?,
            CodePlatform::Virtual => {
                if target.security_policy.is_some() || target.uvm_endorsement.is_some() {
                    return Err(self.invalid(
                        "[target] security_policy and uvm_endorsement are SNP settings".into(),
                    ));
                }
            }
        }
        Ok(target)
    }

    /// `[target]` on SNP: a measurement (or an endorsement), and a policy matching host data.
    fn snp_target(&self, target: &mut Target) -> Result<(), SettingsError> {
        let m = target.measurement.as_deref().map(str::to_ascii_lowercase);
        match m {
            Some(m) if is_hex(&m, 96) => target.measurement = Some(m),
            Some(m) => {
                return Err(self.invalid(format!(
                    "[target] measurement {m:?} must be 96 hex characters"
                )));
            }
            // Nodes admitted by UVM endorsement are not checked against the
            // measurement table (CCF `src/node/quote.cpp`,
            // `verify_enclave_measurement_against_store`): nothing to pin.
            None if target.uvm_endorsement.is_some() => {}
            None => {
                return Err(self.invalid(
                    "[target] platform = \"snp\" needs a measurement (or a uvm_endorsement, for nodes admitted by endorsement)".into(),
                ));
            }
        }
        if let Some(u) = &target.uvm_endorsement
            && u.svn.parse::<u64>().is_err()
        {
            return Err(self.invalid(format!(
                "[target] uvm_endorsement svn {:?} must be a whole number, as CCF compares it",
                u.svn
            )));
        }
        if let Some(policy) = &target.security_policy {
            let digest = hex::encode(sha2::Sha256::digest(policy.as_bytes()));
            if digest != target.host_data {
                return Err(self.invalid(format!(
                    "[target] the SHA-256 of security_policy is {digest}, not host_data {}",
                    target.host_data
                )));
            }
        }
        Ok(())
    }

    /// `[nodes]`, but its canary (checked after `[safety]`, as it always was).
    fn nodes(&self) -> Result<(NodesTable, NodesSpec), SettingsError> {
        let mut nodes: NodesTable = self.table("nodes")?.ok_or_else(|| {
            self.invalid("missing [nodes] table (launch and stop commands)".into())
        })?;
        let count = match nodes.count {
            None => None,
            Some(c) if (1..=64).contains(&c) => Some(c as usize),
            Some(c) => {
                return Err(
                    self.invalid(format!("[nodes] count = {c}: give between 1 and 64 nodes"))
                );
            }
        };
        let max_parallel = match nodes.max_parallel_launches {
            None => 3,
            Some(c) if (1..=64).contains(&c) => c as usize,
            Some(c) => {
                return Err(self.invalid(format!(
                    "[nodes] max_parallel_launches = {c}: give between 1 and 64"
                )));
            }
        };
        if nodes.launch.trim().is_empty() || nodes.stop.trim().is_empty() {
            return Err(self.invalid("[nodes] launch and stop must be commands".into()));
        }
        for (key, command) in [("launch", &nodes.launch), ("stop", &nodes.stop)] {
            if let Some(why) = crate::shell_command::malformed(command) {
                return Err(self.invalid(format!(
                    "[nodes] {key} = {command:?} is not a shell command: {why}"
                )));
            }
        }
        let launch_timeout = self.duration(
            "[nodes] launch_timeout",
            nodes.launch_timeout.take(),
            Duration::from_secs(600),
        )?;
        let spec = NodesSpec {
            count,
            launch: std::mem::take(&mut nodes.launch),
            stop: std::mem::take(&mut nodes.stop),
            max_parallel_launches: max_parallel,
            launch_timeout,
            strategy: nodes.strategy.unwrap_or_default(),
            canary: 0,
            fresh_snapshot: nodes.fresh_snapshot,
        };
        Ok((nodes, spec))
    }

    /// `[nodes] canary`: fewer than the new nodes.
    fn canary(&self, nodes: &NodesTable, count: Option<usize>) -> Result<usize, SettingsError> {
        match nodes.canary {
            None => Ok(0),
            Some(c) if (0..=64).contains(&c) && count.is_none_or(|n| (c as usize) < n) => {
                Ok(c as usize)
            }
            Some(c) => Err(self.invalid(format!(
                "[nodes] canary = {c}: give fewer canary nodes than new nodes"
            ))),
        }
    }

    /// `[safety]`.
    fn safety(&self) -> Result<Safety, SettingsError> {
        let safety: SafetyTable = self.table("safety")?.unwrap_or_default();
        let min_fault_tolerance = match safety.min_fault_tolerance {
            None => None,
            Some(f) if (0..=32).contains(&f) => Some(f as usize),
            Some(f) => {
                return Err(self.invalid(format!(
                    "[safety] min_fault_tolerance = {f} is out of range"
                )));
            }
        };
        let soak = self.duration("[safety] soak", safety.soak, Duration::from_secs(30))?;
        let step_timeout = self.duration(
            "[safety] step_timeout",
            safety.step_timeout,
            Duration::from_secs(600),
        )?;
        if step_timeout.is_zero() {
            return Err(self.invalid("[safety] step_timeout must be more than 0".into()));
        }
        Ok(Safety {
            min_fault_tolerance,
            soak,
            step_timeout,
            finalize: safety.finalize.unwrap_or_default(),
            on_failure: safety.on_failure.unwrap_or_default(),
        })
    }

    /// `[hooks]`, with its timeout.
    fn hooks(&self) -> Result<Hooks, SettingsError> {
        let mut hooks: Hooks = self.table("hooks")?.unwrap_or_default();
        hooks.timeout_parsed = self.duration(
            "[hooks] timeout",
            hooks.timeout.take(),
            Duration::from_secs(300),
        )?;
        Ok(hooks)
    }
}

impl UpgradeSpec {
    /// Read `[target]`, `[nodes]`, `[safety]` from a loaded plan file.
    pub fn from_plan(plan: &PlanFile) -> Result<UpgradeSpec, SettingsError> {
        let r = Reader { plan };
        // In this order, so the first problem reported stays the one it always was.
        let target = r.target()?;
        let (table, mut nodes) = r.nodes()?;
        let safety = r.safety()?;
        nodes.canary = r.canary(&table, nodes.count)?;
        let hooks = r.hooks()?;
        let notify: Option<Notify> = r.table("notify")?;
        Ok(UpgradeSpec {
            target,
            nodes,
            safety,
            hooks,
            notify,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

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
    fn node_cert_validity_days_is_a_positive_number_of_days() {
        let t = |v: &str| {
            plan(&format!(
                "[target]\nplatform = \"virtual\"\nhost_data = \"{}\"\nnode_cert_validity_days = {v}\n{NODES}",
                "ab".repeat(32)
            ))
        };
        assert_eq!(t("30").unwrap().target.node_cert_validity_days, Some(30));
        for bad in ["0", "-3", "\"30d\"", "1.5"] {
            let e = t(bad).unwrap_err().to_string();
            assert!(e.contains("node_cert_validity_days"), "{bad}: {e}");
        }
        assert!(t("0").unwrap_err().to_string().contains("at least 1 day"));
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
    fn fresh_snapshot_is_a_boolean_or_the_default_rule() {
        let t = format!(
            "[target]\nplatform = \"virtual\"\nhost_data = \"{}\"\n{NODES}",
            "ab".repeat(32)
        );
        assert_eq!(plan(&t).unwrap().nodes.fresh_snapshot, None);
        let s = plan(&format!("{t}fresh_snapshot = true\n")).unwrap();
        assert_eq!(s.nodes.fresh_snapshot, Some(true));
        let e = plan(&format!("{t}fresh_snapshot = \"yes\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("fresh_snapshot") && e.contains("boolean"), "{e}");
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
    fn a_ccf_version_that_is_not_a_release_tag_is_refused() {
        let t = format!(
            "[target]\nplatform = \"virtual\"\nhost_data = \"{}\"\n",
            "ab".repeat(32)
        );
        for v in ["banana", "7.0.2", "ccf-7.0"] {
            let e = plan(&format!("{t}ccf_version = \"{v}\"\n{NODES}"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!(
                    "[target] ccf_version \"{v}\" is not a CCF version"
                )) && e.contains("expected ccf-X.Y.Z, e.g. ccf-7.0.2"),
                "{e}"
            );
        }
    }
}
