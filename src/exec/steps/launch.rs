//! Launching new nodes: the launch commands, at most `max_parallel_launches` at a time, then
//! a wait for each node to appear Pending in the service's node table.

use std::sync::Arc;

use super::{StepCx, StepError};
use crate::ccf::types::{NodeStatus, short_id};
use crate::ccf::{CcfClient, ClientError, NodeAddr, NodeFilter};
use crate::exec::events::Event;
use crate::exec::launcher::LaunchRequest;
use crate::plan::{Launched, ServiceView};
use crate::wait::{Poller, Probe, WaitError, wait_until};

/// Launch `count` nodes joining through the service in `view`; wait until each is Pending.
/// Returns the ids of the nodes launched.
pub(super) async fn launch(
    cx: &mut StepCx<'_>,
    count: usize,
    view: &ServiceView,
) -> Result<Vec<String>, StepError> {
    let target = cx
        .nodes_but(view, None)
        .into_iter()
        .next()
        .ok_or_else(|| StepError::Other("no node to join through".into()))?;
    let already = cx.run.launched.len();
    // Counted before any command runs: a launch that fails or hangs still spent budget.
    cx.run.launches += count;
    run_launch_commands(cx, count, already, target).await?;
    let launched: Vec<Launched> = cx.run.launched[already..].to_vec();
    let ask = cx.nodes_but(view, None);
    for l in launched {
        let found = wait_pending(cx, &l, &ask).await?;
        if let Some(entry) = cx.run.launched.iter_mut().find(|x| **x == l) {
            entry.node_id = Some(found.clone());
        }
        cx.report(Event::NodePending { node_id: found });
    }
    Ok(cx.run.launched[already..]
        .iter()
        .filter_map(|l| l.node_id.clone())
        .collect())
}

/// Run `count` launch commands (numbered from `already`) joining through `target`; every
/// node launched is added to the run's `launched`, and the first failure returned.
async fn run_launch_commands(
    cx: &mut StepCx<'_>,
    count: usize,
    already: usize,
    target: NodeAddr,
) -> Result<(), StepError> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(
        cx.spec.nodes.max_parallel_launches,
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let index = already + i;
        let req = LaunchRequest {
            run_id: cx.run_id.to_string(),
            index,
            name: format!("noderoll-{}-{index}", cx.run_id),
            target_rpc_address: target.clone(),
            service_cert: cx.service_cert.to_path_buf(),
            snapshot: cx.run.snapshot.clone(),
        };
        cx.report(Event::LaunchStarted {
            name: req.name.clone(),
        });
        let (launcher, sem) = (cx.launcher.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (req.name.clone(), launcher.launch(&req).await)
        });
    }
    let mut first_error = None;
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok((name, Ok(l))) => {
                cx.report(Event::NodeLaunched {
                    name,
                    node_id: l.node_id.clone(),
                    rpc_address: l.rpc_address.as_ref().map(ToString::to_string),
                });
                cx.run.launched.push(l);
            }
            Ok((_, Err(e))) => {
                first_error.get_or_insert(StepError::Launch(e));
            }
            Err(e) => {
                first_error.get_or_insert(StepError::Other(format!("a launch task failed: {e}")));
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Wait until the launched node `l` is listed (not Retired) by one of `ask`; its node id.
async fn wait_pending(
    cx: &StepCx<'_>,
    l: &Launched,
    ask: &[NodeAddr],
) -> Result<String, StepError> {
    let what = match (&l.node_id, &l.rpc_address) {
        (Some(id), _) => format!("node {} to appear Pending", short_id(id)),
        (None, Some(a)) => format!("the node launched at {a} to appear Pending"),
        (None, None) => unreachable!("launcher output is validated"),
    };
    cx.report(Event::Waiting { what: what.clone() });
    let found = wait_until(
        what,
        cx.spec.safety.step_timeout,
        cx.cancel,
        Poller::service_default(),
        || {
            let (c, ask, l) = (cx.client.clone(), ask.to_vec(), l.clone());
            async move { look_for(&c, &ask, &l).await }
        },
    )
    .await;
    match found {
        Ok(id) => Ok(id),
        // Say why, as far as the node and the primary tell (CCF's usual join failures).
        Err(e @ WaitError::TimedOut { .. }) => Err(StepError::Other(format!(
            "{e}: {}",
            super::absent::why_absent(cx, l, ask).await
        ))),
        Err(e) => Err(e.into()),
    }
}

/// One look for the launched node `l`, asking each of `ask` until one answers.
async fn look_for(
    c: &CcfClient,
    ask: &[NodeAddr],
    l: &Launched,
) -> Result<Probe<String>, ClientError> {
    for a in ask {
        let r = match (&l.node_id, &l.rpc_address) {
            (Some(id), _) => c
                .node(a, id)
                .await
                .map(|n| n.into_iter().collect::<Vec<_>>()),
            (None, Some(addr)) => {
                c.nodes(
                    a,
                    &NodeFilter {
                        host: Some(addr.host().into()),
                        port: Some(addr.port()),
                        status: None,
                    },
                )
                .await
            }
            _ => Ok(vec![]),
        };
        match r {
            Ok(nodes) => {
                return Ok(
                    match nodes.into_iter().find(|n| n.status != NodeStatus::Retired) {
                        Some(n) => Probe::Ready(n.node_id),
                        None => Probe::NotYet("not in the node table yet".into()),
                    },
                );
            }
            Err(e) if e.another_may_answer() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Probe::NotYet("no node answered".into()))
}
