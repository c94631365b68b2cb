//! `noderoll journal`: the service's journal as a table or JSON Lines.

use crate::cli::args::JournalArgs;
use crate::cli::dispatch::print_stdout;
use crate::errors::AppError;
use crate::exit_codes;
use crate::journal::{Journal, Record, ServiceState};
use crate::output::OutputFormat;

/// Print the journal.
pub fn run(args: &JournalArgs, format: OutputFormat) -> Result<u8, AppError> {
    let (_, _, cert) = crate::commands::upgrade::load_service(&args.service)?;
    let state_dir = args.state_dir.resolve();
    let journal = Journal::open(&ServiceState::open(&state_dir, &cert.sha256())?)?;
    match format {
        OutputFormat::Json => {
            let mut out = String::new();
            for r in journal.records() {
                out.push_str(&serde_json::to_string(r).expect("records serialise"));
                out.push('\n');
            }
            print_stdout(&out)?;
        }
        OutputFormat::Human if journal.records().is_empty() => {
            print_stdout("The journal of this service is empty.\n")?
        }
        OutputFormat::Human => {
            let mut t = crate::output::table();
            t.set_header(vec!["at", "run", "record", "detail"]);
            for r in journal.records() {
                let (at, run, kind, detail) = match r {
                    Record::RunStarted {
                        at, run_id, target, ..
                    } => (at, run_id, "run started", format!("target {target}")),
                    Record::LaunchStarted { at, run_id, name } => {
                        (at, run_id, "launch started", name.clone())
                    }
                    Record::NodeLaunched {
                        at, run_id, node, ..
                    } => (
                        at,
                        run_id,
                        "node launched",
                        format!(
                            "{} {}",
                            node.node_id.as_deref().map(|i| &i[..8]).unwrap_or("-"),
                            node.rpc_address
                                .as_ref()
                                .map(ToString::to_string)
                                .unwrap_or_default()
                        ),
                    ),
                    Record::ProposalSubmitted {
                        at,
                        run_id,
                        proposal_id,
                    } => (
                        at,
                        run_id,
                        "proposal",
                        proposal_id.get(..8).unwrap_or(proposal_id).to_string(),
                    ),
                    Record::StepFinished {
                        at,
                        run_id,
                        index,
                        description,
                    } => (
                        at,
                        run_id,
                        "step finished",
                        format!("{index}: {description}"),
                    ),
                    Record::RunEnded {
                        at,
                        run_id,
                        outcome,
                    } => (at, run_id, "run ended", outcome.clone()),
                    Record::RollbackStarted {
                        at,
                        run_id,
                        from,
                        to,
                        reason,
                    } => (
                        at,
                        run_id,
                        "rollback started",
                        format!("{from} → {to}: {reason}"),
                    ),
                    Record::ReleaseChosen {
                        at,
                        run_id,
                        release,
                    } => (at, run_id, "release chosen", release.target().describe()),
                    Record::FailedCleared { at } => (
                        at,
                        &String::new(),
                        "failed cleared",
                        "every failed target may be tried again".to_string(),
                    ),
                    Record::TargetFailed {
                        at,
                        run_id,
                        target,
                        reason,
                        ..
                    } => (at, run_id, "target failed", format!("{target}: {reason}")),
                };
                t.add_row(vec![at.clone(), run.clone(), kind.to_string(), detail]);
            }
            print_stdout(&format!("{t}\n"))?;
        }
    }
    Ok(exit_codes::SUCCESS)
}
