//! A saved plan (`noderoll plan --out FILE`): the steps, plus fingerprints of the plan file
//! and of the service as observed, so `noderoll apply FILE` refuses a plan the service has
//! moved away from.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::planner::{PlannedStep, ServiceView};

/// Format version of saved plans.
pub const SAVED_PLAN_VERSION: u32 = 1;

/// The saved plan document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedPlan {
    /// [`SAVED_PLAN_VERSION`].
    pub schema_version: u32,
    /// Absolute path of the plan file.
    pub plan_file: PathBuf,
    /// SHA-256 of the plan file's text.
    pub plan_sha256: String,
    /// SHA-256 of what was observed (nodes, statuses, primary, join policy).
    pub state_fingerprint: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// The steps.
    pub steps: Vec<PlannedStep>,
}

/// A saved plan that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// Unreadable.
    #[error("cannot read saved plan {}", .path.display())]
    Read {
        /// File.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a saved plan.
    #[error("{} is not a saved plan: {detail}", .path.display())]
    Invalid {
        /// File.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The plan file changed since.
    #[error("the plan file {} changed since the plan was saved; plan it again with --out", .plan_file.display())]
    PlanFileChanged {
        /// The plan file.
        plan_file: PathBuf,
        /// The saved plan, as given.
        saved: PathBuf,
    },
    /// The service changed since.
    #[error(
        "stale plan: the service changed since the plan was saved ({created_at}); plan it again with --out and review it"
    )]
    Stale {
        /// When the plan was made.
        created_at: String,
        /// The plan file it was made from.
        plan_file: PathBuf,
        /// The saved plan, as given.
        saved: PathBuf,
    },
}

impl SavedPlanError {
    /// For a saved plan that no longer holds: the plan file it came from and the saved
    /// plan's path, which `noderoll plan --plan P --out S` makes afresh.
    pub fn replan(&self) -> Option<(&Path, &Path)> {
        match self {
            SavedPlanError::PlanFileChanged { plan_file, saved }
            | SavedPlanError::Stale {
                plan_file, saved, ..
            } => Some((plan_file, saved)),
            _ => None,
        }
    }
}

/// Digest of the parts of the service a plan depends on (not the view: elections alone do
/// not invalidate a plan, but a different primary does, since it is retired last).
pub fn fingerprint(view: &ServiceView) -> String {
    let mut nodes: Vec<(String, String)> = view
        .nodes
        .iter()
        .map(|n| (n.node_id.clone(), n.status.to_string()))
        .collect();
    nodes.sort();
    let doc = serde_json::json!({ "nodes": nodes, "primary": view.primary, "join_policy": view.join_policy });
    hex::encode(sha2::Sha256::digest(doc.to_string().as_bytes()))
}

/// SHA-256 of a file's bytes.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    Ok(hex::encode(sha2::Sha256::digest(std::fs::read(path)?)))
}

impl SavedPlan {
    /// Read a saved plan.
    pub fn load(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Read {
            path: path.into(),
            source,
        })?;
        let plan: SavedPlan = serde_json::from_str(&text).map_err(|e| SavedPlanError::Invalid {
            path: path.into(),
            detail: e.to_string(),
        })?;
        if plan.schema_version != SAVED_PLAN_VERSION {
            return Err(SavedPlanError::Invalid {
                path: path.into(),
                detail: format!(
                    "format version {} (this noderoll reads {SAVED_PLAN_VERSION})",
                    plan.schema_version
                ),
            });
        }
        Ok(plan)
    }

    /// Refuse if the plan file or the service changed (`saved`: this saved plan's path, as
    /// given, for the command that makes it afresh).
    pub fn check_fresh(&self, saved: &Path, view: &ServiceView) -> Result<(), SavedPlanError> {
        match file_sha256(&self.plan_file) {
            Ok(h) if h == self.plan_sha256 => {}
            _ => {
                return Err(SavedPlanError::PlanFileChanged {
                    plan_file: self.plan_file.clone(),
                    saved: saved.into(),
                });
            }
        }
        if fingerprint(view) != self.state_fingerprint {
            return Err(SavedPlanError::Stale {
                created_at: self.created_at.clone(),
                plan_file: self.plan_file.clone(),
                saved: saved.into(),
            });
        }
        Ok(())
    }
}
