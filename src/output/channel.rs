//! `noderoll channel check | apply | clear-failed`: the channel judged against the service,
//! the notice that an unfinished run is resumed first, and the failed marks cleared.

use serde_json::json;

use super::printer::json_line;
use super::schema::{Doc, envelope};
use crate::ccf::types::short_id;
use crate::channel::{Judged, Release, Running};
use crate::journal::{RecordedTarget, Unsettled};

/// `channel check`: every release judged, the one to upgrade to, or the run to finish.
pub(crate) struct ChannelCheck<'a> {
    /// The manifest's channel name.
    pub channel: &'a str,
    /// Where it was read (`--channel`).
    pub source: &'a str,
    /// What the service runs.
    pub running: &'a Running,
    /// Every release, judged.
    pub judged: &'a [Judged],
    /// The newest eligible release.
    pub upgrade: Option<&'a Release>,
    /// An upgrade of this machine left unfinished on the service.
    pub unsettled: Option<&'a Unsettled>,
    /// What to do next (`channel apply`), when there is something to do.
    pub next_step: Option<&'a super::next_step::NextStep>,
}

impl super::Document for ChannelCheck<'_> {
    fn json(&self) -> String {
        let running = self.running;
        json_line(&envelope(
            Doc::Channel,
            json!({
                "type": "channel_check",
                "channel": self.channel,
                "source": self.source,
                "running": {
                    "platform": running.platform,
                    "host_data_values": dedup(&running.host_data),
                    "ccf_versions": dedup(&running.versions),
                },
                "releases": self.judged,
                "upgrade": self.upgrade,
                "in_progress": self.unsettled.map(|u| json!({
                    "target": u.target,
                    "release": u.release,
                    "rolling_back": u.rolling_back,
                })),
                "next_step": self.next_step,
            }),
        ))
    }

    fn human(&self) -> String {
        let mut t = super::table();
        t.set_header(vec!["version", "platform", "host data", "eligible", "why"]);
        for j in self.judged {
            t.add_row(vec![
                j.release.ccf_version.clone(),
                j.release.platform.as_str().into(),
                format!("{}…", short_id(&j.release.host_data)),
                if j.eligible { "yes" } else { "no" }.into(),
                j.reason.clone(),
            ]);
        }
        let running = self.running;
        let mut out = format!(
            "Channel {} ({}): {}. The service runs {} ({}).\n{}\n",
            self.channel,
            self.source,
            super::count(self.judged.len(), "release"),
            dedup(&running.versions).join(", "),
            dedup(&running.host_data)
                .iter()
                .map(|h| format!("{} {}…", running.platform.as_str(), short_id(h)))
                .collect::<Vec<_>>()
                .join(", "),
            super::render(t),
        );
        out.push_str(&self.verdict());
        out
    }
}

impl ChannelCheck<'_> {
    /// The last line: in progress, an upgrade available (with its `[target]`), or current.
    fn verdict(&self) -> String {
        match (self.unsettled, self.upgrade) {
            (Some(u), _) => format!(
                "In progress: an earlier run of this machine left the {} {} unfinished; `noderoll channel apply` finishes it before anything else.\n",
                if u.rolling_back {
                    "rollback from"
                } else {
                    "upgrade to"
                },
                u.target.describe()
            ),
            (None, Some(r)) => format!(
                "Upgrade available: {}. Its [target] table:\n\n{}",
                r.ccf_version,
                target_table(r)
            ),
            (None, None) => "Current: no newer eligible release on this channel.\n".into(),
        }
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
        r.platform.as_str(),
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

/// `channel apply` with an unfinished run: the notice that it is finished first, as a
/// `resuming` record or a line on stderr.
pub(crate) struct Resuming<'a>(pub &'a Unsettled);

impl super::Document for Resuming<'_> {
    fn json(&self) -> String {
        let u = self.0;
        json_line(&envelope(
            Doc::Channel,
            json!({
                "type": "resuming",
                "target": u.target,
                "release": u.release,
                "rolling_back": u.rolling_back,
            }),
        ))
    }

    fn human(&self) -> String {
        let u = self.0;
        let what = if u.rolling_back {
            "rollback from"
        } else {
            "upgrade to"
        };
        format!(
            "Resuming the {what} {} that an earlier run left unfinished; the channel is looked at once it is settled.\n",
            u.target.describe()
        )
    }
}

/// `channel clear-failed`: the failed marks cleared (target, when it failed, why).
pub(crate) struct Cleared<'a>(pub &'a [(RecordedTarget, String, String)]);

impl super::Document for Cleared<'_> {
    fn json(&self) -> String {
        json_line(&envelope(
            Doc::Channel,
            json!({
                "type": "failed_cleared",
                "cleared": self.0
                    .iter()
                    .map(|(t, at, why)| json!({"target": t, "failed_at": at, "reason": why}))
                    .collect::<Vec<_>>(),
            }),
        ))
    }

    fn human(&self) -> String {
        if self.0.is_empty() {
            return "No release is marked failed on this service.\n".into();
        }
        let mut out = String::from("Cleared; these may be tried again:\n");
        for (t, at, why) in self.0 {
            out.push_str(&format!("  {} (failed {at}: {why})\n", t.describe()));
        }
        out
    }
}
