//! `noderoll status`, once or `--watch`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::ccf::types::NodeStatus;
use crate::cli::args::{StatusArgs, UntilCondition};
use crate::cli::dispatch::print_stdout;
use crate::errors::AppError;
use crate::exit_codes;
use crate::observe::{Observation, ProbeCache, observe_cached};
use crate::output::events::envelope;
use crate::output::{OutputFormat, status};
use crate::plan::UpgradeSpec;
use crate::plan::planner::{RunContext, plan};
use crate::plan::spec::parse_duration;
use crate::wait::Cancel;

/// Observe the service once (or keep watching) and print it.
pub async fn run(args: &StatusArgs, format: OutputFormat, cancel: Cancel) -> Result<u8, AppError> {
    let (plan_file, service, cert) = crate::commands::upgrade::load_service(&args.service)?;
    let state_dir = args.state_dir.resolve();
    let (client, probe) = crate::observe::service_clients(&cert, Some(&state_dir), &cancel)?;
    let cache = ProbeCache::default();
    if !args.watch {
        let obs = observe_cached(&client, &probe, &service.nodes, &cache).await?;
        print_once(&obs, format)?;
        return Ok(exit_codes::SUCCESS);
    }
    let spec = match (args.until, &plan_file) {
        (Some(UntilCondition::Upgraded), Some(p)) => Some(UpgradeSpec::from_plan(p)?),
        (Some(UntilCondition::Upgraded), None) => {
            return Err(AppError::Usage(
                "--until upgraded needs --plan FILE with a [target] table".into(),
            ));
        }
        (None, _) => None,
    };
    let interval =
        parse_duration(&args.interval).map_err(|e| AppError::Usage(format!("--interval: {e}")))?;
    let deadline = match &args.timeout {
        Some(t) => Some(
            Instant::now()
                + parse_duration(t).map_err(|e| AppError::Usage(format!("--timeout: {e}")))?,
        ),
        None => None,
    };
    let tty = std::io::stdout().is_terminal();
    let mut last = serde_json::Value::Null;
    let mut nodes = service.nodes.clone();
    loop {
        match observe_cached(&client, &probe, &nodes, &cache).await {
            Ok(obs) => {
                // Follow the service as nodes come and go.
                nodes = obs
                    .nodes
                    .iter()
                    .filter(|n| n.info.status == NodeStatus::Trusted)
                    .filter_map(|n| n.address.clone())
                    .collect();
                nodes.extend(service.nodes.iter().cloned());
                let shown = status::render_human(&obs);
                let key = change_key(
                    serde_json::to_value(status::document(&obs)).expect("status serialises"),
                );
                if key != last {
                    let changed = jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC");
                    match format {
                        OutputFormat::Human if tty => print_stdout(&format!(
                            "\x1b[2J\x1b[HLast change: {changed} (watching every {})\n{shown}",
                            args.interval
                        ))?,
                        OutputFormat::Human => {
                            print_stdout(&format!("--- {}\n{shown}", jiff::Timestamp::now()))?
                        }
                        OutputFormat::Json => print_stdout(&format!(
                            "{}\n",
                            envelope(
                                serde_json::to_value(status::document(&obs))
                                    .expect("status serialises")
                            )
                        ))?,
                    }
                    last = key;
                }
                if let Some(spec) = &spec
                    && upgraded(&obs, spec)
                {
                    if format == OutputFormat::Human {
                        let trusted = obs
                            .nodes
                            .iter()
                            .filter(|n| n.info.status == NodeStatus::Trusted)
                            .count();
                        print_stdout(&format!(
                            "upgraded: all {} on {}\n",
                            crate::output::count(trusted, "node"),
                            spec.target
                                .ccf_version
                                .clone()
                                .unwrap_or_else(|| spec.target.describe())
                        ))?;
                    }
                    return Ok(exit_codes::SUCCESS);
                }
            }
            Err(e) => tracing::warn!("{}", crate::errors::render(&e)),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(AppError::Timeout(format!(
                "--timeout {} passed before the service was {}",
                args.timeout.as_deref().unwrap_or_default(),
                if spec.is_some() {
                    "upgraded"
                } else {
                    "watched long enough"
                }
            )));
        }
        let wait = deadline.map_or(interval, |d| {
            interval
                .min(d.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(10))
        });
        if !cancel.sleep(wait).await {
            // Asked to stop: fine when just watching; the condition did not hold otherwise.
            return Ok(if spec.is_some() {
                exit_codes::RESUMABLE
            } else {
                exit_codes::SUCCESS
            });
        }
    }
}

/// What `--watch` compares to decide whether to print again: the status document without the
/// node that happened to answer (a change is a change of the service).
fn change_key(mut doc: serde_json::Value) -> serde_json::Value {
    if let Some(m) = doc.as_object_mut() {
        m.remove("answered_by");
    }
    doc
}

fn print_once(obs: &Observation, format: OutputFormat) -> Result<(), AppError> {
    match format {
        OutputFormat::Human => print_stdout(&status::render_human(obs)),
        OutputFormat::Json => {
            let doc = status::document(obs);
            print_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).expect("status document serialises")
            ))
        }
    }
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
