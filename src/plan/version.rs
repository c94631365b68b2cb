//! The version guard: compare the target `ccf_version` with what the service runs. CCF
//! supports live upgrades between patches of one major version, and from N to N+1; so a
//! downgrade or a skipped major version is refused unless the operator says otherwise, and so
//! is a hop that breaks one of CCF's published upgrade-path rules ([`UPGRADE_PATH_RULES`]).

use std::cmp::Ordering;
use std::fmt;

/// A CCF release version, `ccf-MAJOR.MINOR.PATCH[-suffix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcfVersion {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
    /// Pre-release or build suffix (`rc1`, `dev3`), if any.
    pub suffix: Option<String>,
}

impl CcfVersion {
    /// Parse `ccf-7.0.2`, `7.0.2`, `ccf-6.0.0-rc1`.
    pub fn parse(s: &str) -> Option<CcfVersion> {
        let v = s.trim().strip_prefix("ccf-").unwrap_or(s.trim());
        let (core, suffix) = match v.split_once('-') {
            Some((c, rest)) => (c, Some(rest.to_string())),
            None => (v, None),
        };
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let (major, minor, patch) = (
            parts.next()??,
            parts.next()??,
            parts.next().unwrap_or(Some(0))?,
        );
        Some(CcfVersion {
            major,
            minor,
            patch,
            suffix,
        })
    }
}

/// The form [`CcfVersion::parse_strict`] accepts, for error messages.
pub const VERSION_FORM: &str =
    "ccf-X.Y.Z, e.g. ccf-7.0.2 (a pre-release: ccf-7.0.0-rc1, ccf-7.0.0-dev3)";

impl CcfVersion {
    /// Parse a version an operator or a channel writes (`[target] ccf_version`, a manifest's
    /// `ccf_version`): exactly one of CCF's release tags, `ccf-X.Y.Z`, or a pre-release
    /// `ccf-X.Y.Z-rcN` / `ccf-X.Y.Z-devN` (CCF's `infra/github.py`: `TAG_RELEASE_PREFIX =
    /// "ccf-"`, `-rc` and `-dev` suffixes; e.g. `ccf-6.0.0-rc0`, `ccf-5.0.0-dev17`). What
    /// nodes report is read with the lenient [`CcfVersion::parse`]. The error says what is
    /// wrong with `s` and the expected form.
    pub fn parse_strict(s: &str) -> Result<CcfVersion, String> {
        let bad = || format!("{s:?} is not a CCF version: expected {VERSION_FORM}");
        let number = |p: &str| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u64>().ok())
                .flatten()
        };
        let rest = s.strip_prefix("ccf-").ok_or_else(bad)?;
        let (core, suffix) = match rest.split_once('-') {
            Some((c, sfx)) => (c, Some(sfx)),
            None => (rest, None),
        };
        let suffix_ok = suffix.is_none_or(|sfx| {
            ["rc", "dev"]
                .iter()
                .any(|k| sfx.strip_prefix(k).and_then(number).is_some())
        });
        let parts: Vec<Option<u64>> = core.split('.').map(number).collect();
        match parts[..] {
            [Some(major), Some(minor), Some(patch)] if suffix_ok => Ok(CcfVersion {
                major,
                minor,
                patch,
                suffix: suffix.map(str::to_string),
            }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for CcfVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ccf-{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(s) = &self.suffix {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl PartialOrd for CcfVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CcfVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            // A release sorts after its pre-releases.
            .then_with(|| match (&self.suffix, &other.suffix) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }
}

/// A version without a suffix, written in the rules table.
const fn v(major: u64, minor: u64, patch: u64) -> (u64, u64, u64) {
    (major, minor, patch)
}

/// What one of CCF's upgrade-path rules demands of a move from major `from_major` to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demand {
    /// No node may skip a major version: from N only N+1 (live compatibility is N → N+1).
    NoSkippedMajor,
    /// Every node must run at least this `from_major` release before `from_major + 1` nodes
    /// join.
    RunAtLeast((u64, u64, u64)),
    /// While `from_major` nodes run, the `from_major + 1` release joining must be at least
    /// this one.
    JoinAtLeast((u64, u64, u64)),
}

/// One of CCF's published upgrade constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathRule {
    /// A short stable name (shown in refusals).
    pub id: &'static str,
    /// The major version moved from (`None`: any).
    pub from_major: Option<u64>,
    /// What the move demands.
    pub demand: Demand,
    /// Why, in one sentence (shown in refusals).
    pub why: &'static str,
    /// Where CCF says so.
    pub source: &'static str,
}

/// CCF's upgrade-path rules, each with its source. Downgrades are refused separately
/// ([`Verdict::Downgrade`]); everything here is escaped with `--allow-version-jump`.
pub const UPGRADE_PATH_RULES: &[PathRule] = &[
    PathRule {
        id: "no-skipped-major",
        from_major: None,
        demand: Demand::NoSkippedMajor,
        why: "live compatibility is N → N+1 only: the last patch of N runs with N+1.0.x in one service",
        source: "CCF doc/build_apps/release_policy.rst, \"Operations compatibility\"",
    },
    PathRule {
        id: "4.x-at-4.0.19-before-5.x",
        from_major: Some(4),
        demand: Demand::RunAtLeast(v(4, 0, 19)),
        why: "4.x nodes must be at 4.0.19 or later before 5.x nodes join",
        source: "unconfirmed: kept from noderoll's issue \"Know CCF's upgrade traps\"; CCF's \
                 doc/build_apps/migration_4_x_to_5_0.rst and release notes searched name no minimum",
    },
    PathRule {
        id: "5.x-to-6.0.2-or-later",
        from_major: Some(5),
        demand: Demand::JoinAtLeast(v(6, 0, 2)),
        why: "a mixed 5.x/6.0.0–6.0.1 service can fail with 'Failed to deserialise' and need a \
              disaster recovery (CCF #7002)",
        source: "CCF doc/build_apps/migration_5_x_to_6_0.rst, \"Version live compatibility\"; \
                 https://github.com/microsoft/CCF/issues/7002",
    },
    PathRule {
        id: "6.x-at-6.0.21-before-7.x",
        from_major: Some(6),
        demand: Demand::RunAtLeast(v(6, 0, 21)),
        why: "every node must run 6.0.21 or later before 7.x nodes join (7.x nodes must start \
              from a 6.0.21+ snapshot: ledger chunk sizes)",
        source: "CCF doc/build_apps/migration_6_x_to_7_0.rst, \"Snapshot Requirements for Upgrades\"",
    },
];

/// A rule of CCF's upgrade path that depends on the service's join policy, not on versions
/// alone. Not escaped by `--allow-version-jump`: CCF refuses the joins whatever the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinPolicyRule {
    /// A short stable name (shown in refusals).
    pub id: &'static str,
    /// Why, in one sentence.
    pub why: &'static str,
    /// Where CCF says so.
    pub source: &'static str,
}

/// SNP services coming from 5.x must have a minimum TCB version per CPU model.
pub const SNP_MINIMUM_TCB_RULE: JoinPolicyRule = JoinPolicyRule {
    id: "snp-minimum-tcb-version",
    why: "nodes.snp.tcb_versions is empty: a CCF 6.x/7.x primary refuses a joining SNP node \
          whose CPU model has no minimum TCB version (FailedInvalidCPUID; early 6.0.x skips \
          the check for attestation versions below 3, and a 5.x primary does not check, so \
          noderoll refuses conservatively). Services created or recovered on 6.x record the \
          starting node's CPU model and TCB; services coming from 5.x must add it",
    source: "CCF src/node/quote.cpp, verify_tcb_version_against_store (called by \
             AttestationProvider::verify_quote_against_store when a node joins); \
             src/node/rpc/node_frontend.h, create (trust_node_snp_tcb_version); \
             doc/build_apps/migration_5_x_to_6_0.rst, \"SNP TCB version\"; CCF #6924",
};

/// The proposal that gives an SNP service its minimum TCB version: the action its
/// constitution has (`set_snp_minimum_tcb_version_hex` from 6.0.9, else the deprecated
/// object form), or, without the constitution, the one the `target` version ships. A known
/// constitution with neither would reject the action in its `validate` step ("no such
/// action"): it must first be replaced, in a proposal of its own.
pub fn snp_tcb_fix(constitution: Option<&str>, target: Option<&CcfVersion>) -> String {
    let target_ships_hex = target.is_none_or(|t| *t >= at(v(6, 0, 9)));
    let (hex, replace_first) = match constitution {
        Some(c) if c.contains("\"set_snp_minimum_tcb_version_hex\"") => (true, false),
        Some(c) if c.contains("\"set_snp_minimum_tcb_version\"") => (false, false),
        Some(_) => (target_ships_hex, true),
        None => (target_ships_hex, false),
    };
    let action = if hex {
        "set_snp_minimum_tcb_version_hex {\"cpuid\": \"<8 lower-case hex, e.g. 00a00f11 for Milan>\", \"tcb_version\": \"<16 lower-case hex: the TCB version of your nodes' attestation, e.g. d315000000000004>\"}"
    } else {
        "set_snp_minimum_tcb_version {\"cpuid\": \"<8 lower-case hex, e.g. 00a00f11 for Milan>\", \"tcb_version\": {\"boot_loader\": n, \"tee\": n, \"snp\": n, \"microcode\": n}}"
    };
    if replace_first {
        format!(
            "set_constitution {{\"constitution\": \"<the target release's constitution, with its actions.js>\"}} (this service's constitution has no TCB action, so it would reject one; this proposal must pass first, on its own), then a proposal with {action}"
        )
    } else {
        action.into()
    }
}

/// [`SNP_MINIMUM_TCB_RULE`] for an SNP target: the refusal (naming the fix) when the
/// service's join policy has no minimum TCB version; None when it has one.
pub fn snp_minimum_tcb(
    tcb_versions: Option<&std::collections::BTreeMap<String, serde_json::Value>>,
    constitution: Option<&str>,
    target: Option<&CcfVersion>,
) -> Option<String> {
    if tcb_versions.is_some_and(|t| !t.is_empty()) {
        return None;
    }
    let r = SNP_MINIMUM_TCB_RULE;
    Some(format!(
        "{} [rule {}; source: {}]; first pass a proposal with {} for each CPU model your nodes run on",
        r.why,
        r.id,
        r.source,
        snp_tcb_fix(constitution, target)
    ))
}

fn at(t: (u64, u64, u64)) -> CcfVersion {
    CcfVersion {
        major: t.0,
        minor: t.1,
        patch: t.2,
        suffix: None,
    }
}

/// The lowest release of `major` a path may go through: what the rules into it and out of it
/// (towards `target`) demand.
fn floor_of(major: u64, target: &CcfVersion) -> Option<CcfVersion> {
    UPGRADE_PATH_RULES
        .iter()
        .filter_map(|r| match r.demand {
            Demand::JoinAtLeast(m) if r.from_major.map(|f| f + 1) == Some(major) => Some(at(m)),
            Demand::RunAtLeast(m) if r.from_major == Some(major) && target.major > major => {
                Some(at(m))
            }
            _ => None,
        })
        .max()
}

/// The way from `from` to `target` one hop at a time, each hop allowed by the rules: e.g.
/// `ccf-6.0.20 → ccf-6.0.21 (or later 6.0.x) → ccf-7.0.2`.
pub fn upgrade_path(from: &CcfVersion, target: &CcfVersion) -> Vec<String> {
    let mut path = vec![from.to_string()];
    // Catch up within `from`'s own major first.
    if let Some(f) = floor_of(from.major, target).filter(|f| f > from) {
        path.push(format!("{f} (or later {}.{}.x)", f.major, f.minor));
    }
    for major in from.major + 1..=target.major {
        let floor = floor_of(major, target);
        if major == target.major && floor.as_ref().is_none_or(|f| target >= f) {
            path.push(target.to_string());
        } else {
            match floor {
                Some(f) => path.push(format!("{f} (or later {}.{}.x)", f.major, f.minor)),
                None => path.push(format!("ccf-{major}.0.x")),
            }
        }
    }
    path
}

/// What the guard concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A forward upgrade within the supported range (or versions unknown).
    Allowed(String),
    /// The target is older than what runs.
    Downgrade(String),
    /// The target breaks one of [`UPGRADE_PATH_RULES`] (a skipped major version, or a hop CCF
    /// says must go through an intermediate release).
    MajorJump(Jump),
}

/// A move that breaks one of [`UPGRADE_PATH_RULES`], said both ways: `--allow-version-jump`
/// lets it through, and then it must not read as refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    /// The refusal: the move, the rule, its source and the supported path.
    pub refused: String,
    /// With `--allow-version-jump`: allowed, the rule it breaks and the supported path.
    pub allowed: String,
}

/// The first rule of [`UPGRADE_PATH_RULES`] the move from `oldest` (the laggard node) to
/// `target` breaks, and how.
pub fn broken_rule(
    oldest: &CcfVersion,
    target: &CcfVersion,
) -> Option<(&'static PathRule, String)> {
    UPGRADE_PATH_RULES.iter().find_map(|r| {
        let applies = r.from_major.is_none_or(|m| m == oldest.major);
        if !applies || target.major <= oldest.major {
            return None;
        }
        match r.demand {
            Demand::NoSkippedMajor if target.major > oldest.major + 1 => Some((
                r,
                format!("{oldest} → {target} skips a major version ({})", r.why),
            )),
            Demand::RunAtLeast(m) if *oldest < at(m) => Some((
                r,
                format!(
                    "{oldest} → {target} is refused: {}; upgrade to {}.{}.{}+ first",
                    r.why, m.0, m.1, m.2
                ),
            )),
            Demand::JoinAtLeast(m) if target.major == oldest.major + 1 && *target < at(m) => {
                Some((
                    r,
                    format!(
                        "{oldest} → {target} is refused: {}; upgrade to {}.{}.{} or later instead",
                        r.why, m.0, m.1, m.2
                    ),
                ))
            }
            _ => None,
        }
    })
}

/// Compare the target with the versions the service's nodes report: older than the newest is
/// a downgrade; from the oldest, the move must keep every rule of [`UPGRADE_PATH_RULES`].
pub fn check(target: Option<&str>, running: &[String]) -> Verdict {
    let Some(target) = target else {
        return Verdict::Allowed("no target ccf_version given".into());
    };
    let Some(t) = CcfVersion::parse(target) else {
        return Verdict::Allowed(format!(
            "target {target:?} is not a ccf-X.Y.Z version; not compared"
        ));
    };
    let parsed: Vec<CcfVersion> = running
        .iter()
        .filter_map(|v| CcfVersion::parse(v))
        .collect();
    let (Some(current), Some(oldest)) = (parsed.iter().max(), parsed.iter().min()) else {
        return Verdict::Allowed("no node reported a comparable version".into());
    };
    if t < *current {
        return Verdict::Downgrade(format!(
            "{t} is older than {current}, which the service runs"
        ));
    }
    match broken_rule(oldest, &t) {
        Some((rule, detail)) => {
            let path = upgrade_path(oldest, &t).join(" → ");
            let (id, source) = (rule.id, rule.source);
            Verdict::MajorJump(Jump {
                refused: format!("{detail} [rule {id}; source: {source}]; path: {path}"),
                allowed: format!(
                    "{oldest} → {t} is allowed by --allow-version-jump, against rule {id} ({}; source: {source}); the supported path: {path}",
                    rule.why
                ),
            })
        }
        None => Verdict::Allowed(format!("{current} → {t}")),
    }
}

#[cfg(test)]
mod tests;
