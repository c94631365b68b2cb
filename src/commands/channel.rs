//! `noderoll channel check`: is there a release on the channel this service should move to?

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde_json::json;

use crate::ccf::types::NodeStatus;
use crate::ccf::{CcfClient, ClientOptions, ServiceCert};
use std::path::Path;

use crate::channel::{Manifest, Release, Running, fetch::fetch, judge};
use crate::cli::args::{
    ApplyArgs, ChannelApplyArgs, ChannelCheckArgs, ChannelClearArgs, ChannelSourceArgs, ServiceArgs,
};
use crate::cli::dispatch::print_stdout;
use crate::errors::AppError;
use crate::exit_codes;
use crate::journal::{Journal, Record, ServiceState};
use crate::observe::{NodeVersion, observe, probe_options};
use crate::output::OutputFormat;
use crate::output::events::envelope;
use crate::plan::spec::{CodePlatform, VIRTUAL_MEASUREMENT};
use crate::wait::Cancel;

/// The channel, the service and this machine's journal of it.
struct Seen {
    manifest: Manifest,
    running: Running,
    journal: Journal,
    state: ServiceState,
}

async fn look(source: &ChannelSourceArgs, cancel: Cancel) -> Result<Seen, AppError> {
    let text = fetch(&source.channel, source.ca.as_deref()).await?;
    let manifest = Manifest::parse(&text, &source.channel)?;
    let (service, cert, state) = open_service(&source.plan, source.state_dir.as_ref())?;
    let client = CcfClient::new(&cert, ClientOptions::default(), cancel.clone())?;
    let probe = CcfClient::new(&cert, probe_options(), cancel)?;
    let obs = observe(&client, &probe, &service.nodes).await?;
    let trusted: Vec<_> = obs
        .nodes
        .iter()
        .filter(|n| n.info.status == NodeStatus::Trusted)
        .collect();
    let claims: Vec<_> = trusted
        .iter()
        .filter_map(|n| n.attestation.as_ref())
        .collect();
    let Some(first) = claims.first() else {
        return Err(AppError::Usage(
            "no trusted node showed what it runs (no quote could be read); retry when they answer"
                .into(),
        ));
    };
    let running = Running {
        platform: if first.measurement == VIRTUAL_MEASUREMENT {
            CodePlatform::Virtual
        } else {
            CodePlatform::Snp
        },
        host_data: claims
            .iter()
            .map(|c| c.host_data.to_ascii_lowercase())
            .collect(),
        versions: trusted
            .iter()
            .filter_map(|n| match &n.version {
                NodeVersion::Reported(v) => Some(v.clone()),
                _ => None,
            })
            .collect(),
    };
    let journal = Journal::open(&state)?;
    Ok(Seen {
        manifest,
        running,
        journal,
        state,
    })
}

/// The service a plan file names, its certificate, and this machine's state of it.
fn open_service(
    plan: &Path,
    state_dir: Option<&std::path::PathBuf>,
) -> Result<(crate::settings::ServiceSettings, ServiceCert, ServiceState), AppError> {
    let service_args = ServiceArgs {
        plan: Some(plan.to_path_buf()),
        service_url: Vec::new(),
        service_cert: None,
    };
    let (_, service, cert) = crate::commands::upgrade::load_service(&service_args)?;
    let state_dir = state_dir
        .cloned()
        .unwrap_or_else(crate::journal::lock::default_state_dir);
    let state = ServiceState::open(&state_dir, &cert.sha256())?;
    Ok((service, cert, state))
}

/// Why a release is skipped on this service: it failed here and was rolled back.
fn failed_here(journal: &Journal, retry: bool) -> impl Fn(&Release) -> Option<String> + '_ {
    move |r: &Release| {
        if retry {
            return None;
        }
        journal.failed_target(&r.target().key()).map(|(at, reason)| {
            format!(
                "failed on this service on {at} ({reason}); skipped until a newer release (or --retry-failed-target)"
            )
        })
    }
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
            }))
        ))?,
        OutputFormat::Human => {
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic);
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
            match &upgrade {
                Some(r) => out.push_str(&format!(
                    "Upgrade available: {}. Its [target] table:\n\n{}",
                    r.ccf_version,
                    target_table(r)
                )),
                None => out.push_str("Current: no newer eligible release on this channel.\n"),
            }
            print_stdout(&out)?;
        }
    }
    Ok(if upgrade.is_some() {
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
/// then the same run as `apply` (lock, journal, preflight, rollback on failure).
pub async fn apply(
    args: &ChannelApplyArgs,
    format: OutputFormat,
    quiet: bool,
    cancel: Cancel,
) -> Result<u8, AppError> {
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
    let cache = seen.state.dir().join("packages");
    let package =
        match crate::channel::package::verify(&release, &cache, args.source.ca.as_deref()).await {
            Ok(p) => p,
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
    let apply = ApplyArgs {
        retry_failed_target: args.retry_failed_target,
        ..ApplyArgs::for_plan(
            args.source.plan.clone(),
            args.yes,
            args.source.state_dir.clone(),
        )
    };
    let run = crate::commands::apply::ReleaseRun {
        target: release.target(),
        package,
    };
    crate::commands::apply::run_release(&apply, run, format, quiet, cancel).await
}

/// Clear every failed-release mark of the service (under its lock), printing what was cleared.
pub fn clear_failed(args: &ChannelClearArgs, format: OutputFormat) -> Result<u8, AppError> {
    let (_, _, state) = open_service(&args.plan, args.state_dir.as_ref())?;
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
