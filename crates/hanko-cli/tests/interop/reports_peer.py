#!/usr/bin/env python3
"""parsedmarc and dmarc-report (PyPI) as independent readers of the aggregate reports hanko
writes.

  reports_peer.py REPORT.xml.gz    one JSON object: what each reader found (messages in all,
                                   records, the policy domain, and dmarc-report's format and
                                   warnings)
"""
import gzip
import json
import sys

import parsedmarc
from dmarc_report.parser import DMARCParser

path = sys.argv[1]
packed = open(path, "rb").read()
xml = gzip.decompress(packed).decode()

theirs = parsedmarc.parse_aggregate_report_xml(xml, offline=True)
other = DMARCParser.parse_bytes(packed)
print(json.dumps({
    "parsedmarc": {
        "messages": sum(r["count"] for r in theirs["records"]),
        "records": len(theirs["records"]),
        "domain": theirs["policy_published"]["domain"],
        "report_id": theirs["report_metadata"]["report_id"],
    },
    "dmarc_report": {
        "messages": sum(r.count for r in other.records),
        "records": len(other.records),
        "domain": other.policy_published.domain,
        "format": str(other.format),
        "warnings": [w.message for w in other.warnings],
    },
}))
