#!/usr/bin/env python3
"""dkimpy as an independent DKIM peer for hanko's interop tests.

  dkimpy_peer.py verify RECORDS.json < message    one line per signature: pass or fail
  dkimpy_peer.py sign RSAKEY EDKEY DOMAIN CANON < message    the message signed (Ed25519, then RSA)
  dkimpy_peer.py arcverify RECORDS.json < message    the ARC chain's status: none, pass or fail
  dkimpy_peer.py arcsign KEY DOMAIN SELECTOR SRVID < message    the message with a new ARC set

DNS comes from RECORDS.json ({"name": "TXT value"}) through dkimpy's dnsfunc hook, never
from the network.
"""
import json
import re
import sys

import dkim


def crlf(data):
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def verify(records_path):
    records = json.load(open(records_path))
    message = crlf(sys.stdin.buffer.read())

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        value = records.get(name.rstrip(".").lower())
        return value.encode() if value is not None else None

    head = message.split(b"\r\n\r\n", 1)[0]
    count = len(re.findall(rb"(?im)^dkim-signature:", head))
    checker = dkim.DKIM(message)
    for index in range(count):
        try:
            ok = checker.verify(idx=index, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:  # dkimpy raises for some failures
            print(f"signature {index}: {e}", file=sys.stderr)
            ok = False
        print("pass" if ok else "fail")


def dns_from(records_path):
    records = json.load(open(records_path))

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        value = records.get(name.rstrip(".").lower())
        return value.encode() if value is not None else None

    return dnsfunc


def arcverify(records_path):
    message = crlf(sys.stdin.buffer.read())
    cv, _results, reason = dkim.arc_verify(message, dnsfunc=dns_from(records_path))
    # dkimpy answers None for a chain a seal already marked cv=fail.
    print(cv.decode() if cv else "fail")
    if reason:
        print(reason, file=sys.stderr)


def arcsign(key_path, domain, selector, srv_id):
    """dkimpy reads this hop's results, and the cv= of its seal from their arc=, from the
    Authentication-Results field of SRVID already in the message."""
    message = crlf(sys.stdin.buffer.read())
    key = open(key_path, "rb").read()
    fields = dkim.arc_sign(message, selector.encode(), domain.encode(), key, srv_id.encode(),
                           include_headers=[b"from", b"to", b"subject", b"date"])
    sys.stdout.buffer.write(b"".join(fields) + message)


def sign(rsa_key, ed_key, domain, canon):
    message = crlf(sys.stdin.buffer.read())
    header, body = canon.split("/")
    canonicalize = (header.encode(), body.encode())
    include = [b"from", b"to", b"subject", b"date"]
    out = b""
    for selector, path, algorithm in (("ed", ed_key, b"ed25519-sha256"), ("rsa", rsa_key, b"rsa-sha256")):
        key = open(path, "rb").read()
        out += dkim.sign(message, selector.encode(), domain.encode(), key,
                         canonicalize=canonicalize, signature_algorithm=algorithm,
                         include_headers=include)
    sys.stdout.buffer.write(out + message)


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(sys.argv[2])
    elif sys.argv[1] == "arcverify":
        arcverify(sys.argv[2])
    elif sys.argv[1] == "arcsign":
        arcsign(*sys.argv[2:6])
    else:
        sign(*sys.argv[2:6])
