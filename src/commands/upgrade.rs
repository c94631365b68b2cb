//! Wiring shared by `plan`, `apply`, `vote` and `demo`: plan file → client, governance,
//! members, launcher, engine.

use std::path::Path;
use std::sync::Arc;

use crate::ccf::governance::{GovTimeouts, Governance};
use crate::ccf::{CcfClient, ServiceCert};
use crate::errors::AppError;
use crate::exec::hooks::HookRunner;
use crate::exec::{CommandLauncher, Engine, EngineParts, PrimaryStart, Reporter, RunOptions};
use crate::plan::UpgradeSpec;
use crate::settings::PlanFile;
use crate::signing::{ExternalSigner, Member, MemberCert};
use crate::wait::Cancel;

/// Everything built from a plan file.
pub(crate) struct Wiring {
    /// The plan file.
    pub plan: PlanFile,
    /// Its upgrade tables.
    pub spec: UpgradeSpec,
    /// Client trusting the service certificate.
    pub client: CcfClient,
    /// Single-attempt client for per-node probes.
    pub probe: CcfClient,
    /// Governance as the configured members.
    pub gov: Governance,
    /// SHA-256 of the service certificate (keys per-service state).
    pub service_cert_sha256: String,
    /// A verified package every launch gets as `NODEROLL_PACKAGE` (channel releases).
    pub package: Option<std::path::PathBuf>,
    /// The primary's startup seqno, read once for every engine built here.
    pub primary_start: PrimaryStart,
}

/// Load the plan file and its identities; build clients and governance. Nothing is sent.
/// `state_dir`: where this machine keeps the service's state, whose address book the clients
/// carry (None: no book, as in `demo`).
pub(crate) fn wire(
    plan_path: &Path,
    state_dir: Option<&Path>,
    cancel: &Cancel,
) -> Result<Wiring, AppError> {
    wire_for(plan_path, None, state_dir, cancel)
}

/// As [`wire`], with `target` (a channel's release) in place of the plan's `[target]`,
/// which may then be absent.
pub(crate) fn wire_for(
    plan_path: &Path,
    target: Option<&crate::plan::Target>,
    state_dir: Option<&Path>,
    cancel: &Cancel,
) -> Result<Wiring, AppError> {
    let mut plan = PlanFile::load(plan_path)?;
    if let Some(t) = target {
        let mut table = target_table(t);
        // The release names the build; how long its nodes' certificates last is the plan's.
        if let Some(days) = plan
            .raw
            .get("target")
            .and_then(|t| t.get("node_cert_validity_days"))
        {
            table.insert("node_cert_validity_days".into(), days.clone());
        }
        plan.raw.insert("target".into(), table.into());
    }
    let spec = UpgradeSpec::from_plan(&plan)?;
    let cert = ServiceCert::load(&plan.service.service_cert)?;
    let members = load_members(&plan)?;
    let (client, probe) = crate::observe::service_clients(&cert, state_dir, cancel)?;
    let gov = Governance::new(client.clone(), plan.service.nodes.clone(), members).with_timeouts(
        GovTimeouts {
            accept: spec.safety.step_timeout,
            commit: spec.safety.step_timeout,
        },
    );
    Ok(Wiring {
        plan,
        spec,
        client,
        probe,
        gov,
        service_cert_sha256: cert.sha256(),
        package: None,
        primary_start: PrimaryStart::default(),
    })
}

/// The plan's `[[members]]`: their certificates and keys (or external signers), loaded.
pub(crate) fn load_members(plan: &PlanFile) -> Result<Vec<Arc<Member>>, AppError> {
    let mut members = Vec::new();
    for m in &plan.members {
        let member = match (&m.key, &m.signer) {
            (Some(key), _) => Member::load(&m.cert, key)?,
            (None, Some(cmd)) => Member::with_external(
                MemberCert::load(&m.cert)?,
                ExternalSigner::new(cmd.clone(), &plan.dir),
            ),
            (None, None) => unreachable!("validated by PlanFile"),
        };
        members.push(Arc::new(member));
    }
    Ok(members)
}

fn target_table(t: &crate::plan::Target) -> toml::Table {
    let mut table = toml::Table::new();
    let platform = t.platform.as_str();
    table.insert("platform".into(), platform.into());
    table.insert("host_data".into(), t.host_data.clone().into());
    for (key, value) in [
        ("ccf_version", &t.ccf_version),
        ("measurement", &t.measurement),
        ("security_policy", &t.security_policy),
    ] {
        if let Some(v) = value {
            table.insert(key.into(), v.clone().into());
        }
    }
    table
}

impl Wiring {
    /// An engine reporting to `reporter`.
    pub(crate) fn engine(&self, reporter: Arc<dyn Reporter>, cancel: Cancel) -> Engine {
        self.engine_with(RunOptions::default(), reporter, cancel)
    }

    /// An engine run as `options` say.
    pub(crate) fn engine_with(
        &self,
        options: RunOptions,
        reporter: Arc<dyn Reporter>,
        cancel: Cancel,
    ) -> Engine {
        self.engine_for(self.spec.clone(), options, reporter, cancel)
    }

    /// An engine for another target of the same service (a rollback's previous version):
    /// its launcher starts that target's build.
    pub(crate) fn engine_for(
        &self,
        spec: UpgradeSpec,
        options: RunOptions,
        reporter: Arc<dyn Reporter>,
        cancel: Cancel,
    ) -> Engine {
        let parts = EngineParts {
            client: self.client.clone(),
            probe: self.probe.clone(),
            gov: self.gov.clone(),
            seeds: self.plan.service.nodes.clone(),
            service_cert: self.plan.service.service_cert.clone(),
            launcher: CommandLauncher::new(&spec, &self.plan.dir)
                .with_package(self.package.clone()),
            hooks: HookRunner::new(self.spec.hooks.clone(), &self.plan.dir),
            reporter,
            cancel,
            primary_start: self.primary_start.clone(),
        };
        Engine::new(parts, spec, options)
    }
}

/// The service named by `--plan` / `--service-url` / `--service-cert`: the plan file (if any),
/// the resolved addresses and the loaded service certificate.
pub(crate) fn load_service(
    args: &crate::cli::args::ServiceArgs,
) -> Result<
    (
        Option<PlanFile>,
        crate::settings::ServiceSettings,
        ServiceCert,
    ),
    AppError,
> {
    let plan = args.plan.as_deref().map(PlanFile::load).transpose()?;
    let service = crate::settings::resolve_service(
        &args.service_url,
        args.service_cert.as_deref(),
        plan.as_ref(),
    )?;
    let cert = ServiceCert::load(&service.service_cert)?;
    Ok((plan, service, cert))
}
