//! Planning: the plan file's upgrade tables and the pure planner.

pub(crate) mod certs;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod gates;
pub mod inprogress;
pub mod planner;
pub mod rollback;
pub mod saved;
pub mod snapshot;
pub mod spec;
pub(crate) mod step;
pub mod version;
pub(crate) mod view;

pub use planner::{Launched, NodeView, Plan, PlannedStep, RunContext, ServiceView, Step};
pub use spec::{CodePlatform, Target, TargetRef, UpgradeSpec};
