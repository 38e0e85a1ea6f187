#!/usr/bin/env python3
"""authheaders (PyPI) as an independent SPF and DMARC peer for hanko's interop test.

  authheaders_peer.py PORT < cases.jsonl

Each input line is {"message": PATH, "ip": ..., "helo": ..., "mail_from": ...}. For each,
authheaders.authenticate_message runs SPF (pyspf), DKIM (dkimpy) and DMARC, and one output
line gives {"spf": word, "dkim": word, "dmarc": word, "header": the A-R text}.

Every DNS query goes to the DNS server on 127.0.0.1:PORT: dnspython's default resolver is
replaced before anything is imported that could query, and it has no other nameserver.
"""
import json
import re
import sys

import dns.resolver

resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = int(sys.argv[1])
resolver.timeout = 2
resolver.lifetime = 4
dns.resolver.default_resolver = resolver

import authheaders  # noqa: E402  (after the resolver is in place)
import authres  # noqa: E402


def words(header):
    """The result word of each method. authres parses the header when it can; authheaders
    writes some reasons (pyspf's DNS errors) unquoted, which authres rejects, so the first
    `method=word` of each method is read directly then."""
    try:
        parsed = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + header)
        results = [(r.method, r.result) for r in parsed.results]
    except authres.core.SyntaxError:
        results = re.findall(r"(?:^|;)\s*(spf|dkim|dmarc)=([a-z]+)", header)
    found = {}
    for method, result in results:
        found.setdefault(method, result)
    return found


for line in sys.stdin:
    if not line.strip():
        continue
    case = json.loads(line)
    with open(case["message"], "rb") as f:
        message = f.read()
    header = authheaders.authenticate_message(
        message,
        "peer.test",
        spf=True,
        dkim=True,
        dmarc=True,
        ip=case["ip"],
        mail_from=case["mail_from"],
        helo=case["helo"],
    )
    header = header.split(":", 1)[1].strip() if header.lower().startswith("authentication-results:") else header
    found = words(header)
    print(
        json.dumps(
            {
                "spf": found.get("spf"),
                "dkim": found.get("dkim"),
                "dmarc": found.get("dmarc"),
                "header": header,
            }
        ),
        flush=True,
    )
