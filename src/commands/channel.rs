//! `noderoll channel check | apply | clear-failed`: which release of a channel a service
//! should run, moving it there, and forgetting the releases that failed on it.

use std::io::Write;

use serde_json::json;

use crate::channel::package::PackageError;
use crate::channel::service::{
    Seen, failed_here, fetch_manifest, look_with, open_service, unsettled,
};
use crate::channel::{Release, judge};
use crate::cli::args::{
    ApplyArgs, ChannelApplyArgs, ChannelCheckArgs, ChannelClearArgs, ChannelSourceArgs,
};
use crate::cli::dispatch::print_stdout;
use crate::commands::apply::ReleaseRun;
use crate::errors::AppError;
use crate::exit_codes;
use crate::journal::{Journal, Record, ServiceState, Unsettled};
use crate::output::OutputFormat;
use crate::output::events::{envelope, write_line};
use crate::plan::spec::CodePlatform;
use crate::wait::Cancel;

async fn look(source: &ChannelSourceArgs, cancel: Cancel) -> Result<Seen, AppError> {
    let manifest = fetch_manifest(&source.channel, source.ca.as_deref()).await?;
    look_with(
        manifest,
        &source.plan,
        source.state_dir.dir.as_ref(),
        cancel,
    )
    .await
}

/// Read the channel, observe the service (read-only), judge every release.
pub async fn check(
    args: &ChannelCheckArgs,
    format: OutputFormat,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let seen = look(&args.source, cancel).await?;
    let (judged, newest) = judge(
        &seen.manifest,
        &seen.running,
        &failed_here(&seen.journal, false),
    );
    let (manifest, running) = (&seen.manifest, &seen.running);
    let upgrade = newest.map(|i| judged[i].release.clone());
    let unsettled = seen.journal.unsettled();
    match format {
        OutputFormat::Json => print_stdout(&format!(
            "{}\n",
            envelope(json!({
                "type": "channel_check",
                "channel": &manifest.channel,
                "source": args.source.channel,
                "running": {
                    "platform": running.platform,
                    "host_data": dedup(&running.host_data),
                    "ccf_version": dedup(&running.versions),
                },
                "releases": judged,
                "upgrade": upgrade,
                "in_progress": unsettled.as_ref().map(|u| json!({
                    "target": u.target,
                    "release": u.release.as_ref().map(|r| &r.ccf_version),
                    "rolling_back": u.rolling_back,
                })),
            }))
        ))?,
        OutputFormat::Human => {
            let mut t = crate::output::table();
            t.set_header(vec!["version", "platform", "host data", "eligible", "why"]);
            for j in &judged {
                t.add_row(vec![
                    j.release.ccf_version.clone(),
                    platform(j.release.platform).into(),
                    format!("{}…", &j.release.host_data[..8]),
                    if j.eligible { "yes" } else { "no" }.into(),
                    j.reason.clone(),
                ]);
            }
            let mut out = format!(
                "Channel {} ({}): {} release(s). The service runs {} ({}).\n{t}\n",
                manifest.channel,
                args.source.channel,
                judged.len(),
                dedup(&running.versions).join(", "),
                dedup(&running.host_data)
                    .iter()
                    .map(|h| format!("{} {}…", platform(running.platform), &h[..8.min(h.len())]))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            match (&unsettled, &upgrade) {
                (Some(u), _) => out.push_str(&format!(
                    "In progress: an earlier run of this machine left the {} {} unfinished; `noderoll channel apply` finishes it before anything else.\n",
                    if u.rolling_back { "rollback from" } else { "upgrade to" },
                    u.target
                )),
                (None, Some(r)) => out.push_str(&format!(
                    "Upgrade available: {}. Its [target] table:\n\n{}",
                    r.ccf_version,
                    target_table(r)
                )),
                (None, None) => {
                    out.push_str("Current: no newer eligible release on this channel.\n")
                }
            }
            print_stdout(&out)?;
        }
    }
    Ok(if upgrade.is_some() || unsettled.is_some() {
        exit_codes::CHANGES_PENDING
    } else {
        exit_codes::SUCCESS
    })
}

fn platform(p: CodePlatform) -> &'static str {
    match p {
        CodePlatform::Virtual => "virtual",
        CodePlatform::Snp => "snp",
    }
}

fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = v.to_vec();
    out.sort();
    out.dedup();
    out
}

/// The plan file `[target]` for a release.
fn target_table(r: &Release) -> String {
    let mut t = format!(
        "[target]\nplatform = \"{}\"\nhost_data = \"{}\"\nccf_version = \"{}\"\n",
        platform(r.platform),
        r.host_data,
        r.ccf_version
    );
    if let Some(m) = &r.measurement {
        t.push_str(&format!("measurement = \"{m}\"\n"));
    }
    if let Some(p) = &r.security_policy {
        t.push_str(&format!("security_policy = {p:?}\n"));
    }
    t
}

/// Upgrade the service to the channel's newest eligible release: verify its package first,
/// then the same run as `apply` (lock, journal, preflight, rollback on failure). An upgrade
/// this machine left unsettled on the service is finished first, and is all this run does.
pub async fn apply(
    args: &ChannelApplyArgs,
    format: OutputFormat,
    quiet: bool,
    cancel: Cancel,
) -> Result<u8, AppError> {
    if let Some(u) = unsettled(&args.source.plan, args.source.state_dir.dir.as_ref())? {
        return resume(args, u, format, quiet, cancel).await;
    }
    let seen = look(&args.source, cancel.clone()).await?;
    let (judged, newest) = judge(
        &seen.manifest,
        &seen.running,
        &failed_here(&seen.journal, args.retry_failed_target),
    );
    let Some(i) = newest else {
        let line = format!(
            "Nothing to do: no newer eligible release on channel {}.\n",
            seen.manifest.channel
        );
        match format {
            OutputFormat::Human => print_stdout(&line)?,
            OutputFormat::Json => print_stdout(&format!(
                "{}\n",
                envelope(json!({"type": "summary", "outcome": "nothing_to_do", "steps": 0}))
            ))?,
        }
        return Ok(exit_codes::SUCCESS);
    };
    let release = judged[i].release.clone();
    let run = match verified(args, release.clone(), &seen.state).await {
        Ok(run) => run,
        Err(e) => {
            // Remembered like a failed upgrade: the release is skipped until a newer one.
            let _lock = seen.state.lock("channel", |_| {})?;
            let target = release.target();
            seen.journal.append(&Record::TargetFailed {
                run_id: "channel".into(),
                at: jiff::Timestamp::now().to_string(),
                key: target.key(),
                target: target.describe(),
                reason: crate::errors::one_line(&e),
            })?;
            return Err(e.into());
        }
    };
    drop(seen);
    let apply = apply_args(args, args.retry_failed_target);
    crate::commands::apply::run_release(&apply, Some(run), false, format, quiet, cancel).await
}

/// `release` with its package downloaded (once, into the service's package cache) and
/// verified, ready to run.
async fn verified(
    args: &ChannelApplyArgs,
    release: Release,
    state: &ServiceState,
) -> Result<ReleaseRun, PackageError> {
    let cache = state.dir().join("packages");
    let package =
        crate::channel::package::verify(&release, &cache, args.source.ca.as_deref()).await?;
    Ok(ReleaseRun {
        release,
        package,
        resume_hint: resume_hint(args),
    })
}

/// The `apply` run a channel command makes.
fn apply_args(args: &ChannelApplyArgs, retry_failed_target: bool) -> ApplyArgs {
    ApplyArgs {
        retry_failed_target,
        ..ApplyArgs::for_plan(
            args.source.plan.clone(),
            args.yes,
            args.source.state_dir.clone(),
        )
    }
}

/// Finish what an earlier run left unsettled: its release (even if the channel has moved on
/// since) or a plan file's own `[target]`, forward or, if it was rolling back, back.
async fn resume(
    args: &ChannelApplyArgs,
    u: Unsettled,
    format: OutputFormat,
    quiet: bool,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let what = if u.rolling_back {
        "rollback from"
    } else {
        "upgrade to"
    };
    match format {
        OutputFormat::Json => write_line(&envelope(json!({
            "type": "resuming",
            "target": u.target,
            "release": u.release.as_ref().map(|r| &r.ccf_version),
            "rolling_back": u.rolling_back,
        }))),
        OutputFormat::Human if !quiet => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "Resuming the {what} {} that an earlier run left unfinished; the channel is looked at once it is settled.",
                u.target
            );
        }
        OutputFormat::Human => {}
    }
    // The release was chosen before it failed here (if it did): finishing it is not a retry.
    let apply = apply_args(args, true);
    let run = match u.release {
        Some(release) => {
            let (_, _, state) =
                open_service(&args.source.plan, args.source.state_dir.dir.as_ref())?;
            Some(verified(args, release, &state).await?)
        }
        // A plan file's own `[target]`.
        None => None,
    };
    crate::commands::apply::run_release(&apply, run, u.rolling_back, format, quiet, cancel).await
}

/// Clear every failed-release mark of the service (under its lock), printing what was cleared.
pub fn clear_failed(args: &ChannelClearArgs, format: OutputFormat) -> Result<u8, AppError> {
    let (_, _, state) = open_service(&args.plan, args.state_dir.dir.as_ref())?;
    let _lock = state.lock("clear-failed", |_| {})?;
    let journal = Journal::open(&state)?;
    let cleared = journal.failed_targets();
    if !cleared.is_empty() {
        journal.append(&Record::FailedCleared {
            at: jiff::Timestamp::now().to_string(),
        })?;
    }
    match format {
        OutputFormat::Json => print_stdout(&format!(
            "{}\n",
            envelope(json!({
                "type": "failed_cleared",
                "cleared": cleared
                    .iter()
                    .map(|(t, at, why)| json!({"target": t, "failed_at": at, "reason": why}))
                    .collect::<Vec<_>>(),
            }))
        ))?,
        OutputFormat::Human if cleared.is_empty() => {
            print_stdout("No release is marked failed on this service.\n")?
        }
        OutputFormat::Human => {
            let mut out = String::from("Cleared; these may be tried again:\n");
            for (t, at, why) in &cleared {
                out.push_str(&format!("  {t} (failed {at}: {why})\n"));
            }
            print_stdout(&out)?;
        }
    }
    Ok(exit_codes::SUCCESS)
}

/// The command that continues an interrupted `channel apply`.
fn resume_hint(args: &ChannelApplyArgs) -> String {
    let mut hint = format!(
        "noderoll channel apply --plan {} --channel {}",
        args.source.plan.display(),
        args.source.channel
    );
    if let Some(ca) = &args.source.ca {
        hint.push_str(&format!(" --ca {}", ca.display()));
    }
    hint + " --yes"
}
