//! Planning: the plan file's upgrade tables and the pure planner.

#[cfg(test)]
mod fixtures;
pub mod inprogress;
pub mod planner;
pub mod rollback;
pub mod saved;
pub mod spec;
pub mod version;

pub use planner::{Launched, NodeView, Plan, PlannedStep, RunContext, ServiceView, Step};
pub use spec::{CodePlatform, Target, UpgradeSpec};
