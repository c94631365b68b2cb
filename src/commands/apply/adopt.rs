//! `--adopt NODE_ID...`: the Pending nodes an operator names as an earlier run's.

use crate::errors::AppError;

/// `--adopt`: each id (or unique prefix) must name a Pending node of the service.
pub(crate) fn adopt_named(
    ids: &[String],
    view: &crate::plan::ServiceView,
) -> Result<Vec<crate::plan::Launched>, AppError> {
    let pending: Vec<&crate::plan::NodeView> = view
        .nodes
        .iter()
        .filter(|n| n.status == crate::ccf::types::NodeStatus::Pending)
        .collect();
    let listed = || {
        if pending.is_empty() {
            "the service has no Pending node".to_string()
        } else {
            let ids: Vec<&str> = pending.iter().map(|n| n.node_id.as_str()).collect();
            format!("Pending nodes: {}", ids.join(", "))
        }
    };
    ids.iter()
        .map(|id| {
            let id = id.trim().to_ascii_lowercase();
            if id.len() < 8 {
                return Err(AppError::Usage(format!(
                    "--adopt {id}: give the node id or at least its first 8 characters"
                )));
            }
            let found: Vec<_> = pending
                .iter()
                .filter(|n| n.node_id.starts_with(&id))
                .collect();
            match found.as_slice() {
                [n] => Ok(crate::plan::Launched {
                    node_id: Some(n.node_id.clone()),
                    rpc_address: n.address.clone(),
                }),
                [] => Err(AppError::Usage(format!(
                    "--adopt {id}: no Pending node has that id ({})",
                    listed()
                ))),
                _ => Err(AppError::Usage(format!(
                    "--adopt {id}: several Pending nodes start with that; give more of the id"
                ))),
            }
        })
        .collect()
}
