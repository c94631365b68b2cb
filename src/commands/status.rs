//! `noderoll status`.

use crate::ccf::{CcfClient, ClientOptions, ServiceCert};
use crate::cli::args::StatusArgs;
use crate::cli::dispatch::print_stdout;
use crate::errors::AppError;
use crate::exit_codes;
use crate::observe::{observe, probe_options};
use crate::output::{OutputFormat, status};
use crate::settings::{PlanFile, resolve_service};
use crate::wait::Cancel;

/// Observe the service once and print it.
pub async fn run(args: &StatusArgs, format: OutputFormat, cancel: Cancel) -> Result<u8, AppError> {
    let plan = args
        .service
        .plan
        .as_deref()
        .map(PlanFile::load)
        .transpose()?;
    let service = resolve_service(
        &args.service.service_url,
        args.service.service_cert.as_deref(),
        plan.as_ref(),
    )?;
    let cert = ServiceCert::load(&service.service_cert)?;
    let client = CcfClient::new(&cert, ClientOptions::default(), cancel.clone())?;
    let probe = CcfClient::new(&cert, probe_options(), cancel)?;
    let obs = observe(&client, &probe, &service.nodes).await?;
    match format {
        OutputFormat::Human => print_stdout(&status::render_human(&obs))?,
        OutputFormat::Json => {
            let doc = status::document(&obs);
            print_stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).expect("status document serialises")
            ))?
        }
    }
    Ok(exit_codes::SUCCESS)
}
