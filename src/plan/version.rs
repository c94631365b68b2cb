//! The version guard: compare the target `ccf_version` with what the service runs. CCF
//! supports live upgrades between patches of one major version, and from the last patch of
//! N to N+1; so a downgrade or a skipped major version is refused unless the operator says
//! otherwise.

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

/// What the guard concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A forward upgrade within the supported range (or versions unknown).
    Allowed(String),
    /// The target is older than what runs.
    Downgrade(String),
    /// The target skips at least one major version.
    MajorJump(String),
}

/// Compare the target with the versions the service's nodes report.
pub fn check(target: Option<&str>, running: &[String]) -> Verdict {
    let Some(target) = target else {
        return Verdict::Allowed("no target ccf_version given".into());
    };
    let Some(t) = CcfVersion::parse(target) else {
        return Verdict::Allowed(format!(
            "target {target:?} is not a ccf-X.Y.Z version; not compared"
        ));
    };
    let Some(current) = running.iter().filter_map(|v| CcfVersion::parse(v)).max() else {
        return Verdict::Allowed("no node reported a comparable version".into());
    };
    if t < current {
        Verdict::Downgrade(format!(
            "{t} is older than {current}, which the service runs"
        ))
    } else if t.major > current.major + 1 {
        Verdict::MajorJump(format!(
            "{t} skips a major version from {current}; CCF upgrades live from the last patch of N to N+1 only"
        ))
    } else {
        Verdict::Allowed(format!("{current} → {t}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_order() {
        let v = |s| CcfVersion::parse(s).unwrap();
        assert!(v("ccf-7.0.2") > v("ccf-7.0.1"));
        assert!(v("ccf-7.0.0") > v("ccf-7.0.0-rc1"));
        assert!(v("6.0.28") < v("ccf-7.0.0"));
        assert_eq!(v("ccf-7.0.2").to_string(), "ccf-7.0.2");
        assert!(CcfVersion::parse("latest").is_none());
    }

    #[test]
    fn guard() {
        let running = vec!["ccf-6.0.28".to_string(), "ccf-6.0.28".to_string()];
        assert!(matches!(
            check(Some("ccf-7.0.2"), &running),
            Verdict::Allowed(_)
        ));
        assert!(matches!(
            check(Some("ccf-6.0.27"), &running),
            Verdict::Downgrade(_)
        ));
        assert!(matches!(
            check(Some("ccf-8.0.0"), &running),
            Verdict::MajorJump(_)
        ));
        assert!(matches!(check(None, &running), Verdict::Allowed(_)));
        assert!(matches!(check(Some("ccf-7.0.2"), &[]), Verdict::Allowed(_)));
    }
}
