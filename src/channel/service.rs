//! One service seen against a channel: its journal first (an upgrade left unsettled there
//! comes before anything else), then what its trusted nodes run, judged against a manifest.
//! Read-only.

use std::path::{Path, PathBuf};

use crate::ccf::ServiceCert;
use crate::ccf::types::NodeStatus;
use crate::journal::{Journal, ServiceState, Unsettled};
use crate::observe::{NodeVersion, observe};
use crate::plan::spec::{CodePlatform, VIRTUAL_MEASUREMENT};
use crate::settings::{PlanFile, ServiceSettings};
use crate::wait::Cancel;

pub(crate) use super::error::LookError;
use super::fetch::fetch;
use super::{Judged, Manifest, Release, Running, judge};

/// The channel, the service and this machine's journal of it.
pub(crate) struct Seen {
    /// The channel's manifest.
    pub manifest: Manifest,
    /// What the service's trusted nodes run.
    pub running: Running,
    /// This machine's journal of the service.
    pub journal: Journal,
    /// Its state directory.
    pub state: ServiceState,
}

/// Fetch (a file or `https://`, verified against the system roots or only `ca`) and parse
/// a channel manifest.
pub(crate) async fn fetch_manifest(
    channel: &str,
    ca: Option<&Path>,
) -> Result<Manifest, LookError> {
    let text = fetch(channel, ca).await?;
    Ok(Manifest::parse(&text, channel)?)
}

/// The service of `plan` and its journal, next to an already fetched `manifest`.
pub(crate) async fn look_with(
    manifest: Manifest,
    plan: &Path,
    state_dir: Option<&PathBuf>,
    cancel: Cancel,
) -> Result<Seen, LookError> {
    let (service, cert, state) = open_service(plan, state_dir)?;
    let state_root = state_dir
        .cloned()
        .unwrap_or_else(crate::journal::lock::default_state_dir);
    let (client, probe) = crate::observe::service_clients(&cert, Some(&state_root), &cancel)?;
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
        return Err(LookError::NoClaims);
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
        snp_tcb_versions: obs
            .join_policy
            .snp
            .as_ref()
            .and_then(|s| s.tcb_versions.clone()),
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
pub(crate) fn open_service(
    plan: &Path,
    state_dir: Option<&PathBuf>,
) -> Result<(ServiceSettings, ServiceCert, ServiceState), LookError> {
    let service = PlanFile::load(plan)?.service;
    let cert = ServiceCert::load(&service.service_cert)?;
    let state_dir = state_dir
        .cloned()
        .unwrap_or_else(crate::journal::lock::default_state_dir);
    let state = ServiceState::open(&state_dir, &cert.sha256())?;
    Ok((service, cert, state))
}

/// Why a release is skipped on this service: it failed here and was rolled back.
pub(crate) fn failed_here(
    journal: &Journal,
    retry: bool,
) -> impl Fn(&Release) -> Option<String> + '_ {
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

/// What a channel command found about one service: the channel's verdict, or an upgrade
/// this machine left unsettled there (which comes first).
pub(crate) enum Assessment {
    /// An upgrade of this machine is unsettled on the service: finish it first.
    Unsettled(Unsettled),
    /// The releases judged against what the service runs.
    Judged {
        /// Every release, newest first.
        judged: Vec<Judged>,
        /// The newest eligible one, if any.
        upgrade: Option<Release>,
        /// What the service runs.
        running: Running,
    },
}

/// The journal first (an unsettled upgrade needs neither the channel nor a look at the
/// service), then `manifest` judged against the service. Read-only.
pub(crate) async fn assess(
    manifest: Manifest,
    plan: &Path,
    state_dir: Option<&PathBuf>,
    cancel: Cancel,
) -> Result<Assessment, LookError> {
    if let Some(u) = unsettled(plan, state_dir)? {
        return Ok(Assessment::Unsettled(u));
    }
    let seen = look_with(manifest, plan, state_dir, cancel).await?;
    let (judged, newest) = judge(
        &seen.manifest,
        &seen.running,
        &failed_here(&seen.journal, false),
    );
    let upgrade = newest.map(|i| judged[i].release.clone());
    Ok(Assessment::Judged {
        judged,
        upgrade,
        running: seen.running,
    })
}

/// The upgrade this machine left unsettled on the service of `plan`, from its journal.
pub(crate) fn unsettled(
    plan: &Path,
    state_dir: Option<&PathBuf>,
) -> Result<Option<Unsettled>, LookError> {
    let (_, _, state) = open_service(plan, state_dir)?;
    Ok(Journal::open(&state)?.unsettled())
}
