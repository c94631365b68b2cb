//! The clients commands observe a service with.

use std::time::Duration;

use crate::ccf::CcfClient;

use super::ObserveError;

/// The two clients every command talks to a service with, trusting only its certificate: a
/// patient one (retries) and a quick one for per-node probes. With `state_dir`, both carry
/// the service's address book there, so that every observation keeps it and falls back on
/// it ([`find_answering_node`]).
pub(crate) fn service_clients(
    cert: &crate::ccf::ServiceCert,
    state_dir: Option<&std::path::Path>,
    cancel: &crate::wait::Cancel,
) -> Result<(CcfClient, CcfClient), ObserveError> {
    let mut client = CcfClient::new(cert, crate::ccf::ClientOptions::default(), cancel.clone())?;
    let mut probe = CcfClient::new(cert, probe_options(), cancel.clone())?;
    if let Some(dir) = state_dir {
        let book = std::sync::Arc::new(crate::journal::AddressBook::for_service(
            dir,
            &cert.sha256(),
        ));
        client = client.with_address_book(book.clone());
        probe = probe.with_address_book(book);
    }
    Ok((client, probe))
}

/// Client options for per-node probes: one attempt, short timeouts.
pub(crate) fn probe_options() -> crate::ccf::ClientOptions {
    crate::ccf::ClientOptions {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        // A busy node (503) is asked again briefly; one that does not answer is not.
        retry: crate::ccf::RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            unreachable_attempts: 1,
        },
        ..Default::default()
    }
}
