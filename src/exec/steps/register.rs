//! Registering the target code version.

use super::{StepCx, StepError};
use crate::ccf::types::Action;

/// Pass the proposal that adds the target's code version to the join policy.
pub(super) async fn register_code(cx: &StepCx<'_>, actions: &[Action]) -> Result<(), StepError> {
    cx.propose(actions.to_vec()).await
}
