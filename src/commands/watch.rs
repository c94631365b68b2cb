//! `noderoll watch`: load and check every plan up front (a bad one stops the start, not a
//! tick), then hand over to the supervisor loop.

use std::collections::HashMap;

use crate::channel::service::open_service;
use crate::cli::args::WatchArgs;
use crate::errors::AppError;
use crate::output::Printer;
use crate::plan::spec::parse_duration;
use crate::settings::PlanFile;
use crate::wait::Cancel;
use crate::watch::{Service, WatchConfig};

/// Run `noderoll watch`.
pub(crate) async fn run(
    args: &WatchArgs,
    printer: Printer,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let interval =
        parse_duration(&args.interval).map_err(|e| AppError::Usage(format!("--interval: {e}")))?;
    if interval < std::time::Duration::from_secs(1) {
        return Err(AppError::Usage(
            "--interval: at least 1s (the channel and every service are read each time)".into(),
        ));
    }
    let services = services(args)?;
    let program = std::env::current_exe().map_err(|e| {
        AppError::Usage(format!(
            "cannot find the noderoll executable to run upgrades with: {e}"
        ))
    })?;
    let global_args = printer.global_args();
    let cfg = WatchConfig {
        services,
        channel: args.channel.clone(),
        ca: args.ca.clone(),
        state_dir: args.state_dir.dir.clone(),
        interval,
        max_concurrent: usize::from(args.max_concurrent),
        once: args.once,
        program,
        global_args,
        exit_code_of: crate::errors::look_exit_code,
    };
    Ok(crate::watch::run(cfg, printer.watch_reporter(), cancel).await)
}

/// Every plan loaded and validated (including `[watch]`), each naming a different service,
/// labelled by file name (by path where names collide).
fn services(args: &WatchArgs) -> Result<Vec<Service>, AppError> {
    let mut by_service: HashMap<String, &std::path::Path> = HashMap::new();
    let mut services = Vec::new();
    for path in &args.plans {
        let plan = PlanFile::load(path)?;
        let (_, cert, _) = open_service(path, args.state_dir.dir.as_ref())?;
        if let Some(other) = by_service.insert(cert.sha256(), path) {
            return Err(AppError::Usage(format!(
                "{} and {} name the same service (same service certificate): give each service once, so that it has one upgrade at a time",
                other.display(),
                path.display()
            )));
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        services.push(Service {
            label: name,
            plan: path.clone(),
            settings: plan.watch,
        });
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for s in &services {
        *counts.entry(s.label.clone()).or_default() += 1;
    }
    for s in &mut services {
        if counts[&s.label] > 1 {
            s.label = s.plan.display().to_string();
        }
    }
    Ok(services)
}
