//! Release channel manifests and which release a service should run. Pure: parsing,
//! validation and the choice are tested without a service.
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "channel": "stable",
//!   "releases": [
//!     { "ccf_version": "ccf-7.0.2", "platform": "virtual",
//!       "host_data": "<64 hex>",
//!       "package": { "url": "https://…/ccf-7.0.2.tar.gz", "sha256": "<64 hex>" } }
//!   ]
//! }
//! ```

use serde::{Deserialize, Serialize};

use crate::plan::spec::CodePlatform;
use crate::plan::version::{self, CcfVersion, Verdict};

/// The manifest format this noderoll reads.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// A channel: a name and its releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    /// Format version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Channel name (`stable`, `preview`, …).
    pub channel: String,
    /// Releases, in any order.
    pub releases: Vec<Release>,
}

/// One build on the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Release {
    /// `ccf-X.Y.Z`.
    pub ccf_version: String,
    /// `virtual` or `snp`.
    pub platform: CodePlatform,
    /// Host data (hex SHA-256): the code identity nodes attest.
    pub host_data: String,
    /// SNP launch measurement (96 hex); required for SNP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurement: Option<String>,
    /// SNP security policy (its SHA-256 is the host data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_policy: Option<String>,
    /// Where the package is, and its SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
}

/// A downloadable package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Package {
    /// `https://` URL.
    pub url: String,
    /// Hex SHA-256 of the file.
    pub sha256: String,
}

impl Release {
    /// The plan `[target]` this release stands for.
    pub(crate) fn target(&self) -> crate::plan::Target {
        crate::plan::Target {
            platform: self.platform,
            host_data: self.host_data.to_ascii_lowercase(),
            ccf_version: Some(self.ccf_version.clone()),
            measurement: self.measurement.as_ref().map(|m| m.to_ascii_lowercase()),
            security_policy: self.security_policy.clone(),
            uvm_endorsement: None,
            node_cert_validity_days: None,
        }
    }
}

/// A manifest that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("channel manifest {origin}: {detail}")]
pub(crate) struct ManifestError {
    /// Where it came from (path or URL).
    pub origin: String,
    /// What is wrong, naming the field.
    pub detail: String,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Manifest {
    /// Parse and validate strictly; `origin` names the source in errors.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Manifest, ManifestError> {
        let bad = |detail: String| ManifestError {
            origin: origin.to_string(),
            detail,
        };
        let m: Manifest = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if m.schema_version != SCHEMA_VERSION {
            return Err(bad(format!(
                "schema_version {} is not supported (this noderoll reads {SCHEMA_VERSION})",
                m.schema_version
            )));
        }
        if m.channel.trim().is_empty() {
            return Err(bad("channel: give the channel a name".into()));
        }
        for (i, r) in m.releases.iter().enumerate() {
            let at = |field: &str, what: String| bad(format!("releases[{i}].{field}: {what}"));
            if let Err(e) = CcfVersion::parse_strict(&r.ccf_version) {
                return Err(at("ccf_version", e));
            }
            if !is_hex(&r.host_data, 64) {
                return Err(at("host_data", "must be 64 hex characters".into()));
            }
            match (r.platform, &r.measurement) {
                (CodePlatform::Snp, None) => {
                    return Err(at("measurement", "required for snp".into()));
                }
                (CodePlatform::Snp, Some(m)) if !is_hex(m, 96) => {
                    return Err(at("measurement", "must be 96 hex characters".into()));
                }
                (CodePlatform::Virtual, Some(_)) => {
                    return Err(at("measurement", "only snp releases have one".into()));
                }
                _ => {}
            }
            if let Some(p) = &r.package {
                if !p.url.starts_with("https://") {
                    return Err(at("package.url", format!("{:?} must be https://", p.url)));
                }
                if !is_hex(&p.sha256, 64) {
                    return Err(at("package.sha256", "must be 64 hex characters".into()));
                }
            }
        }
        Ok(m)
    }
}

/// What the service runs, as far as a channel cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Running {
    /// Its platform.
    pub platform: CodePlatform,
    /// Host data of its trusted nodes (lowercase).
    pub host_data: Vec<String>,
    /// Versions its trusted nodes report.
    pub versions: Vec<String>,
    /// Its join policy's minimum SNP TCB versions (`nodes.snp.tcb_versions`), if any.
    pub snp_tcb_versions: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// A release judged against the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Judged {
    /// The release.
    #[serde(flatten)]
    pub release: Release,
    /// The service could move to it now.
    pub eligible: bool,
    /// Why (or why not).
    pub reason: String,
    /// Skipped because it failed on this service before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub failed_here: bool,
}

/// Judge every release (newest first) and pick the newest the service may move to, if any.
/// `failed` says why a release is skipped on this service (it failed and was rolled back).
pub(crate) fn judge(
    manifest: &Manifest,
    running: &Running,
    failed: &dyn Fn(&Release) -> Option<String>,
) -> (Vec<Judged>, Option<usize>) {
    let mut releases = manifest.releases.clone();
    releases
        .sort_by(|a, b| CcfVersion::parse(&b.ccf_version).cmp(&CcfVersion::parse(&a.ccf_version)));
    let current = running
        .versions
        .iter()
        .filter_map(|v| CcfVersion::parse(v))
        .max();
    let judged: Vec<Judged> = releases
        .into_iter()
        .map(|r| {
            let runs = running
                .host_data
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&r.host_data));
            let v = CcfVersion::parse(&r.ccf_version);
            let mut failed_here = false;
            let (eligible, reason) = if r.platform != running.platform {
                (false, "another platform".to_string())
            } else if runs {
                (false, "the service runs it".to_string())
            } else if let Some(why) = failed(&r) {
                failed_here = true;
                (false, why)
            } else if let Some(why) = (r.platform == CodePlatform::Snp)
                .then(|| {
                    version::snp_minimum_tcb(running.snp_tcb_versions.as_ref(), None, v.as_ref())
                })
                .flatten()
            {
                (false, why)
            } else {
                match version::check(Some(&r.ccf_version), &running.versions) {
                    Verdict::Downgrade(d) => (false, d),
                    Verdict::MajorJump(j) => (false, j.refused),
                    Verdict::Allowed(d) if current.is_some() && v <= current => {
                        (false, format!("not newer than what runs ({d})"))
                    }
                    Verdict::Allowed(d) => (true, d),
                }
            };
            Judged {
                release: r,
                eligible,
                reason,
                failed_here,
            }
        })
        .collect();
    let newest = judged.iter().position(|j| j.eligible);
    (judged, newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(v: &str, h: &str) -> String {
        format!(
            r#"{{"ccf_version": "{v}", "platform": "virtual", "host_data": "{}"}}"#,
            h.repeat(32)
        )
    }

    fn manifest(releases: &[String]) -> String {
        format!(
            r#"{{"schema_version": 1, "channel": "stable", "releases": [{}]}}"#,
            releases.join(",")
        )
    }

    #[test]
    fn a_valid_manifest_parses_and_bad_ones_name_the_field() {
        let m = Manifest::parse(&manifest(&[release("ccf-7.0.2", "bb")]), "m.json").unwrap();
        assert_eq!(m.releases.len(), 1);
        let cases = [
            (
                manifest(&[release("latest", "bb")]),
                "releases[0].ccf_version",
            ),
            (
                manifest(&[release("ccf-7.0.2", "aa"), release("7.0.3", "bb")]),
                "releases[1].ccf_version: \"7.0.3\" is not a CCF version: expected ccf-X.Y.Z",
            ),
            (
                manifest(&[release("ccf-7.0", "bb")]),
                "releases[0].ccf_version: \"ccf-7.0\" is not",
            ),
            (
                manifest(&[release("ccf-7.0.2", "b")]),
                "releases[0].host_data",
            ),
            (
                manifest(&[release("ccf-7.0.2", "bb").replace("virtual", "snp")]),
                "releases[0].measurement: required",
            ),
            (
                manifest(&[release("ccf-7.0.2", "bb")
                    .replace('}', r#", "package": {"url": "http://x", "sha256": "00"}}"#)]),
                "package.url",
            ),
            (manifest(&[]).replace("stable", " "), "channel"),
            (manifest(&[]).replace(": 1", ": 2"), "schema_version 2"),
            (
                manifest(&[]).replace("}", r#", "extra": 1}"#),
                "unknown field `extra`",
            ),
            ("not json".into(), "expected"),
        ];
        for (text, want) in cases {
            let e = Manifest::parse(&text, "m.json").unwrap_err().to_string();
            assert!(e.contains("m.json") && e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn the_newest_eligible_release_is_chosen_by_the_version_guard() {
        let m = Manifest::parse(
            &manifest(&[
                release("ccf-7.0.1", "aa"),
                release("ccf-7.0.2", "bb"),
                release("ccf-7.1.0", "cc"),
                release("ccf-9.0.0", "dd"),
                release("ccf-6.0.9", "ee"),
            ]),
            "m.json",
        )
        .unwrap();
        let running = Running {
            platform: CodePlatform::Virtual,
            host_data: vec!["aa".repeat(32)],
            versions: vec!["ccf-7.0.1".into(); 3],
            snp_tcb_versions: None,
        };
        let (judged, newest) = judge(&m, &running, &|_| None);
        let order: Vec<&str> = judged
            .iter()
            .map(|j| j.release.ccf_version.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "ccf-9.0.0",
                "ccf-7.1.0",
                "ccf-7.0.2",
                "ccf-7.0.1",
                "ccf-6.0.9"
            ]
        );
        assert!(judged[0].reason.contains("skips a major version"));
        assert_eq!(judged[newest.unwrap()].release.ccf_version, "ccf-7.1.0");
        assert!(judged[3].reason.contains("runs it"));
        assert!(judged[4].reason.contains("older"));
        // Already on the newest: nothing to do.
        let current = Running {
            host_data: vec!["cc".repeat(32)],
            versions: vec!["ccf-7.1.0".into()],
            snp_tcb_versions: None,
            ..running
        };
        assert_eq!(judge(&m, &current, &|_| None).1, None);
        // A release that failed here is skipped for the next newest.
        let (judged, newest) = judge(&m, &running, &|r| {
            (r.ccf_version == "ccf-7.1.0").then(|| "failed here".to_string())
        });
        assert_eq!(judged[newest.unwrap()].release.ccf_version, "ccf-7.0.2");
    }

    #[test]
    fn a_release_that_breaks_an_upgrade_path_rule_is_not_eligible() {
        let m = Manifest::parse(
            &manifest(&[
                release("ccf-6.0.20", "aa"),
                release("ccf-6.0.28", "bb"),
                release("ccf-7.0.2", "cc"),
            ]),
            "m.json",
        )
        .unwrap();
        let running = Running {
            platform: CodePlatform::Virtual,
            host_data: vec!["aa".repeat(32)],
            versions: vec!["ccf-6.0.20".into(); 3],
            snp_tcb_versions: None,
        };
        let (judged, newest) = judge(&m, &running, &|_| None);
        assert_eq!(judged[0].release.ccf_version, "ccf-7.0.2");
        assert!(!judged[0].eligible);
        assert!(
            judged[0]
                .reason
                .contains("6.0.21 or later before 7.x nodes join")
                && judged[0].reason.contains("path: ccf-6.0.20 → ccf-6.0.21"),
            "{}",
            judged[0].reason
        );
        assert_eq!(judged[newest.unwrap()].release.ccf_version, "ccf-6.0.28");
        // From 5.x, 6.0.0 and 6.0.1 are not eligible (CCF #7002).
        let m = Manifest::parse(
            &manifest(&[release("ccf-6.0.1", "dd"), release("ccf-5.0.12", "aa")]),
            "m.json",
        )
        .unwrap();
        let running = Running {
            versions: vec!["ccf-5.0.12".into(); 3],
            snp_tcb_versions: None,
            ..running
        };
        let (judged, newest) = judge(&m, &running, &|_| None);
        assert!(
            judged[0].reason.contains("Failed to deserialise"),
            "{}",
            judged[0].reason
        );
        assert_eq!(newest, None);
    }

    #[test]
    fn an_snp_release_is_not_eligible_without_a_minimum_tcb_version() {
        let snp = r#"{"ccf_version": "ccf-6.0.30", "platform": "snp", "host_data": "HD", "measurement": "MM"}"#
            .replace("HD", &"bb".repeat(32))
            .replace("MM", &"cc".repeat(48));
        let m = Manifest::parse(&manifest(&[snp]), "m.json").unwrap();
        let mut running = Running {
            platform: CodePlatform::Snp,
            host_data: vec!["aa".repeat(32)],
            versions: vec!["ccf-6.0.20".into(); 3],
            snp_tcb_versions: Some(Default::default()),
        };
        let (judged, newest) = judge(&m, &running, &|_| None);
        assert_eq!(newest, None);
        assert!(
            judged[0].reason.contains("set_snp_minimum_tcb_version_hex"),
            "{}",
            judged[0].reason
        );
        running.snp_tcb_versions = Some([("00a00f11".to_string(), serde_json::json!({}))].into());
        assert_eq!(judge(&m, &running, &|_| None).1, Some(0));
    }
}
