#!/usr/bin/env python3
"""Prepare a moto_server for policy-change: an IAM user with an access key and
a KMS key, using exactly the unauthenticated actions moto allows
(INITIAL_NO_AUTH_ACTION_COUNT=4); every later request must be signed by a
principal with IAM permission, as on real AWS.

Usage: moto_setup.py ENDPOINT [--policy FILE] [--deny-put] [--user NAME] [--wait SECONDS] > setup.json
Prints {"access_key_id", "secret_access_key", "key_arn", "key_id", "user_arn"}.
--wait: first wait up to SECONDS for the server to answer GET /moto-api/ (which
is not an AWS action, so it does not use up one of the four).
"""
import argparse
import json
import sys
import time
import urllib.error
import urllib.request

import boto3

# The four actions: CreateUser, CreateAccessKey, PutUserPolicy, CreateKey.
NO_AUTH_ACTIONS = 4


def wait_until_answering(endpoint, seconds):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(endpoint.rstrip("/") + "/moto-api/", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            sys.exit("moto_setup.py: %s did not answer within %s s" % (endpoint, seconds))
        time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("--policy", help="initial key policy file (default: KMS's default policy)")
    parser.add_argument("--deny-put", action="store_true", help="the user may not call kms:PutKeyPolicy")
    parser.add_argument("--user", default="sre")
    parser.add_argument("--wait", type=float, default=0, metavar="SECONDS")
    args = parser.parse_args()
    if args.wait:
        wait_until_answering(args.endpoint, args.wait)

    common = dict(endpoint_url=args.endpoint, region_name="us-east-1",
                  aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam = boto3.client("iam", **common)
    kms = boto3.client("kms", **common)

    user = iam.create_user(UserName=args.user)["User"]
    key = iam.create_access_key(UserName=args.user)["AccessKey"]
    statements = [{"Effect": "Allow", "Action": ["kms:*", "sts:GetCallerIdentity", "cloudtrail:LookupEvents",
                                                 "access-analyzer:ValidatePolicy"], "Resource": "*"}]
    if args.deny_put:
        statements.append({"Effect": "Deny", "Action": "kms:PutKeyPolicy", "Resource": "*"})
    iam.put_user_policy(UserName=args.user, PolicyName="policy-change",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    create = {"Description": "policy-change demo key"}
    if args.policy:
        with open(args.policy) as f:
            create["Policy"] = f.read()
    metadata = kms.create_key(**create)["KeyMetadata"]
    json.dump({"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"],
               "key_arn": metadata["Arn"], "key_id": metadata["KeyId"], "user_arn": user["Arn"]}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
