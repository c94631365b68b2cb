//! How a run is to behave, beyond the plan file: what the command line and the journal say.

use crate::plan::planner::Abandon;
use crate::plan::spec::FinalizeMode;
use crate::plan::{Launched, UpgradeSpec};

/// Whether this run may take the finalize step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FinalizePolicy {
    /// Finalize as the last step.
    Auto,
    /// Stop before finalize (`[safety] finalize = "manual"`).
    Hold,
    /// Only finalize, refusing while any other step remains (`noderoll finalize`).
    Only,
}

/// What a run is asked to do beyond the plan file. The default is a fresh upgrade as the
/// plan file says.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunOptions {
    /// Let the version guard pass a downgrade (`--allow-downgrade`).
    pub allow_downgrade: bool,
    /// Let the version guard pass a skipped major version (`--allow-version-jump`).
    pub allow_version_jump: bool,
    /// Nodes launched by an earlier run that did not finish (from the journal), treated as
    /// launched by this run: trusted if they are Pending with the target attestation, never
    /// launched again.
    pub adopted: Vec<Launched>,
    /// Launches of an unfinished run that were in flight when it stopped (their names): that
    /// many Pending nodes of the target, not otherwise accounted for, are this run's; the run
    /// waits for them (bounded by `launch_timeout`) and cancels those that never come.
    pub in_flight: Vec<String>,
    /// This run continues one the journal shows unfinished: its members' open proposals are
    /// its own to finish, not a conflicting upgrade.
    pub resuming: bool,
    /// `apply --adopt` with no node named: continue an upgrade started elsewhere. Every
    /// Pending node attesting the target is this run's, and the configured members' open
    /// proposals are this run's to finish.
    pub adopting: bool,
    /// Make this a rollback: the spec's target is the version to go back to, this the upgrade
    /// given up. The version guard does not apply (going back is the point), the members'
    /// open proposals are the abandoned upgrade's, and the abandoned version is deregistered
    /// at the end without waiting for `noderoll finalize`.
    pub rollback: Option<Abandon>,
    /// Override `[safety] finalize` (`noderoll finalize` uses [`FinalizePolicy::Only`]).
    pub finalize: Option<FinalizePolicy>,
}

impl RunOptions {
    /// Whether the version guard passes a downgrade.
    pub(crate) fn allows_downgrade(&self) -> bool {
        self.allow_downgrade || self.rollback.is_some()
    }

    /// Whether the version guard passes a skipped major version.
    pub(crate) fn allows_version_jump(&self) -> bool {
        self.allow_version_jump || self.rollback.is_some()
    }

    /// Whether the configured members' open proposals are this run's to finish (or, rolling
    /// back, to withdraw) rather than a conflicting upgrade.
    pub(crate) fn owns_open_proposals(&self) -> bool {
        self.resuming || self.adopting || self.rollback.is_some()
    }

    /// Whether this run may take the finalize step: a rollback always finalizes.
    pub(crate) fn finalize_policy(&self, spec: &UpgradeSpec) -> FinalizePolicy {
        match (&self.rollback, self.finalize) {
            (Some(_), _) => FinalizePolicy::Auto,
            (None, Some(policy)) => policy,
            (None, None) => match spec.safety.finalize {
                FinalizeMode::Auto => FinalizePolicy::Auto,
                FinalizeMode::Manual => FinalizePolicy::Hold,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::fixtures;

    #[test]
    fn defaults_are_a_fresh_upgrade_as_the_plan_says() {
        let o = RunOptions::default();
        assert!(!o.allows_downgrade() && !o.allows_version_jump());
        assert!(!o.owns_open_proposals());
        assert!(o.adopted.is_empty() && o.in_flight.is_empty());
        let mut spec = fixtures::spec();
        assert_eq!(o.finalize_policy(&spec), FinalizePolicy::Auto);
        spec.safety.finalize = FinalizeMode::Manual;
        assert_eq!(o.finalize_policy(&spec), FinalizePolicy::Hold);
    }

    #[test]
    fn an_explicit_finalize_policy_overrides_the_plan() {
        let mut spec = fixtures::spec();
        spec.safety.finalize = FinalizeMode::Manual;
        let o = RunOptions {
            finalize: Some(FinalizePolicy::Only),
            ..Default::default()
        };
        assert_eq!(o.finalize_policy(&spec), FinalizePolicy::Only);
    }

    #[test]
    fn a_rollback_passes_the_version_guard_owns_its_proposals_and_finalizes() {
        let mut spec = fixtures::spec();
        spec.safety.finalize = FinalizeMode::Manual;
        let o = RunOptions {
            rollback: Some(Abandon {
                target: spec.target.clone(),
                launched: Vec::new(),
            }),
            finalize: Some(FinalizePolicy::Hold),
            ..Default::default()
        };
        assert!(o.allows_downgrade() && o.allows_version_jump());
        assert!(o.owns_open_proposals());
        assert_eq!(o.finalize_policy(&spec), FinalizePolicy::Auto);
    }

    #[test]
    fn resuming_or_adopting_owns_the_members_open_proposals() {
        for (resuming, adopting) in [(true, false), (false, true)] {
            let o = RunOptions {
                resuming,
                adopting,
                ..Default::default()
            };
            assert!(o.owns_open_proposals());
            assert!(!o.allows_downgrade());
        }
    }
}
