//! `noderoll demo`: the whole upgrade against a sandbox started in-process.

use std::time::Instant;

use crate::cli::args::DemoArgs;
use crate::commands::apply::finish;
use crate::commands::upgrade::wire;
use crate::errors::AppError;
use crate::observe::observe;
use crate::output::{Printer, status};
use crate::sandbox::{LatencyModel, Sandbox, SandboxOptions};
use crate::wait::Cancel;

/// Start a sandbox, show it, upgrade it, show it again.
pub(crate) async fn run(args: &DemoArgs, printer: Printer, cancel: Cancel) -> Result<u8, AppError> {
    let temp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().map_err(|e| {
                AppError::Usage(format!("cannot create a temporary directory: {e}"))
            })?;
            temp.path().to_path_buf()
        }
    };
    let mut opts = SandboxOptions::new(&dir);
    opts.nodes = args.nodes;
    opts.latency = LatencyModel::default().with_speed(args.speed);
    opts.platform = crate::commands::sandbox::platform(args.platform);
    let sandbox = Sandbox::start(opts).await?;
    let plan_path = dir.join(&sandbox.info().plan);
    // The sandbox lives only as long as the demo: nothing of it is kept in the state directory.
    let w = wire(&plan_path, None, &cancel)?;
    if !printer.is_json() {
        let before = observe(&w.client, &w.probe, &w.plan.service.nodes).await?;
        printer.human(&format!(
            "noderoll demo: a simulated {}-node CCF service (the built-in sandbox), upgraded from {} to {} \
             by rolling node replacement. Its plan file lives only as long as the demo; \
             `noderoll sandbox --dir DIR` writes one to keep.\n\nBefore:\n{}\n",
            args.nodes,
            sandbox.info().current_build.ccf_version,
            sandbox.info().next_build.ccf_version,
            status::render_human(&before)
        ))?;
    }
    let (human, reporter) = printer.run_reporter();
    let mut engine = w.engine(reporter, cancel);
    let started = Instant::now();
    let result = engine.run().await;
    if let Some(h) = &human {
        h.finish();
    }
    if result.is_ok() {
        printer.human("\nAfter:\n")?;
    }
    let ran = (
        result.map_err(AppError::from),
        engine.known_nodes(),
        engine.executed(),
    );
    let code = finish(
        &w,
        None,
        // The demo shows its outcome even with -q (its progress is what -q quiets).
        Printer::new(printer.format(), false, 0),
        ran,
        started,
        "noderoll demo",
        None,
    )
    .await?;
    let violations = sandbox.violations();
    if !violations.is_empty() {
        return Err(AppError::Violations(violations.len()));
    }
    printer.human(
            "The sandbox recorded no invariant violation (no node stopped early, quorum kept throughout).\n",
    )?;
    Ok(code)
}
