#!/usr/bin/env python3
"""What the AWS end-to-end tests ask of moto directly, through boto3 (an
implementation independent of policy-change's own KMS client). Credentials
come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; region us-east-1.

  kms_admin.py ENDPOINT create-key [--policy FILE]   -> {"key_arn", "policy"}
  kms_admin.py ENDPOINT get-policy KEY               -> the policy, byte for byte
  kms_admin.py ENDPOINT put-policy KEY FILE
"""
import argparse
import json
import sys

import boto3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-key")
    create.add_argument("--policy")
    get = commands.add_parser("get-policy")
    get.add_argument("key")
    put = commands.add_parser("put-policy")
    put.add_argument("key")
    put.add_argument("file")
    args = parser.parse_args()

    kms = boto3.client("kms", endpoint_url=args.endpoint, region_name="us-east-1")
    if args.command == "create-key":
        request = {"Description": "policy-change end-to-end test key"}
        if args.policy:
            with open(args.policy) as f:
                request["Policy"] = f.read()
        arn = kms.create_key(**request)["KeyMetadata"]["Arn"]
        policy = kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"]
        json.dump({"key_arn": arn, "policy": policy}, sys.stdout)
    elif args.command == "get-policy":
        sys.stdout.buffer.write(kms.get_key_policy(KeyId=args.key, PolicyName="default")["Policy"].encode())
    elif args.command == "put-policy":
        with open(args.file) as f:
            kms.put_key_policy(KeyId=args.key, PolicyName="default", Policy=f.read())


if __name__ == "__main__":
    main()
