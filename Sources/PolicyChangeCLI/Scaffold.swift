import PolicyChange

/// Starter runbooks for `policy-change init`. Each loads cleanly as written;
/// the values to replace are marked REPLACE-ME in comments.
enum Scaffold {
    struct Files {
        var runbook: String
        /// Paths relative to the runbook's folder, and contents.
        var extras: [(String, String)]
    }

    static func files(for cloud: Cloud) -> Files {
        switch cloud {
        case .aws:
            Files(runbook: """
                # policy-change runbook (schema v1). 'policy-change plan runbook.yaml' shows what it would do.
                version: 1
                name: grant-confluent-key-access
                description: Let the Confluent Cloud cluster use this key.
                change-ticket: CHG-0000                     # REPLACE-ME

                target:
                  aws:
                    key: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab   # REPLACE-ME

                change:
                  - add-statements: confluent-statements.json

                require:
                  - preset: confluent
                    principal: arn:aws:iam::152535741197:role/cc-kafka-REPLACE-ME

                steps:
                  - backup: { dir: backups }
                  - validate: { fail-on: error }
                  - approve: {}
                  - apply: {}
                  - wait: 30s
                  - verify:
                      checks: [policy-unchanged, required-access, audit-log]
                  - monitor:
                      duration: 30m
                      interval: 1m
                      checks: [policy-unchanged, required-access, audit-log]

                rollback:
                  automatic: true
                  verify: true

                """,
                extras: [("confluent-statements.json", """
                    {
                      "Sid": "Allow Confluent account(s) to use the key",
                      "Effect": "Allow",
                      "Principal": { "AWS": ["arn:aws:iam::152535741197:role/cc-kafka-REPLACE-ME"] },
                      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                      "Resource": "*"
                    },
                    {
                      "Sid": "Allow Confluent account(s) to attach persistent resources",
                      "Effect": "Allow",
                      "Principal": { "AWS": ["arn:aws:iam::152535741197:role/cc-kafka-REPLACE-ME"] },
                      "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                      "Resource": "*"
                    }

                    """)])
        case .azure:
            Files(runbook: """
                # policy-change runbook (schema v1) for an Azure Key Vault key.
                # Credentials: AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET, or
                # AZURE_FEDERATED_TOKEN_FILE (workload identity), or a managed identity.
                # Changes are written as deltas only (accessPolicies/add|remove, role
                # assignment PUT/DELETE), never by replacing the vault or the list.
                version: 1
                name: grant-confluent-key-access
                change-ticket: CHG-0000                     # REPLACE-ME

                target:
                  azure:
                    vault: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/vault   # REPLACE-ME
                    key: cmk1                                 # REPLACE-ME: an RSA or RSA-HSM key
                    # model: rbac                             # pin the permission model (default: read from the vault)

                change:
                  # access-policy model:
                  - add-access-policy: { object-id: 00000000-0000-0000-0000-000000000001, keys: [get, wrapKey, unwrapKey] }   # REPLACE-ME
                  # RBAC model instead:
                  # - add-role-assignment: { principal-id: 00000000-0000-0000-0000-000000000001, role: Key Vault Crypto Service Encryption User, scope: key }

                require:
                  - preset: confluent
                    principal: 00000000-0000-0000-0000-000000000001

                steps:
                  - backup: {}
                  - validate: { fail-on: error }
                  - approve: {}
                  - apply: {}
                  - wait: 30s
                  - verify:
                      checks: [policy-unchanged, required-access, key-enabled, { audit-log: { workspace: 00000000-0000-0000-0000-000000000000 } }]   # REPLACE-ME: Log Analytics workspace id
                  - monitor:
                      duration: 30m
                      interval: 1m
                      checks: [policy-unchanged, required-access, { audit-log: { workspace: 00000000-0000-0000-0000-000000000000 } }]

                rollback:
                  automatic: true
                  verify: true

                """, extras: [])
        case .gcp:
            Files(runbook: """
                # policy-change runbook (schema v1) for a Cloud KMS crypto key.
                # Credentials: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
                # gcloud auth application-default login, or the metadata server).
                version: 1
                name: grant-confluent-key-access
                description: Grant the Confluent cluster's Google group use of the key.
                change-ticket: CHG-0000                     # REPLACE-ME

                target:
                  gcp:
                    key: projects/my-project/locations/us-east1/keyRings/ring/cryptoKeys/key   # REPLACE-ME
                    # Who holds cloudkms.cryptoKeys.setIamPolicy through the key ring, project or
                    # organization (checked by ADMIN_LOCKOUT):
                    inherited-admins: ["group:kms-admins@example.com"]                            # REPLACE-ME

                change:
                  - add-members: { role: roles/cloudkms.cryptoKeyEncrypterDecrypter, members: ["group:cck-REPLACE-ME@confluent.io"] }
                  - add-members: { role: roles/cloudkms.viewer, members: ["group:cck-REPLACE-ME@confluent.io"] }

                require:
                  - preset: confluent
                    principal: group:cck-REPLACE-ME@confluent.io

                steps:
                  - backup: { dir: backups }
                  - validate: { fail-on: error }
                  - approve: {}
                  - apply: {}
                  - wait: 30s
                  - verify:
                      checks: [policy-unchanged, required-access, key-enabled, audit-log]
                  - monitor:
                      duration: 30m
                      interval: 1m
                      checks: [policy-unchanged, audit-log]

                rollback:
                  automatic: true
                  verify: true

                """, extras: [])
        }
    }
}
