//! `noderoll status`, once or `--watch`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::ccf::types::NodeStatus;
use crate::cli::args::{StatusArgs, UntilCondition};
use crate::errors::AppError;
use crate::exit_codes;
use crate::observe::{Observation, ProbeCache, observe_cached};
use crate::output::status::{StatusView, WatchFrame};
use crate::output::{Printer, status};
use crate::plan::UpgradeSpec;
use crate::plan::planner::{RunContext, plan};
use crate::plan::spec::parse_duration;
use crate::settings::PlanFile;
use crate::wait::Cancel;

/// Observe the service once (or keep watching) and print it.
pub(crate) async fn run(
    args: &StatusArgs,
    printer: Printer,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let (plan_file, service, cert) = crate::commands::upgrade::load_service(&args.service)?;
    let state_dir = args.state_dir.resolve();
    let (client, probe) = crate::observe::service_clients(&cert, Some(&state_dir), &cancel)?;
    let cache = ProbeCache::default();
    if !args.watch {
        let obs = observe_cached(&client, &probe, &service.nodes, &cache).await?;
        printer.print(&StatusView(&obs))?;
        return Ok(exit_codes::SUCCESS);
    }
    let watch = Watch::parse(args, plan_file.as_ref())?;
    let tty = std::io::stdout().is_terminal();
    let mut last = serde_json::Value::Null;
    let mut nodes = service.nodes.clone();
    loop {
        match observe_cached(&client, &probe, &nodes, &cache).await {
            Ok(obs) => {
                // Follow the service as nodes come and go.
                nodes = trusted_addresses(&obs);
                nodes.extend(service.nodes.iter().cloned());
                let key = change_key(
                    serde_json::to_value(status::document(&obs)).expect("status serialises"),
                );
                if key != last {
                    let interval = &args.interval;
                    printer.print(&WatchFrame {
                        obs: &obs,
                        tty,
                        interval,
                    })?;
                    last = key;
                }
                if let Some(spec) = &watch.until
                    && upgraded(&obs, spec)
                {
                    printer.human(&upgraded_line(&obs, spec))?;
                    return Ok(exit_codes::SUCCESS);
                }
            }
            Err(e) => tracing::warn!("{}", crate::errors::render(&e)),
        }
        watch.timed_out(args)?;
        if !cancel.sleep(watch.next_wait()).await {
            // Asked to stop: fine when just watching; the condition did not hold otherwise.
            return Ok(if watch.until.is_some() {
                exit_codes::RESUMABLE
            } else {
                exit_codes::SUCCESS
            });
        }
    }
}

/// `--watch`'s settings: the condition to wait for, how often to look, until when.
struct Watch {
    /// `--until upgraded`: the plan's upgrade.
    until: Option<UpgradeSpec>,
    interval: Duration,
    deadline: Option<Instant>,
}

impl Watch {
    fn parse(args: &StatusArgs, plan_file: Option<&PlanFile>) -> Result<Watch, AppError> {
        let until = match (args.until, plan_file) {
            (Some(UntilCondition::Upgraded), Some(p)) => Some(UpgradeSpec::from_plan(p)?),
            (Some(UntilCondition::Upgraded), None) => {
                return Err(AppError::Usage(
                    "--until upgraded needs --plan FILE with a [target] table".into(),
                ));
            }
            (None, _) => None,
        };
        let interval = parse_duration(&args.interval)
            .map_err(|e| AppError::Usage(format!("--interval: {e}")))?;
        let deadline = match &args.timeout {
            Some(t) => Some(
                Instant::now()
                    + parse_duration(t).map_err(|e| AppError::Usage(format!("--timeout: {e}")))?,
            ),
            None => None,
        };
        Ok(Watch {
            until,
            interval,
            deadline,
        })
    }

    /// `--timeout` passed.
    fn timed_out(&self, args: &StatusArgs) -> Result<(), AppError> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(AppError::Timeout(format!(
                "--timeout {} passed before the service was {}",
                args.timeout.as_deref().unwrap_or_default(),
                if self.until.is_some() {
                    "upgraded"
                } else {
                    "watched long enough"
                }
            )));
        }
        Ok(())
    }

    /// The interval, or less when the deadline comes first.
    fn next_wait(&self) -> Duration {
        self.deadline.map_or(self.interval, |d| {
            self.interval
                .min(d.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(10))
        })
    }
}

/// The addresses of the service's Trusted nodes.
fn trusted_addresses(obs: &Observation) -> Vec<crate::ccf::NodeAddr> {
    obs.nodes
        .iter()
        .filter(|n| n.info.status == NodeStatus::Trusted)
        .filter_map(|n| n.address.clone())
        .collect()
}

/// `upgraded: all 3 nodes on 6.0.1`.
fn upgraded_line(obs: &Observation, spec: &UpgradeSpec) -> String {
    let trusted = obs
        .nodes
        .iter()
        .filter(|n| n.info.status == NodeStatus::Trusted)
        .count();
    format!(
        "upgraded: all {} on {}\n",
        crate::output::count(trusted, "node"),
        spec.target
            .ccf_version
            .clone()
            .unwrap_or_else(|| spec.target.describe())
    )
}

/// What `--watch` compares to decide whether to print again: the status document without the
/// node that happened to answer (a change is a change of the service).
fn change_key(mut doc: serde_json::Value) -> serde_json::Value {
    if let Some(m) = doc.as_object_mut() {
        m.remove("answered_by");
    }
    doc
}

/// The service is where the plan's target would leave it: nothing left to plan, nothing
/// Pending or Retired.
fn upgraded(obs: &Observation, spec: &UpgradeSpec) -> bool {
    let view = crate::exec::engine::view_of(obs);
    let trusted = view
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Trusted)
        .count();
    let ctx = RunContext {
        desired: trusted,
        min_fault_tolerance: 0,
        soaked_new: trusted,
        launched: vec![],
        ..Default::default()
    };
    view.nodes.iter().all(|n| n.status == NodeStatus::Trusted) && plan(&view, spec, &ctx).is_done()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn another_answering_node_is_not_a_change() {
        let a = json!({"answered_by": "10.0.0.1:8080", "current_view": 4});
        let b = json!({"answered_by": "10.0.0.2:8080", "current_view": 4});
        let c = json!({"answered_by": "10.0.0.2:8080", "current_view": 5});
        assert_eq!(super::change_key(a.clone()), super::change_key(b));
        assert_ne!(super::change_key(a), super::change_key(c));
    }
}
