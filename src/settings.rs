//! Resolved settings: where the service is and how to trust it, taken from command-line
//! flags (which win) or a plan file's `[service]` and `[[members]]` tables. Paths in a plan
//! file are relative to the plan file's directory.
//!
//! The rest of the plan file (`[target]`, `[nodes]`, `[safety]`, ...) belongs to the upgrade
//! and is validated there; this module only refuses top-level tables nobody knows.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ccf::NodeAddr;

/// A problem with the plan file or service flags.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The plan file could not be read.
    #[error("cannot read plan file {}", .path.display())]
    Read {
        /// File.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The plan file is not valid TOML or has wrong types or unknown keys.
    #[error("plan file {}: {detail}", .path.display())]
    Invalid {
        /// File.
        path: PathBuf,
        /// What is wrong, with the location.
        detail: String,
    },
    /// Something required was not given anywhere.
    #[error("{0}")]
    Missing(String),
    /// A node address is malformed.
    #[error("{origin}: {detail}")]
    BadAddress {
        /// Where it was given.
        origin: String,
        /// What is wrong.
        detail: String,
    },
}

/// Top-level tables a plan file may have.
pub(crate) const PLAN_TABLES: &[&str] = &[
    "service", "members", "target", "nodes", "safety", "hooks", "notify", "watch",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceTable {
    url: OneOrMany,
    service_cert: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// A `[[members]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberEntry {
    /// Member certificate (PEM).
    pub cert: PathBuf,
    /// Private key (PEM; SEC1 or PKCS#8). Exclusive with `signer`.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// External signer command. Exclusive with `key`.
    #[serde(default)]
    pub signer: Option<String>,
}

/// How to reach and trust the service.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Node addresses to try, in order.
    pub nodes: Vec<NodeAddr>,
    /// The service certificate file.
    pub service_cert: PathBuf,
}

/// A loaded plan file, as far as this module understands it.
#[derive(Debug, Clone)]
pub struct PlanFile {
    /// The file.
    pub path: PathBuf,
    /// Its directory (base for relative paths).
    pub dir: PathBuf,
    /// `[service]`.
    pub service: ServiceSettings,
    /// `[[members]]`, paths resolved.
    pub members: Vec<MemberEntry>,
    /// `[watch]`: when `noderoll watch` may start an upgrade.
    pub watch: crate::watch::window::WatchSettings,
    /// The whole document, for the sections owned by other modules.
    pub raw: toml::Table,
}

impl PlanFile {
    /// Read and validate `path`.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse `text` as the plan file at `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SettingsError> {
        let invalid = |detail: String| SettingsError::Invalid {
            path: path.into(),
            detail,
        };
        let raw: toml::Table =
            toml::from_str(text).map_err(|e| invalid(one_line(&e.to_string())))?;
        for key in raw.keys() {
            if !PLAN_TABLES.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "unknown table `{key}`; known: {}",
                    PLAN_TABLES.join(", ")
                )));
            }
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let (nodes, service_cert) = service_table(&raw).map_err(invalid)?;
        let members = members_table(raw.get("members"), &dir).map_err(invalid)?;
        let watch =
            crate::watch::window::WatchSettings::from_table(raw.get("watch")).map_err(invalid)?;
        Ok(PlanFile {
            watch,
            path: path.into(),
            service: ServiceSettings {
                nodes,
                service_cert: dir.join(service_cert),
            },
            dir,
            members,
            raw,
        })
    }
}

/// `[service]`: the node addresses, and the service certificate as written.
fn service_table(raw: &toml::Table) -> Result<(Vec<NodeAddr>, PathBuf), String> {
    let service_value = raw
        .get("service")
        .cloned()
        .ok_or_else(|| "missing [service] table".to_string())?;
    let service: ServiceTable = service_value
        .try_into()
        .map_err(|e: toml::de::Error| format!("[service]: {}", one_line(&e.to_string())))?;
    let urls = match service.url {
        OneOrMany::One(u) => vec![u],
        OneOrMany::Many(v) => v,
    };
    if urls.is_empty() {
        return Err("[service] url: give at least one node address".into());
    }
    let nodes = urls
        .iter()
        .map(|u| {
            u.parse::<NodeAddr>()
                .map_err(|d| format!("[service] url: {d}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((nodes, service.service_cert))
}

/// `[[members]]`, each with a key file or a signer command (not both), paths resolved
/// against `dir`.
fn members_table(value: Option<&toml::Value>, dir: &Path) -> Result<Vec<MemberEntry>, String> {
    let Some(v) = value else {
        return Ok(Vec::new());
    };
    let entries: Vec<MemberEntry> = v
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| format!("[[members]]: {}", one_line(&e.to_string())))?;
    entries
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            match (&m.key, &m.signer) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "[[members]] #{}: give `key` or `signer`, not both",
                        i + 1
                    ));
                }
                (None, None) => {
                    return Err(format!(
                        "[[members]] #{}: give `key` (a PEM file) or `signer` (a command)",
                        i + 1
                    ));
                }
                _ => {}
            }
            Ok(MemberEntry {
                cert: dir.join(&m.cert),
                key: m.key.map(|k| dir.join(k)),
                signer: m.signer,
            })
        })
        .collect()
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Resolve the service from flags first, then the plan file.
pub(crate) fn resolve_service(
    urls: &[String],
    service_cert: Option<&Path>,
    plan: Option<&PlanFile>,
) -> Result<ServiceSettings, SettingsError> {
    let nodes = if !urls.is_empty() {
        urls.iter()
            .flat_map(|u| u.split(','))
            .filter(|u| !u.trim().is_empty())
            .map(|u| {
                u.parse::<NodeAddr>()
                    .map_err(|detail| SettingsError::BadAddress {
                        origin: "--service-url".into(),
                        detail,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?
    } else if let Some(p) = plan {
        p.service.nodes.clone()
    } else {
        return Err(SettingsError::Missing(
            "no service given: pass --plan FILE, or --service-url HOST:PORT with --service-cert FILE".into(),
        ));
    };
    let service_cert = match (service_cert, plan) {
        (Some(c), _) => c.to_path_buf(),
        (None, Some(p)) => p.service.service_cert.clone(),
        (None, None) => {
            return Err(SettingsError::Missing(
                "no service certificate given: pass --service-cert FILE (the service's service_cert.pem)".into(),
            ));
        }
    };
    Ok(ServiceSettings {
        nodes,
        service_cert,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_plan_directory() {
        let p = PlanFile::parse(
            "[service]\nurl = \"https://127.0.0.1:8000\"\nservice_cert = \"sc.pem\"\n[[members]]\ncert = \"m0.pem\"\nkey = \"m0k.pem\"\n",
            Path::new("/etc/noderoll/plan.toml"),
        )
        .unwrap();
        assert_eq!(p.service.service_cert, Path::new("/etc/noderoll/sc.pem"));
        assert_eq!(p.members[0].cert, Path::new("/etc/noderoll/m0.pem"));
        assert_eq!(p.service.nodes, vec![NodeAddr::new("127.0.0.1", 8000)]);
    }

    #[test]
    fn several_urls_and_errors() {
        let p = PlanFile::parse(
            "[service]\nurl = [\"a:1\", \"b:2\"]\nservice_cert = \"s\"\n",
            Path::new("p.toml"),
        )
        .unwrap();
        assert_eq!(p.service.nodes.len(), 2);
        let e = PlanFile::parse(
            "[service]\nurl = \"http://a:1\"\nservice_cert = \"s\"\n",
            Path::new("p.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
        let e = PlanFile::parse("[servce]\n", Path::new("p.toml")).unwrap_err();
        assert!(e.to_string().contains("known: service"), "{e}");
        let e = PlanFile::parse(
            "[service]\nurl = \"a:1\"\nservice_cert = \"s\"\nextra = 1\n",
            Path::new("p.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("extra"), "{e}");
        let e = PlanFile::parse("not toml at all", Path::new("p.toml")).unwrap_err();
        assert!(e.to_string().contains("p.toml"), "{e}");
        let e = PlanFile::parse(
            "[service]\nurl = 5\nservice_cert = \"s\"\n",
            Path::new("p.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("[service]"), "{e}");
    }

    #[test]
    fn flags_win_over_the_plan() {
        let p = PlanFile::parse(
            "[service]\nurl = \"a:1\"\nservice_cert = \"s\"\n",
            Path::new("d/p.toml"),
        )
        .unwrap();
        let s = resolve_service(&["x:9,y:8".into()], None, Some(&p)).unwrap();
        assert_eq!(s.nodes, vec![NodeAddr::new("x", 9), NodeAddr::new("y", 8)]);
        assert_eq!(s.service_cert, Path::new("d/s"));
        assert!(resolve_service(&[], None, None).is_err());
    }
}
