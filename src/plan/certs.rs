//! Certificate validity: how long the node certificates this upgrade has endorsed last, and
//! which certificates would expire before the upgrade is done.
//!
//! CCF's service certificate is valid `initial_service_certificate_validity_days` (1) after
//! the service starts unless members renew it (`set_service_certificate_validity`); a node's
//! endorsed certificate is issued by `transition_node_to_trusted` for `validity_period_days`
//! (default and maximum: the service's `maximum_node_certificate_validity_days`, 365 if
//! unset; `samples/constitutions/default/actions.js`) and renewed by
//! `set_node_certificate_validity`.

use std::time::Duration;

use super::PlannedStep;
use super::spec::UpgradeSpec;
use super::step::Step;

/// `default_validity_period_days` of CCF's constitution: the maximum when the service's
/// configuration names none.
pub(crate) const DEFAULT_MAX_NODE_CERT_VALIDITY_DAYS: u64 = 365;

/// The `validity_period_days` trust proposals carry, and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeCertValidity {
    /// Days.
    pub days: u64,
    /// The service's maximum (`maximumNodeCertificateValidityDays`).
    pub max: u64,
    /// `[target] node_cert_validity_days` set it (else: the maximum).
    pub configured: bool,
}

impl NodeCertValidity {
    /// One line for `plan`.
    pub(crate) fn describe(&self) -> String {
        if self.configured {
            format!(
                "the certificates of the nodes it launches: valid {} days ([target] node_cert_validity_days; the service allows up to {})",
                self.days, self.max
            )
        } else {
            format!(
                "the certificates of the nodes it launches: valid {} days (the service's maximum, maximumNodeCertificateValidityDays)",
                self.days
            )
        }
    }
}

/// The validity to send: `configured`, refused above the service's maximum `service_max`
/// (CCF's `transition_node_to_trusted` would fail every trust proposal: "Validity period N
/// is not allowed: max allowed is M"); by default the maximum.
pub(crate) fn node_cert_validity(
    configured: Option<u64>,
    service_max: Option<u64>,
) -> Result<NodeCertValidity, String> {
    let max = service_max.unwrap_or(DEFAULT_MAX_NODE_CERT_VALIDITY_DAYS);
    match configured {
        Some(days) if days > max => Err(format!(
            "[target] node_cert_validity_days = {days} is above this service's maximum of {max} days (maximumNodeCertificateValidityDays of GET /gov/service/info): CCF would refuse every trust proposal (\"Validity period {days} is not allowed: max allowed is {max}\"); set it to {max} or less, or remove it to use the maximum"
        )),
        Some(days) => Ok(NodeCertValidity {
            days,
            max,
            configured: true,
        }),
        None => Ok(NodeCertValidity {
            days: max,
            max,
            configured: false,
        }),
    }
}

/// A conservative bound on how long `steps` take: every wait is bounded by `[safety]
/// step_timeout`, launches by `[nodes] launch_timeout` (`max_parallel_launches` at a time),
/// a soak by its duration. noderoll has no finer estimate; this one errs long.
pub(crate) fn expected_duration(steps: &[PlannedStep], spec: &UpgradeSpec) -> Duration {
    let wait = spec.safety.step_timeout;
    steps
        .iter()
        .map(|s| match &s.step {
            Step::Soak { duration } => *duration + wait,
            Step::LaunchNodes { count } => {
                let rounds = count.div_ceil(spec.nodes.max_parallel_launches.max(1)) as u32;
                spec.nodes.launch_timeout * rounds + wait
            }
            _ => wait,
        })
        .sum()
}

/// A certificate the upgrade relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expiring {
    /// What it is, as said to people ("the service certificate", "node 1234abcd's").
    pub what: String,
    /// When it expires.
    pub not_after: jiff::Timestamp,
    /// The proposal that renews it, with its arguments.
    pub renew: String,
}

/// Those of `certs` that expire before `now` + `duration` + one day: the upgrade may outlive
/// them (a node whose certificate expires can no longer be reached over TLS by clients,
/// noderoll included, that check dates), each as a warning naming the renewing proposal.
pub(crate) fn expiring_warnings(
    certs: &[Expiring],
    now: jiff::Timestamp,
    duration: Duration,
) -> Vec<String> {
    let margin = duration + Duration::from_secs(24 * 3600);
    let Ok(horizon) = now.checked_add(jiff::SignedDuration::try_from(margin).unwrap_or_default())
    else {
        return Vec::new();
    };
    certs
        .iter()
        .filter(|c| c.not_after < horizon)
        .map(|c| {
            let when = if c.not_after <= now {
                format!("expired on {}", c.not_after)
            } else {
                format!("expires on {}", c.not_after)
            };
            format!(
                "{} {when}, before this upgrade may be done (its steps may take up to {} plus a day's margin); renew it first with a {} proposal",
                c.what,
                humantime_like(duration),
                c.renew
            )
        })
        .collect()
}

/// `1h 30m`, `45m`, `20s`.
fn humantime_like(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, _) => format!("{m}m"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_defaults_to_the_maximum_and_is_refused_above_it() {
        assert_eq!(
            node_cert_validity(None, Some(90)).unwrap(),
            NodeCertValidity {
                days: 90,
                max: 90,
                configured: false
            }
        );
        assert_eq!(node_cert_validity(None, None).unwrap().days, 365);
        assert_eq!(node_cert_validity(Some(30), Some(90)).unwrap().days, 30);
        let e = node_cert_validity(Some(400), Some(365)).unwrap_err();
        for part in [
            "node_cert_validity_days = 400",
            "maximum of 365 days",
            "maximumNodeCertificateValidityDays",
            "set it to 365 or less",
        ] {
            assert!(e.contains(part), "{e}");
        }
    }

    #[test]
    fn certificates_expiring_within_the_upgrade_and_a_day_are_named_with_their_renewal() {
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let cert = |what: &str, at: &str| Expiring {
            what: what.into(),
            not_after: at.parse().unwrap(),
            renew: "set_service_certificate_validity".into(),
        };
        let certs = [
            cert("the service certificate", "2026-01-02T00:30:00Z"),
            cert("far", "2026-03-01T00:00:00Z"),
            cert("gone", "2025-12-31T00:00:00Z"),
        ];
        let w = expiring_warnings(&certs, now, Duration::from_secs(3600));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("the service certificate expires on 2026-01-02T00:30:00Z"));
        assert!(w[0].contains("set_service_certificate_validity") && w[0].contains("1h"));
        assert!(w[1].starts_with("gone expired on"));
        // Outside the window: nothing.
        assert!(expiring_warnings(&certs[1..2], now, Duration::from_secs(3600)).is_empty());
    }
}
