//! `noderoll channel check | apply | clear-failed`: which release of a channel a service
//! should run, moving it there, and forgetting the releases that failed on it.

use crate::channel::package::PackageError;
use crate::channel::service::{
    Seen, failed_here, fetch_manifest, look_with, open_service, unsettled,
};
use crate::channel::{Release, judge};
use crate::cli::args::{
    ApplyArgs, ChannelApplyArgs, ChannelCheckArgs, ChannelClearArgs, ChannelSourceArgs,
};
use crate::commands::apply::ReleaseRun;
use crate::errors::AppError;
use crate::exit_codes;
use crate::journal::{Journal, Record, ServiceState, Unsettled};
use crate::next_step::{Action, NextStep, shell_word};
use crate::output::Printer;
use crate::output::channel::{ChannelCheck, Cleared, Resuming};
use crate::output::printer::{Text, json_line};
use crate::output::summary::Summary;
use crate::wait::Cancel;

async fn look(source: &ChannelSourceArgs, cancel: Cancel) -> Result<Seen, AppError> {
    let manifest = fetch_manifest(&source.channel, source.ca.as_deref()).await?;
    let state_dir = source.state_dir.dir.as_ref();
    Ok(look_with(manifest, &source.plan, state_dir, cancel).await?)
}

/// Read the channel, observe the service (read-only), judge every release.
pub(crate) async fn check(
    args: &ChannelCheckArgs,
    printer: Printer,
    cancel: Cancel,
) -> Result<u8, AppError> {
    let seen = look(&args.source, cancel).await?;
    let (judged, newest) = judge(
        &seen.manifest,
        &seen.running,
        &failed_here(&seen.journal, false),
    );
    let upgrade = newest.map(|i| &judged[i].release);
    let unsettled = seen.journal.unsettled();
    // The release named, not pointed at: with -q the table is not printed.
    let reason = match (&unsettled, upgrade) {
        (Some(_), _) => Some(
            "an earlier run of this machine is unfinished: channel apply finishes it".to_string(),
        ),
        (None, Some(r)) => Some(format!(
            "the channel has a newer eligible release: {} ({} {}…)",
            r.ccf_version,
            r.platform.as_str(),
            crate::ccf::types::short_id(&r.host_data)
        )),
        (None, None) => None,
    };
    let next = reason.map(|reason| {
        NextStep::new(
            Action::Apply,
            Some(channel_apply_command(&args.source)),
            reason,
        )
    });
    printer.print(&ChannelCheck {
        channel: &seen.manifest.channel,
        source: &args.source.channel,
        running: &seen.running,
        judged: &judged,
        upgrade,
        unsettled: unsettled.as_ref(),
        next_step: next.as_ref(),
    })?;
    Ok(match next {
        Some(next) => {
            crate::next_step::print_stderr(&next);
            exit_codes::CHANGES_PENDING
        }
        None => exit_codes::SUCCESS,
    })
}

/// `noderoll channel apply` of the channel and plan `check` looked at.
fn channel_apply_command(source: &ChannelSourceArgs) -> String {
    let word = |p: &std::path::Path| shell_word(&p.display().to_string());
    let ca = match &source.ca {
        Some(ca) => format!(" --ca {}", word(ca)),
        None => String::new(),
    };
    format!(
        "noderoll channel apply --plan {} --channel {}{ca} --yes",
        word(&source.plan),
        shell_word(&source.channel)
    )
}

/// Upgrade the service to the channel's newest eligible release: verify its package first,
/// then the same run as `apply` (lock, journal, preflight, rollback on failure). An upgrade
/// this machine left unsettled on the service is finished first, and is all this run does.
pub(crate) async fn apply(
    args: &ChannelApplyArgs,
    printer: Printer,
    cancel: Cancel,
) -> Result<u8, AppError> {
    if let Some(u) = unsettled(&args.source.plan, args.source.state_dir.dir.as_ref())? {
        return resume(args, u, printer, cancel).await;
    }
    let seen = look(&args.source, cancel.clone()).await?;
    let (judged, newest) = judge(
        &seen.manifest,
        &seen.running,
        &failed_here(&seen.journal, args.retry_failed_target),
    );
    let Some(i) = newest else {
        printer.print(&Text {
            human: format!(
                "Nothing to do: no newer eligible release on channel {}.\n",
                seen.manifest.channel
            ),
            json: json_line(&Summary::nothing_to_do().record()),
        })?;
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
                target: target.reference().into(),
                reason: crate::errors::one_line(&e),
            })?;
            return Err(e.into());
        }
    };
    drop(seen);
    let apply = apply_args(args, args.retry_failed_target);
    crate::commands::apply::run_release(&apply, Some(run), false, printer, cancel).await
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
    printer: Printer,
    cancel: Cancel,
) -> Result<u8, AppError> {
    printer.notice(&Resuming(&u));
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
    crate::commands::apply::run_release(&apply, run, u.rolling_back, printer, cancel).await
}

/// Clear every failed-release mark of the service (under its lock), printing what was cleared.
pub(crate) fn clear_failed(args: &ChannelClearArgs, printer: Printer) -> Result<u8, AppError> {
    let (_, _, state) = open_service(&args.plan, args.state_dir.dir.as_ref())?;
    let _lock = state.lock("clear-failed", |_| {})?;
    let journal = Journal::open(&state)?;
    let cleared = journal.failed_targets();
    if !cleared.is_empty() {
        journal.append(&Record::FailedCleared {
            at: jiff::Timestamp::now().to_string(),
            target: None,
        })?;
    }
    printer.print(&Cleared(&cleared))?;
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
    crate::next_step::Kept::of_process().carried_by(&(hint + " --yes"))
}
