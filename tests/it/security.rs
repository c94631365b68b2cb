//! Secrets never leak, and TLS verification cannot be turned off.

use noderoll::sandbox::Platform;

use crate::common::*;

/// Every output of a full, trace-logged upgrade (stdout, stderr, the journal, hook and
/// notification inputs) is searched for the member's private key in every encoding it has.
#[tokio::test]
async fn no_key_material_in_any_output_of_a_full_run() {
    let r = start_sandbox(3, Platform::Virtual, 5.0).await;
    let plan = r.plan_path();
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(
        &plan,
        format!(
            "{text}\n[hooks]\nafter_trust = \"cat > hook.json; env > hook.env\"\n\
             [notify]\ncommand = \"cat >> notify.jsonl\"\n"
        ),
    )
    .unwrap();
    // Some failures, so the retry paths log too.
    noderoll::sandbox::control::apply_fault(
        r.sandbox.core(),
        noderoll::sandbox::Fault::FailNext { count: 20 },
    )
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let run = noderoll_in(
        state.path(),
        &[
            "apply",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "--output",
            "json",
            "-vv",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    output_schema::lines("run-stream", &run.stdout);
    assert!(
        run.stderr.contains("DEBUG") || run.stderr.contains("TRACE"),
        "logs were on"
    );

    let mut outputs = vec![run.stdout.clone(), run.stderr.clone()];
    for f in ["hook.json", "hook.env", "notify.jsonl"] {
        outputs.push(std::fs::read_to_string(r.dir.path().join(f)).unwrap());
    }
    for entry in walk(state.path()) {
        outputs.push(std::fs::read_to_string(entry).unwrap_or_default());
    }
    let key_file = r.dir.path().join(&r.sandbox.info().members[0].key);
    let pem = std::fs::read_to_string(key_file).unwrap();
    let (key_b64, der) = pem_body(&pem, "EC PRIVATE KEY");
    let hex_der: String = der.iter().map(|b| format!("{b:02x}")).collect();
    // Any 24 consecutive characters of the base64 body or 32 of the hex form would do.
    let needles: Vec<&str> = (0..key_b64.len().saturating_sub(24))
        .step_by(8)
        .map(|i| &key_b64[i..i + 24])
        .chain(
            (0..hex_der.len().saturating_sub(32))
                .step_by(16)
                .map(|i| &hex_der[i..i + 32]),
        )
        .collect();
    assert!(needles.len() > 20);
    for out in &outputs {
        assert!(!out.contains("PRIVATE KEY"), "a PEM key block was written");
        for n in &needles {
            assert!(!out.contains(n), "key material {n} found in an output");
        }
    }
}

/// No option of any command turns certificate verification off (the committed bash
/// completions list every option of every command, and a test keeps them current).
#[test]
fn no_option_disables_tls_verification() {
    let all = std::fs::read_to_string(repo_root().join("completions/noderoll.bash"))
        .unwrap()
        .to_lowercase();
    assert!(all.contains("--service-cert") && all.contains("--retry-failed-target"));
    for word in [
        "insecure",
        "no-verify",
        "skip-verify",
        "danger",
        "accept-invalid",
    ] {
        assert!(!all.contains(word), "an option mentions {word}");
    }
}

fn pem_body(pem: &str, label: &str) -> (String, Vec<u8>) {
    use base64::Engine;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).unwrap() + begin.len();
    let stop = pem.find(&end).unwrap();
    let b64: String = pem[start..stop].split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .unwrap();
    (b64, der)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
