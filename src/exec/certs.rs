//! The certificate facts a run reads from the service: the node certificate validity its
//! trust proposals carry (checked against the service's maximum before anything is written),
//! and the certificates that would expire before the upgrade is done.

use crate::ccf::tls::cert_not_after;
use crate::ccf::types::{NodeStatus, short_id};
use crate::ccf::{CcfClient, ClientError, NodeAddr};
use crate::observe::Observation;
use crate::plan::UpgradeSpec;
use crate::plan::certs::{Expiring, NodeCertValidity, node_cert_validity};

/// Why no validity could be settled on.
#[derive(Debug)]
pub(crate) enum ValidityError {
    /// The plan's value is above the service's maximum (what to change, in words).
    Refused(String),
    /// `GET /gov/service/info` could not be read.
    Client(ClientError),
}

/// The validity of the node certificates this run's trust proposals ask for: the plan's
/// `[target] node_cert_validity_days`, or the service's `maximumNodeCertificateValidityDays`
/// (`GET /gov/service/info`, asked of the first of `at` that answers).
pub(crate) async fn read_node_cert_validity(
    client: &CcfClient,
    at: &[NodeAddr],
    spec: &UpgradeSpec,
) -> Result<NodeCertValidity, ValidityError> {
    let mut last = None;
    for a in at {
        match client.service_info(a).await {
            Ok(info) => {
                return node_cert_validity(
                    spec.target.node_cert_validity_days,
                    info.max_node_cert_validity_days(),
                )
                .map_err(ValidityError::Refused);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => ValidityError::Client(e),
        None => ValidityError::Refused("no node address to read GET /gov/service/info".into()),
    })
}

/// The certificates an upgrade relies on: the service certificate (from `/node/network`)
/// and the endorsed certificate (`GET /gov/service/nodes`, `certificate`) of every Trusted
/// node, those the plan retires included: each serves until its retire step, and clients
/// that check dates (noderoll's own rustls client included) refuse an expired one. The whole
/// upgrade's duration stays the window for all of them, a conservative bound.
pub(crate) fn relied_on(obs: &Observation) -> Vec<Expiring> {
    let mut out: Vec<Expiring> = cert_not_after(&obs.network.service_certificate)
        .map(|not_after| Expiring {
            what: "the service certificate".into(),
            not_after,
            renew: "set_service_certificate_validity {\"valid_from\", \"validity_period_days\"}"
                .into(),
        })
        .into_iter()
        .collect();
    for n in obs
        .nodes
        .iter()
        .filter(|n| n.info.status == NodeStatus::Trusted)
    {
        let Some(not_after) = n
            .gov
            .as_ref()
            .and_then(|g| g.certificate.as_deref())
            .and_then(cert_not_after)
        else {
            continue;
        };
        out.push(Expiring {
            what: format!("node {}'s certificate", short_id(&n.info.node_id)),
            not_after,
            renew: format!(
                "set_node_certificate_validity {{\"node_id\": \"{}\", \"valid_from\", \"validity_period_days\"}}",
                n.info.node_id
            ),
        });
    }
    out
}
