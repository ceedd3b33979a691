#!/usr/bin/env python3
"""Adds one CloudTrail event to the aws_fakes.py events file: an AccessDenied
on kms:Decrypt of KEY_ARN by the Confluent role, stamped now, in the wire
shape of shared/fixtures/aws/cloudtrail/LookupEvents.response.wire-constructed.json.
The file is replaced atomically: the fake re-reads it on every request.

Usage: add_access_denied.py EVENTS_FILE KEY_ARN
"""
import json
import os
import sys
import time
import uuid


def main():
    path, key_arn = sys.argv[1], sys.argv[2]
    account = key_arn.split(":")[4]
    role = "arn:aws:iam::152535741197:role/cc-kafka-d45e6381-b878-11ed-bdff-028e28f108bd"
    now = time.time()
    event_id = str(uuid.uuid4())
    record = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": role + "/kafka", "accountId": "152535741197"},
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "awsRegion": key_arn.split(":")[3],
        "sourceIPAddress": "192.0.2.0",
        "userAgent": "Confluent Cloud",
        "errorCode": "AccessDenied",
        "errorMessage": "User: %s/kafka is not authorized to perform: kms:Decrypt on resource: %s "
                        "because no resource-based policy allows the kms:Decrypt action" % (role, key_arn),
        "requestParameters": None,
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id,
        "readOnly": True,
        "resources": [{"ARN": key_arn, "accountId": account}],
        "eventType": "AwsApiCall",
        "recipientAccountId": account,
    }
    event = {
        "EventId": event_id,
        "EventName": "Decrypt",
        "ReadOnly": "true",
        "EventTime": now,
        "EventSource": "kms.amazonaws.com",
        "Username": "kafka",
        "Resources": [{"ResourceType": "AWS::KMS::Key", "ResourceName": key_arn}],
        "CloudTrailEvent": json.dumps(record),
    }
    try:
        with open(path) as f:
            events = json.load(f)
    except FileNotFoundError:
        events = []
    events.append(event)
    with open(path + ".tmp", "w") as f:
        json.dump(events, f)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
