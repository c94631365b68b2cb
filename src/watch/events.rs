//! What the watch loop tells its reporter: every [`WatchEvent`] it emits (the JSON Lines
//! vocabulary of `noderoll watch --output json`) and the [`WatchReporter`] that renders them.

use serde::Serialize;

use crate::channel::Release;
use crate::journal::RecordedTarget;

/// Which output stream of an upgrade a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stream {
    /// Results (tables, JSON events).
    Stdout,
    /// Progress lines, warnings, errors.
    Stderr,
}

/// A release skipped on a service because it failed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Skipped {
    /// Its version.
    pub ccf_version: String,
    /// When and why it failed.
    pub reason: String,
}

/// Something the watch loop did or saw. Every type is `watch_*`, apart from the events of
/// the upgrades it runs, which keep theirs.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum WatchEvent {
    /// The loop began.
    WatchStarted {
        /// Service labels.
        services: Vec<String>,
        /// The channel.
        channel: String,
        /// Seconds between looks.
        interval_s: f64,
        /// Upgrades at once, at most.
        max_concurrent: usize,
        /// `--once`.
        once: bool,
    },
    /// An upgrade this machine left unsettled is resumed (before any new one).
    #[serde(rename = "watch_resuming")]
    Resuming {
        /// The service, by its plan's label (serialised as `plan`).
        #[serde(rename = "plan")]
        service: String,
        /// Its target.
        target: RecordedTarget,
        /// It was rolling back.
        rolling_back: bool,
    },
    /// The service runs the newest release it may.
    #[serde(rename = "watch_current")]
    Current {
        /// The service, by its plan's label (serialised as `plan`).
        #[serde(rename = "plan")]
        service: String,
        /// Versions its trusted nodes report (distinct, sorted).
        running_versions: Vec<String>,
        /// Newer releases skipped because they failed here.
        skipped: Vec<Skipped>,
    },
    /// A newer release is eligible, but no maintenance window is open.
    #[serde(rename = "watch_deferred")]
    Deferred {
        /// The service, by its plan's label (serialised as `plan`).
        #[serde(rename = "plan")]
        service: String,
        /// The release, as the manifest published it.
        release: Release,
        /// When the next window opens (RFC 3339).
        next_window: Option<String>,
    },
    /// A newer release is eligible; its upgrade waits for a slot.
    #[serde(rename = "watch_upgrade_available")]
    UpgradeAvailable {
        /// The service, by its plan's label (serialised as `plan`).
        #[serde(rename = "plan")]
        service: String,
        /// The release, as the manifest published it.
        release: Release,
    },
    /// An upgrade (or resume) began.
    #[serde(rename = "watch_upgrade_started")]
    UpgradeStarted {
        /// The service, by its plan's label (serialised as `plan`).
        #[serde(rename = "plan")]
        service: String,
        /// The upgrade's target (resuming: as the journal recorded it).
        target: RecordedTarget,
        /// The channel release it upgrades to; none when resuming an upgrade that did not
        /// come from a channel.
        release: Option<Release>,
        /// Finishing an unsettled upgrade (`resume` is the summary's command to do so).
        resuming: bool,
    },
    /// A line the upgrade printed.
    #[serde(rename = "watch_output")]
    Output {
        /// The service, by its plan's label (serialised as `plan`).
        #[serde(rename = "plan")]
        service: String,
        /// Which stream.
        stream: Stream,
        /// The line.
        line: String,
    },
    /// An upgrade ended.
    #[serde(rename = "watch_upgrade_ended")]
    UpgradeEnded {
        /// The service, by its plan's label (serialised as `plan`).
        #[serde(rename = "plan")]
        service: String,
        /// `upgraded`, `finalize_pending`, `nothing_to_do`, `rolled_back`, `refused`,
        /// `busy`, `interrupted` or `failed`.
        outcome: String,
        /// Its exit code.
        exit_code: u8,
    },
    /// The channel or a service could not be looked at; tried again next interval.
    #[serde(rename = "watch_check_failed")]
    CheckFailed {
        /// The service, by its plan's label (none: the channel).
        #[serde(rename = "plan")]
        service: Option<String>,
        /// The error: its message and causes.
        error: crate::error_chain::ErrorDoc,
        /// Its exit code.
        exit_code: u8,
    },
    /// Asked to stop: running upgrades are stopping at a safe point.
    #[serde(rename = "watch_stopping")]
    Stopping {
        /// Upgrades still running (`running` is what a service runs elsewhere).
        #[serde(rename = "upgrades_running")]
        running: usize,
    },
    /// The loop ended.
    WatchStopped {
        /// The exit code.
        exit_code: u8,
    },
}

/// Consumes watch events (human or JSON).
pub(crate) trait WatchReporter: Send + Sync {
    /// Render one event.
    fn report(&self, e: &WatchEvent);
}
