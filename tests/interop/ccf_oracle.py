"""Test oracle: CCF's own Python package (ccf==6.0.28) signs and verifies governance COSE
Sign1 messages, so noderoll's signing is checked against CCF's implementation both ways.

Usage:
  ccf_oracle.py verify CERT MSG            -> {"ok": bool, "error": str|null, "kid": str, "fingerprint": str, "headers": {...}}
  ccf_oracle.py sign KEY CERT PAYLOAD OUT --type T --created-at N [--proposal-id P]
  ccf_oracle.py prepare CERT PAYLOAD --type T --created-at N [--proposal-id P]
"""

import argparse
import json
import sys

import ccf.cose
from cryptography.x509 import load_pem_x509_certificate
from pycose.messages import Sign1Message


def headers(args):
    h = {"ccf.gov.msg.type": args.type, "ccf.gov.msg.created_at": int(args.created_at)}
    if args.proposal_id:
        h["ccf.gov.msg.proposal_id"] = args.proposal_id
    return h


def verify(args):
    cert_pem = open(args.cert).read()
    msg = open(args.msg, "rb").read()
    pub = load_pem_x509_certificate(cert_pem.encode()).public_key()
    out = {"ok": True, "error": None, "fingerprint": ccf.cose.cert_fingerprint(cert_pem).decode()}
    try:
        ccf.cose.validate_cose_sign1(pub, msg)
    except Exception as e:  # the oracle reports, the Rust test decides
        out["ok"] = False
        out["error"] = f"{type(e).__name__}: {e}"
    try:
        decoded = Sign1Message.decode(msg)
        phdr = {}
        for k, v in decoded.phdr.items():
            name = k if isinstance(k, str) else getattr(k, "fullname", str(k))
            phdr[name] = v.decode() if isinstance(v, bytes) else (v if isinstance(v, (int, str)) else str(v))
        out["headers"] = phdr
        kid = decoded.phdr.get(ccf.cose.pycose.headers.KID) if hasattr(ccf.cose, "pycose") else None
        if kid is None:
            kid = next((v for k, v in decoded.phdr.items() if getattr(k, "fullname", "") == "KID"), None)
        out["kid"] = kid.decode() if isinstance(kid, bytes) else kid
        out["kid_is_bytes"] = isinstance(kid, bytes)
    except Exception as e:
        out["ok"] = False
        out["error"] = out["error"] or f"decode: {type(e).__name__}: {e}"
    json.dump(out, sys.stdout)


def sign(args):
    key = open(args.key).read()
    cert = open(args.cert).read()
    payload = open(args.payload, "rb").read()
    msg = ccf.cose.create_cose_sign1(payload, key, cert, headers(args))
    open(args.out, "wb").write(msg)


def prepare(args):
    cert = open(args.cert).read()
    payload = open(args.payload, "rb").read()
    json.dump(ccf.cose.create_cose_sign1_prepare(payload, cert, headers(args)), sys.stdout)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("cert")
    v.add_argument("msg")
    for name in ("sign", "prepare"):
        s = sub.add_parser(name)
        if name == "sign":
            s.add_argument("key")
        s.add_argument("cert")
        s.add_argument("payload")
        if name == "sign":
            s.add_argument("out")
        s.add_argument("--type", required=True)
        s.add_argument("--created-at", required=True)
        s.add_argument("--proposal-id")
    args = p.parse_args()
    {"verify": verify, "sign": sign, "prepare": prepare}[args.cmd](args)


if __name__ == "__main__":
    main()
