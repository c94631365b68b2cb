//! Interop with CCF's own Python package (`ccf==6.0.28`, `cbor2<6`): noderoll-signed messages
//! pass `ccf.cose.validate_cose_sign1`, CCF-signed messages pass noderoll's verification, the
//! external-signer digest equals `create_cose_sign1_prepare`'s, and a flipped bit fails both
//! ways. `.ci/run` creates the venv at `.venv`; `NODEROLL_TEST_PYTHON` may point elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use noderoll::signing::cose::{self, GovHeaders, MsgType, ParsedMessage};
use noderoll::signing::{Algorithm, Member, MemberCert};
use serde_json::Value;

use crate::common::*;

/// The Python with `ccf` installed, or `None` (only allowed outside CI).
fn oracle_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("NODEROLL_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    let works = Command::new(&candidate)
        .args(["-c", "import ccf.cose, importlib.metadata as m; assert int(m.version('cbor2').split('.')[0]) < 6"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if works {
        return Some(candidate);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CCF's Python package is required in CI: run `bash .ci/run` (it creates .venv with ccf==6.0.28 and cbor2<6)"
        );
    }
    eprintln!(
        "skipping CCF interop: no Python with ccf==6.0.28 at {} (run `bash .ci/run` to create it)",
        candidate.display()
    );
    None
}

fn oracle(py: &Path, args: &[&str]) -> String {
    let script = repo_root().join("tests/interop/ccf_oracle.py");
    let out = Command::new(py).arg(&script).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "oracle {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn verify_with_ccf(py: &Path, cert: &Path, msg: &[u8], dir: &Path) -> Value {
    let f = dir.join("msg.cose");
    std::fs::write(&f, msg).unwrap();
    serde_json::from_str(&oracle(
        py,
        &["verify", cert.to_str().unwrap(), f.to_str().unwrap()],
    ))
    .unwrap()
}

#[tokio::test]
async fn noderoll_signatures_verify_with_ccf_python() {
    let Some(py) = oracle_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (Curve::P384, MsgType::Proposal, None),
        (Curve::P256, MsgType::Ballot, Some("e".repeat(64))),
        (Curve::P384, MsgType::Withdrawal, Some("f".repeat(64))),
    ];
    for (i, (curve, t, pid)) in cases.into_iter().enumerate() {
        let m = member_files(dir.path(), &format!("m{i}"), curve);
        let key = if curve == Curve::P384 {
            &m.key_sec1
        } else {
            &m.key_pkcs8
        };
        let member = Member::load(&m.cert, key).unwrap();
        let payload: &[u8] = match t {
            MsgType::Proposal => br#"{"actions":[{"name":"remove_node","args":{"node_id":"aa"}}]}"#,
            MsgType::Ballot => {
                br#"{"ballot":"export function vote (proposal, proposerId) { return true }"}"#
            }
            _ => b"",
        };
        let h = GovHeaders {
            msg_type: t,
            created_at: 1_732_000_000 + i as u64,
            proposal_id: pid.clone(),
        };
        let msg = cose::sign(&member, &h, payload).await.unwrap();
        let v = verify_with_ccf(&py, &m.cert, &msg, dir.path());
        assert_eq!(v["ok"], true, "{t:?}: {v}");
        assert_eq!(
            v["kid"],
            member.id(),
            "kid must equal ccf.cose.cert_fingerprint"
        );
        assert_eq!(v["fingerprint"], member.id());
        assert_eq!(v["kid_is_bytes"], true, "kid must be a CBOR byte string");
        assert_eq!(v["headers"]["ccf.gov.msg.type"], t.as_str());
        assert_eq!(
            v["headers"]["ccf.gov.msg.created_at"],
            1_732_000_000 + i as u64
        );
        if let Some(pid) = &pid {
            assert_eq!(v["headers"]["ccf.gov.msg.proposal_id"], pid.as_str());
        }
        let mut flipped = msg.clone();
        let at = flipped.len() - 5;
        flipped[at] ^= 0x01;
        let v = verify_with_ccf(&py, &m.cert, &flipped, dir.path());
        assert_eq!(
            v["ok"], false,
            "a flipped bit must fail CCF's verification: {v}"
        );
    }
}

#[test]
fn ccf_python_signatures_verify_with_noderoll() {
    let Some(py) = oracle_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("payload.json");
    std::fs::write(
        &payload,
        br#"{"actions":[{"name":"transition_node_to_trusted","args":{}}]}"#,
    )
    .unwrap();
    let cases = [
        (Curve::P384, "proposal", None),
        (Curve::P256, "withdrawal", Some("1".repeat(64))),
    ];
    for (i, (curve, t, pid)) in cases.into_iter().enumerate() {
        let m = member_files(dir.path(), &format!("py{i}"), curve);
        let out = dir.path().join(format!("py{i}.cose"));
        let mut args = vec![
            "sign".to_string(),
            m.key_sec1.display().to_string(),
            m.cert.display().to_string(),
            payload.display().to_string(),
            out.display().to_string(),
            "--type".into(),
            t.into(),
            "--created-at".into(),
            "1732000000".into(),
        ];
        if let Some(p) = &pid {
            args.extend(["--proposal-id".into(), p.clone()]);
        }
        oracle(&py, &args.iter().map(String::as_str).collect::<Vec<_>>());
        let bytes = std::fs::read(&out).unwrap();
        let cert = MemberCert::load(&m.cert).unwrap();
        let parsed = ParsedMessage::parse(&bytes).unwrap();
        parsed.verify(cert.public_key()).unwrap();
        assert_eq!(parsed.kid, cert.member_id());
        assert_eq!(parsed.msg_type, t);
        assert_eq!(parsed.created_at, 1_732_000_000);
        assert_eq!(parsed.proposal_id, pid);
        assert_eq!(
            parsed.alg,
            if curve == Curve::P384 {
                Algorithm::ES384
            } else {
                Algorithm::ES256
            }
        );
        // A flipped bit or the wrong certificate fails.
        let mut flipped = bytes.clone();
        let at = flipped.len() - 3;
        flipped[at] ^= 0x80;
        assert!(
            ParsedMessage::parse(&flipped)
                .and_then(|p| p.verify(cert.public_key()))
                .is_err()
        );
        let other =
            MemberCert::load(&member_files(dir.path(), &format!("other{i}"), curve).cert).unwrap();
        assert!(parsed.verify(other.public_key()).is_err());
    }
}

#[test]
fn external_signer_digest_equals_ccf_prepare() {
    let Some(py) = oracle_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("payload.json");
    std::fs::write(
        &payload,
        br#"{"ballot":"export function vote (proposal, proposerId) { return true }"}"#,
    )
    .unwrap();
    for curve in [Curve::P384, Curve::P256] {
        let m = member_files(dir.path(), &format!("prep_{curve:?}"), curve);
        let cert = MemberCert::load(&m.cert).unwrap();
        let pid = "2".repeat(64);
        let out = oracle(
            &py,
            &[
                "prepare",
                m.cert.to_str().unwrap(),
                payload.to_str().unwrap(),
                "--type",
                "ballot",
                "--created-at",
                "1732000000",
                "--proposal-id",
                &pid,
            ],
        );
        let prepared: Value = serde_json::from_str(&out).unwrap();
        let alg = cert.public_key().algorithm();
        assert_eq!(prepared["alg"], alg.name());
        let h = GovHeaders {
            msg_type: MsgType::Ballot,
            created_at: 1_732_000_000,
            proposal_id: Some(pid),
        };
        let unsigned = cose::unsigned(alg, cert.member_id(), &h, &std::fs::read(&payload).unwrap());
        let ours =
            base64::engine::general_purpose::STANDARD.encode(alg.digest(&unsigned.tbs_data(b"")));
        assert_eq!(
            prepared["value"], ours,
            "the digest an external signer gets must be CCF's"
        );
    }
}
