//! Member identities and COSE Sign1 signing: key formats, key/certificate matching, the wire
//! format CCF requires, and the external signer contract.

use std::path::Path;

use noderoll::signing::cose::{self, CoseError, GovHeaders, MsgType, ParsedMessage};
use noderoll::signing::{Algorithm, ExternalSigner, IdentityError, LocalKey, Member, MemberCert};

use crate::common::*;

fn headers(t: MsgType, pid: Option<&str>) -> GovHeaders {
    GovHeaders {
        msg_type: t,
        created_at: 1_700_000_000,
        proposal_id: pid.map(str::to_string),
    }
}

#[tokio::test]
async fn sec1_with_ec_parameters_and_pkcs8_keys_load_and_sign() {
    let dir = tempfile::tempdir().unwrap();
    for curve in [Curve::P384, Curve::P256] {
        let m = member_files(dir.path(), &format!("m_{curve:?}"), curve);
        for key in [&m.key_sec1, &m.key_pkcs8] {
            let member = Member::load(&m.cert, key).unwrap();
            let expected = if curve == Curve::P384 {
                Algorithm::ES384
            } else {
                Algorithm::ES256
            };
            assert_eq!(member.algorithm(), expected);
            let bytes = cose::sign(
                &member,
                &headers(MsgType::Proposal, None),
                br#"{"actions":[]}"#,
            )
            .await
            .unwrap();
            let parsed = ParsedMessage::parse(&bytes).unwrap();
            parsed.verify(member.cert().public_key()).unwrap();
            assert_eq!(parsed.kid, member.id());
            assert_eq!(parsed.alg, expected);
        }
    }
}

#[tokio::test]
async fn wire_format_matches_what_ccf_requires() {
    let dir = tempfile::tempdir().unwrap();
    let m = member_files(dir.path(), "m0", Curve::P384);
    let member = Member::load(&m.cert, &m.key_sec1).unwrap();
    let pid = "d".repeat(64);
    let bytes = cose::sign(
        &member,
        &headers(MsgType::Ballot, Some(&pid)),
        br#"{"ballot":"x"}"#,
    )
    .await
    .unwrap();
    // Tag 18 (0xd2) around a 4-element array (0x84).
    assert_eq!(&bytes[..2], &[0xd2, 0x84]);
    let p = ParsedMessage::parse(&bytes).unwrap();
    assert_eq!(p.msg_type, "ballot");
    assert_eq!(p.created_at, 1_700_000_000);
    assert_eq!(p.proposal_id.as_deref(), Some(pid.as_str()));
    assert_eq!(p.payload, br#"{"ballot":"x"}"#);
    assert_eq!(p.signature().len(), 96, "ES384 signatures are raw r||s");
    // kid = lowercase hex SHA-256 of the certificate DER.
    let der = {
        use rustls_pki_types::pem::PemObject;
        rustls_pki_types::CertificateDer::from_pem_file(&m.cert).unwrap()
    };
    assert_eq!(member.id(), noderoll::ccf::tls::sha256_hex(&der));
    // Protected header order: alg, kid, type, created_at, proposal_id (deterministic CBOR, as
    // CCF's Python tooling emits it).
    let unsigned = cose::unsigned(
        Algorithm::ES384,
        member.id(),
        &headers(MsgType::Ballot, Some(&pid)),
        b"",
    );
    let labels: Vec<String> = unsigned
        .protected
        .header
        .rest
        .iter()
        .map(|(l, _)| match l {
            coset::Label::Text(t) => t.clone(),
            coset::Label::Int(i) => i.to_string(),
        })
        .collect();
    assert_eq!(
        labels,
        [
            "ccf.gov.msg.type",
            "ccf.gov.msg.created_at",
            "ccf.gov.msg.proposal_id"
        ]
    );
    // Signing is deterministic (RFC 6979): identical inputs give identical bytes, so a retried
    // request is byte-identical and CCF's replay protection recognises it.
    let again = cose::sign(
        &member,
        &headers(MsgType::Ballot, Some(&pid)),
        br#"{"ballot":"x"}"#,
    )
    .await
    .unwrap();
    assert_eq!(bytes, again);
}

#[tokio::test]
async fn tampering_and_wrong_keys_fail_verification() {
    let dir = tempfile::tempdir().unwrap();
    let m = member_files(dir.path(), "m0", Curve::P384);
    let other = member_files(dir.path(), "m1", Curve::P384);
    let member = Member::load(&m.cert, &m.key_sec1).unwrap();
    let other_cert = MemberCert::load(&other.cert).unwrap();
    let bytes = cose::sign(
        &member,
        &headers(MsgType::Proposal, None),
        b"{\"actions\":[]}",
    )
    .await
    .unwrap();
    assert_eq!(
        ParsedMessage::parse(&bytes)
            .unwrap()
            .verify(other_cert.public_key()),
        Err(CoseError::BadSignature)
    );
    for i in [10, bytes.len() / 2, bytes.len() - 1] {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x01;
        let ok = ParsedMessage::parse(&flipped).map(|p| p.verify(member.cert().public_key()));
        assert!(!matches!(ok, Ok(Ok(()))), "flipping a bit at {i} must fail");
    }
    // Untagged messages are refused the way CCF refuses them.
    assert_eq!(
        ParsedMessage::parse(&bytes[1..]).unwrap_err(),
        CoseError::NotTagged
    );
}

#[test]
fn bad_keys_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let a = member_files(dir.path(), "a", Curve::P384);
    let b = member_files(dir.path(), "b", Curve::P384);
    let data = repo_root().join("tests/data");
    match Member::load(&a.cert, &b.key_sec1) {
        Err(IdentityError::KeyMismatch { key, cert }) => {
            assert_eq!(key, b.key_sec1);
            assert_eq!(cert, a.cert);
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    let e = LocalKey::load(&data.join("rsa_key.pem")).unwrap_err();
    assert!(e.to_string().contains("RSA"), "{e}");
    let e = LocalKey::load(&data.join("encrypted_key.pem")).unwrap_err();
    assert!(matches!(e, IdentityError::EncryptedKey { .. }), "{e}");
    let e = LocalKey::load(&data.join("p521_key.pem")).unwrap_err();
    assert!(e.to_string().contains("curve"), "{e}");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let e = MemberCert::load(&garbage).unwrap_err();
    assert!(e.to_string().contains("garbage.pem"), "{e}");
    let e = MemberCert::load(Path::new("/nonexistent/cert.pem")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/cert.pem"), "{e}");
    // Key material never shows up in Debug output.
    let k = LocalKey::load(&a.key_sec1).unwrap();
    assert_eq!(format!("{k:?}"), "LocalKey(P-384, <redacted>)");
}

/// A signer script in the contract's shape, backed by a local key and openssl: it reads
/// `{"alg","value"}` and answers `{"value": base64(DER signature)}`.
fn openssl_signer(dir: &Path, key: &Path) -> ExternalSigner {
    let script = dir.join("sign.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nset -e\nreq=$(cat)\n\
             echo \"$req\" | sed -E 's/.*\"value\": *\"([^\"]*)\".*/\\1/' | base64 -d > \"$TMPDIR_SIGN/digest\"\n\
             openssl pkeyutl -sign -inkey '{}' -in \"$TMPDIR_SIGN/digest\" -out \"$TMPDIR_SIGN/sig\"\n\
             echo 'signer log line'\n\
             printf '{{\"value\": \"%s\"}}\\n' \"$(base64 -w0 < \"$TMPDIR_SIGN/sig\")\"\n",
            key.display()
        ),
    )
    .unwrap();
    ExternalSigner::new(
        format!("TMPDIR_SIGN='{}' sh '{}'", dir.display(), script.display()),
        dir,
    )
}

#[tokio::test]
async fn an_external_signer_signs_like_a_local_key() {
    let dir = tempfile::tempdir().unwrap();
    for curve in [Curve::P384, Curve::P256] {
        let m = member_files(dir.path(), &format!("ext_{curve:?}"), curve);
        let cert = MemberCert::load(&m.cert).unwrap();
        let member = Member::with_external(cert, openssl_signer(dir.path(), &m.key_pkcs8));
        let bytes = cose::sign(
            &member,
            &headers(MsgType::Proposal, None),
            b"{\"actions\":[]}",
        )
        .await
        .unwrap();
        let p = ParsedMessage::parse(&bytes).unwrap();
        p.verify(member.cert().public_key()).unwrap();
        assert_eq!(
            p.signature().len(),
            if curve == Curve::P384 { 96 } else { 64 }
        );
    }
}

#[tokio::test]
async fn external_signer_failures_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let m = member_files(dir.path(), "m", Curve::P384);
    let other = member_files(dir.path(), "o", Curve::P384);
    let cert = || MemberCert::load(&m.cert).unwrap();
    let sign = |member: Member| async move {
        cose::sign(&member, &headers(MsgType::Proposal, None), b"{}")
            .await
            .unwrap_err()
    };

    let e = sign(Member::with_external(
        cert(),
        ExternalSigner::new("echo oops >&2; exit 3", dir.path()),
    ))
    .await;
    assert!(
        matches!(e, IdentityError::SignerFailed { .. }) && e.to_string().contains("oops"),
        "{e}"
    );
    let e = sign(Member::with_external(
        cert(),
        ExternalSigner::new("true", dir.path()),
    ))
    .await;
    assert!(e.to_string().contains("nothing on stdout"), "{e}");
    let e = sign(Member::with_external(
        cert(),
        ExternalSigner::new("echo not-json", dir.path()),
    ))
    .await;
    assert!(matches!(e, IdentityError::SignerOutput { .. }), "{e}");
    let e = sign(Member::with_external(
        cert(),
        ExternalSigner::new("echo '{\"value\": \"AAAA\"}'", dir.path()),
    ))
    .await;
    assert!(e.to_string().contains("3 bytes"), "{e}");
    let e = sign(Member::with_external(
        cert(),
        ExternalSigner::new("sleep 30", dir.path())
            .with_timeout(std::time::Duration::from_millis(200)),
    ))
    .await;
    assert!(e.to_string().contains("no answer"), "{e}");
    // Signing with another member's key is caught before anything is sent.
    let e = sign(Member::with_external(
        cert(),
        openssl_signer(dir.path(), &other.key_pkcs8),
    ))
    .await;
    assert!(matches!(e, IdentityError::SignerWrongKey { .. }), "{e}");
}
