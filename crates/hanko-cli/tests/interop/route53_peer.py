#!/usr/bin/env python3
"""botocore's own Route 53 service model as the judge of hanko's change batches.

  route53_peer.py < batch.json    exit 0 when ChangeResourceRecordSets accepts the batch
                                  offline (botocore's parameter validator); the errors otherwise
"""
import json
import sys

import botocore.session
from botocore.validate import ParamValidator

shape = (
    botocore.session.get_session()
    .get_service_model("route53")
    .operation_model("ChangeResourceRecordSets")
    .input_shape
)
text = sys.stdin.read()
batches = [json.loads(part) for part in text.split("\n\n") if part.strip()]
for batch in batches:
    report = ParamValidator().validate({"HostedZoneId": "Z0000000000000", "ChangeBatch": batch}, shape)
    if report.has_errors():
        print(report.generate_report())
        sys.exit(1)
print(f"{len(batches)} batch(es) valid")
