//! `noderoll sandbox` and its subcommands.

use serde_json::json;

use crate::cli::args::{
    FaultArgs, FaultKind, LaunchNodeArgs, PlatformArg, SandboxAction, SandboxArgs,
    SandboxServeArgs, StopNodeArgs,
};
use crate::errors::AppError;
use crate::exit_codes;
use crate::output::Printer;
use crate::output::printer::{Text, json_line, write_stdout};
use crate::output::schema::{Doc, stamp};
use crate::sandbox::control::{self, Fault, Launched};
use crate::sandbox::{
    Build, LatencyModel, Platform, Sandbox, SandboxError, SandboxInfo, SandboxOptions, Violation,
    WriteStall,
};
use crate::wait::Cancel;

/// The sandbox's platform for `--platform` (`sandbox` and `demo`).
pub(crate) fn platform(p: PlatformArg) -> Platform {
    match p {
        PlatformArg::Virtual => Platform::Virtual,
        PlatformArg::Snp => Platform::Snp,
    }
}

/// Dispatch `noderoll sandbox ...`.
pub(crate) async fn run(
    args: SandboxArgs,
    printer: Printer,
    cancel: Cancel,
) -> Result<u8, AppError> {
    match args.action {
        None => serve(&args.serve, printer, cancel).await,
        Some(SandboxAction::LaunchNode(a)) => launch_node(&a).await,
        Some(SandboxAction::StopNode(a)) => stop_node(&a).await,
        Some(SandboxAction::Fault(a)) => fault(&a).await,
        Some(SandboxAction::Check(a)) => check(&a.dir, printer).await,
    }
}

async fn serve(a: &SandboxServeArgs, printer: Printer, cancel: Cancel) -> Result<u8, AppError> {
    let mut opts = SandboxOptions::new(&a.dir);
    opts.nodes = a.nodes;
    opts.members = a.members;
    opts.seed = a.seed;
    opts.latency = LatencyModel::default().with_speed(a.speed);
    opts.platform = platform(a.platform);
    opts.uvm = a.uvm;
    opts.stale_retired = a.stale_retired;
    opts.startup_seqno = a.startup_seqno;
    let sandbox = Sandbox::start(opts).await?;
    let info = sandbox.info();
    printer.print(&Text {
        human: serving(&sandbox),
        json: json_line(info),
    })?;
    cancel.cancelled().await;
    let violations = sandbox.violations();
    drop(sandbox);
    if !violations.is_empty() {
        for v in &violations {
            tracing::error!("invariant violated ({}): {}", v.kind, v.detail);
        }
        return Err(AppError::Violations(violations.len()));
    }
    Ok(exit_codes::SUCCESS)
}

/// The sandbox's nodes and files, for people.
fn serving(sandbox: &Sandbox) -> String {
    let info = sandbox.info();
    let mut t = crate::output::table();
    t.set_header(vec!["node", "rpc address", "ccf_version"]);
    for n in &info.nodes {
        t.add_row(vec![
            n.node_id.clone(),
            n.rpc_address.clone(),
            info.current_build.ccf_version.clone(),
        ]);
    }
    let dir = sandbox.dir().display();
    format!(
        "noderoll sandbox: a simulated CCF service with {}, serving until Ctrl-C\n{t}\n\
         files in {dir}: service_cert.pem, member*_cert.pem / member*_privk.pem, sandbox.json, {}\n\
         try:  noderoll status --plan {dir}/{}\n",
        crate::english::count(info.nodes.len(), "node"),
        info.plan,
        info.plan
    )
}

async fn launch_node(a: &LaunchNodeArgs) -> Result<u8, AppError> {
    let info = SandboxInfo::load(&a.sandbox.dir)?;
    let mut build = resolve_build(&info, a)?;
    if let Some(svn) = a.uvm_svn {
        if build.platform != Platform::Snp {
            return Err(SandboxError::Refused(
                "--uvm-svn (NODEROLL_UVM_SVN) is for SNP nodes".into(),
            )
            .into());
        }
        let mut uvm = build
            .uvm
            .clone()
            .unwrap_or_else(|| crate::sandbox::simulated_uvm("0"));
        uvm.svn = svn.to_string();
        build.uvm = Some(uvm);
    }
    let v = control::call(
        &info.control,
        "/nodes",
        Some(json!({
            "build": build,
            "name": a.name,
            "snapshot_name": a.snapshot_name.as_deref().filter(|n| !n.is_empty()),
            "snapshot_seqno": a.snapshot_seqno,
        })),
    )
    .await?;
    let launched: Launched = serde_json::from_value(v)
        .map_err(|e| SandboxError::Refused(format!("unexpected launch answer: {e}")))?;
    write_stdout(&json_line(&launched))?;
    Ok(exit_codes::SUCCESS)
}

fn resolve_build(info: &SandboxInfo, a: &LaunchNodeArgs) -> Result<Build, SandboxError> {
    let known = [&info.current_build, &info.next_build];
    let host_data = a
        .host_data
        .clone()
        .unwrap_or_else(|| info.next_build.host_data.clone());
    let platform = a
        .platform
        .map(platform)
        .unwrap_or(info.current_build.platform);
    if let Some(b) = known
        .iter()
        .find(|b| b.host_data == host_data && b.platform == platform)
    {
        let mut b = (*b).clone();
        if let Some(v) = &a.ccf_version {
            b.ccf_version = v.clone();
        }
        return Ok(b);
    }
    let Some(ccf_version) = a.ccf_version.clone() else {
        return Err(SandboxError::Refused(format!(
            "host data {host_data} is not one of this sandbox's builds ({} = {}, {} = {}); pass --ccf-version to run it anyway",
            info.current_build.ccf_version,
            info.current_build.host_data,
            info.next_build.ccf_version,
            info.next_build.host_data
        )));
    };
    let mut b = crate::sandbox::simulated_build(platform, &ccf_version);
    b.host_data = host_data;
    Ok(b)
}

async fn stop_node(a: &StopNodeArgs) -> Result<u8, AppError> {
    let info = SandboxInfo::load(&a.sandbox.dir)?;
    let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let request = match (
        given(&a.node_id).or_else(|| given(&a.rpc_address)),
        given(&a.name),
    ) {
        (Some(node), _) => json!({ "node": node }),
        // A launch whose node was never reported: stopped by name, or never started.
        (None, Some(name)) => json!({ "name": name }),
        (None, None) => {
            return Err(SandboxError::Refused(
                "give --node-id, --rpc-address or --name (or NODEROLL_NODE_ID / NODEROLL_NODE_RPC_ADDRESS / NODEROLL_NODE_NAME)"
                    .into(),
            )
            .into());
        }
    };
    control::call(&info.control, "/nodes/stop", Some(request)).await?;
    Ok(exit_codes::SUCCESS)
}

async fn fault(a: &FaultArgs) -> Result<u8, AppError> {
    let info = SandboxInfo::load(&a.sandbox.dir)?;
    let node = || {
        a.node
            .clone()
            .ok_or_else(|| SandboxError::Refused("this fault needs --node".into()))
    };
    let f = match a.kind {
        FaultKind::Kill => Fault::Kill { node: node()? },
        FaultKind::Partition => Fault::Partition { node: node()? },
        FaultKind::Heal => Fault::Heal { node: node()? },
        FaultKind::FailNext => Fault::FailNext { count: a.count },
        FaultKind::FailFraction => Fault::FailFraction {
            fraction: a.fraction,
        },
        FaultKind::Latency => Fault::Latency { ms: a.ms },
        FaultKind::NeverJoinNext => Fault::NeverJoinNext,
        FaultKind::NeverReadyNext => Fault::NeverReadyNext,
        FaultKind::FailApplyNext => Fault::FailApplyNext,
        FaultKind::NoSnapshots => Fault::NoSnapshots,
        FaultKind::SnapshotReadOff => Fault::SnapshotReadOff,
        FaultKind::ResetNext => Fault::ResetNext { count: a.count },
        FaultKind::RenewServiceCert => Fault::RenewServiceCert,
        FaultKind::ClockSkew => Fault::ClockSkew { secs: a.secs },
        FaultKind::ForceElection => Fault::ForceElection,
        FaultKind::InjectAddProposal => Fault::InjectAddProposal,
        FaultKind::SlowElections => Fault::SlowElections { factor: a.factor },
        FaultKind::MemberStatus => Fault::MemberStatus {
            member_id: a
                .member_id
                .clone()
                .ok_or_else(|| SandboxError::Refused("member-status needs --member-id".into()))?,
            active: a.active,
        },
    };
    control::call(
        &info.control,
        "/faults",
        Some(serde_json::to_value(f).expect("fault serialises")),
    )
    .await?;
    Ok(exit_codes::SUCCESS)
}

async fn check(dir: &std::path::Path, printer: Printer) -> Result<u8, AppError> {
    let info = SandboxInfo::load(dir)?;
    let v = control::call(&info.control, "/violations", None).await?;
    let violations: Vec<Violation> = serde_json::from_value(v["violations"].clone())
        .map_err(|e| SandboxError::Refused(format!("unexpected answer: {e}")))?;
    let stall: WriteStall = serde_json::from_value(v["write_stall"].clone()).unwrap_or_default();
    let mut human = String::new();
    if violations.is_empty() {
        human.push_str("no invariant violations\n");
    }
    for v in &violations {
        human.push_str(&format!("{:>8} ms  {}  {}\n", v.at_ms, v.kind, v.detail));
    }
    if stall.count > 0 {
        human.push_str(&format!(
            "write stall (commits waited for joiners to catch up): {} ms in {}, longest {} ms\n",
            stall.total_ms,
            crate::english::count(stall.count as usize, "stall"),
            stall.longest_ms
        ));
    }
    let json = stamp(
        Doc::Sandbox,
        json!({ "violations": violations, "write_stall": stall }),
    );
    printer.print(&Text {
        human,
        json: json_line(&json),
    })?;
    Ok(if violations.is_empty() {
        exit_codes::SUCCESS
    } else {
        exit_codes::STEP_FAILED
    })
}
