//! `noderoll journal`: the service's journal as a table or JSON Lines.

use crate::cli::args::JournalArgs;
use crate::errors::AppError;
use crate::exit_codes;
use crate::journal::{Journal, ServiceState};
use crate::output::Printer;
use crate::output::journal::JournalView;

/// Print the journal.
pub(crate) fn run(args: &JournalArgs, printer: Printer) -> Result<u8, AppError> {
    let (_, _, cert) = crate::commands::upgrade::load_service(&args.service)?;
    let state_dir = args.state_dir.resolve();
    let journal = Journal::open(&ServiceState::open(&state_dir, &cert.sha256())?)?;
    printer.print(&JournalView(journal.records()))?;
    Ok(exit_codes::SUCCESS)
}
