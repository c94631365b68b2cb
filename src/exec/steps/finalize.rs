//! Finalizing: the old code versions leave the join policy, and every node must then report
//! the target's version.

use super::{StepCx, StepError};
use crate::ccf::types::{Action, NodeStatus, short_id};
use crate::plan::ServiceView;

/// Pass the finalize proposal, then check the join policy holds only the target and every
/// trusted node reports the target's version.
pub(super) async fn finalize(cx: &mut StepCx<'_>, actions: &[Action]) -> Result<(), StepError> {
    cx.propose(actions.to_vec()).await?;
    let (_, after) = cx
        .observer
        .look()
        .await
        .map_err(|e| StepError::Other(e.to_string()))?;
    let left = cx.spec.target.finalize_actions(&after.join_policy);
    if !left.is_empty() {
        return Err(StepError::Other(format!(
            "the join policy still holds other code versions: {left:?}"
        )));
    }
    verify_versions(cx.spec.target.ccf_version.as_deref(), &after)
}

/// Every trusted node reports `want` (when the target names a version).
fn verify_versions(want: Option<&str>, view: &ServiceView) -> Result<(), StepError> {
    let Some(want) = want else {
        return Ok(());
    };
    let wrong: Vec<String> = view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted && n.version.as_deref() != Some(want))
        .map(|n| {
            format!(
                "{} reports {}",
                short_id(&n.node_id),
                n.version.as_deref().unwrap_or("nothing")
            )
        })
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(StepError::Other(format!(
            "not every node reports {want}: {}",
            wrong.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::fixtures::{NEW, node, service};

    #[test]
    fn every_trusted_node_must_report_the_target_version() {
        let mut nodes = vec![
            node(1, NodeStatus::Trusted, NEW),
            node(2, NodeStatus::Trusted, NEW),
            node(3, NodeStatus::Retired, "aa"),
        ];
        for n in &mut nodes {
            n.version = Some("ccf-7.0.2".into());
        }
        nodes[2].version = None;
        let mut view = service(nodes, &[NEW]);
        assert!(verify_versions(Some("ccf-7.0.2"), &view).is_ok());
        assert!(verify_versions(None, &view).is_ok());
        view.nodes[1].version = None;
        let err = verify_versions(Some("ccf-7.0.2"), &view).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not every node reports ccf-7.0.2: 22222222 reports nothing"
        );
    }
}
