/// The JSON Schema (draft 2020-12) of runbook format v1, for editors (the
/// YAML language server reads it through a `# yaml-language-server:
/// $schema=…` comment or its settings) and for CI linting.
/// `policy-change schema` prints it.
///
/// It mirrors the loader: the same keys (`additionalProperties: false`
/// wherever the loader rejects unknown keys), enums, patterns and required
/// fields, one `oneOf` branch per step and check form. It cannot express
/// everything the loader checks, so the loader stays the authority: files
/// named by change operations must exist, `${NAME}`s must be defined, an
/// apply step needs a backup step before it, a window's end comes after its
/// start. Strings holding `${…}` pass the patterns, since they are checked
/// after substitution.
///
/// Scalars follow the YAML 1.2 core schema, as the loader reads them: text
/// fields accept numbers and booleans (an account id such as 111122223333 is
/// text), booleans are only `true`/`false`, and `yes`/`no`/`on`/`off` are
/// strings.
public enum RunbookSchema {
    /// The schema's `$id`.
    public static let id = "urn:policy-change:runbook:v1"

    /// The schema document, pretty-printed JSON.
    public static let json: String = #"""
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "$id": "urn:policy-change:runbook:v1",
          "title": "policy-change runbook, version 1",
          "description": "One change to one cloud KMS key's access policy and the procedure that applies it safely (backup, validate, approve, apply, verify, monitor, roll back). YAML scalars are read by the type each field expects: where text is expected any scalar is its text as written (on, yes, 0755 stay text); booleans are only true/false; integers are plain decimal digits. ${NAME} in any text is replaced from --set NAME=value, then the environment ($${ writes a literal ${). Relative paths resolve against the runbook's folder.",
          "type": "object",
          "additionalProperties": false,
          "required": ["version", "name", "target"],
          "properties": {
            "version": {
              "description": "The runbook format version. This policy-change reads version 1.",
              "const": 1
            },
            "name": {
              "description": "Short name of the change, used in run ids and folder names: lowercase letters, digits and '-', at most 64 characters.",
              "type": "string",
              "maxLength": 64,
              "pattern": "^(?:[a-z0-9-]|\\$\\{[A-Za-z_][A-Za-z0-9_]*\\})+$"
            },
            "description": {
              "description": "What the change does and why, for reviewers and reports.",
              "$ref": "#/$defs/text"
            },
            "change-ticket": {
              "description": "Change-management ticket (e.g. CHG-1234), recorded in the journal and reports.",
              "$ref": "#/$defs/text"
            },
            "target": { "$ref": "#/$defs/target" },
            "change": {
              "description": "Ordered operations turning the live policy into the proposed one. Required when the steps include apply (the default procedure does).",
              "type": "array",
              "items": { "$ref": "#/$defs/change-operation" }
            },
            "require": {
              "description": "Access that must hold after the change; checked before apply and after.",
              "type": "array",
              "items": { "$ref": "#/$defs/requirement" }
            },
            "window": { "$ref": "#/$defs/window" },
            "steps": {
              "description": "The procedure, in order. Omitted: backup, validate, approve, apply, verify, monitor. An apply step needs a backup step before it, and there is at most one apply.",
              "type": "array",
              "minItems": 1,
              "items": { "$ref": "#/$defs/step" }
            },
            "rollback": { "$ref": "#/$defs/rollback" }
          },
          "allOf": [
            {
              "if": { "required": ["target"], "properties": { "target": { "required": ["aws"] } } },
              "then": { "properties": { "change": { "items": { "$ref": "#/$defs/aws-operation" } } } }
            },
            {
              "if": { "required": ["target"], "properties": { "target": { "required": ["azure"] } } },
              "then": { "properties": { "change": { "items": { "$ref": "#/$defs/azure-operation" } } } }
            },
            {
              "if": { "required": ["target"], "properties": { "target": { "required": ["gcp"] } } },
              "then": { "properties": { "change": { "items": { "$ref": "#/$defs/gcp-operation" } } } }
            }
          ],
          "$defs": {
            "text": {
              "description": "Text. Any scalar is read as the text written (111122223333, on and 0755 are text here); ${NAME} is substituted.",
              "type": ["string", "number", "boolean"]
            },
            "non-empty-text": {
              "type": ["string", "number", "boolean"],
              "minLength": 1
            },
            "text-list": {
              "type": "array",
              "minItems": 1,
              "items": { "$ref": "#/$defs/non-empty-text" }
            },
            "with-variable": {
              "description": "Text holding a ${NAME}: checked once the variable is substituted.",
              "type": "string",
              "pattern": "\\$\\{"
            },
            "path": {
              "description": "A file path; relative paths resolve against the runbook's folder.",
              "type": "string",
              "minLength": 1
            },
            "duration": {
              "description": "A duration: number+unit pairs, largest unit first, longer than zero: 500ms, 30s, 5m, 1h30m, 1.5h, 2d.",
              "type": "string",
              "pattern": "^(?:(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:ms|s|m|h|d))+$|\\$\\{"
            },
            "timestamp": {
              "description": "An RFC 3339 timestamp with a time zone: 2026-11-28T02:00:00Z, 2026-11-28T03:00:00+01:00, fractional seconds allowed.",
              "type": "string",
              "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$|\\$\\{"
            },
            "url": {
              "description": "An http:// or https:// URL (plain http only reaches loopback addresses).",
              "type": "string",
              "pattern": "^(?:[Hh][Tt][Tt][Pp][Ss]?://[^ ]+$|\\$\\{)"
            },
            "endpoints": {
              "description": "Endpoint overrides by service name (AWS: kms, sts, cloudtrail, access-analyzer; likewise for Azure and GCP), e.g. an emulator on loopback.",
              "type": "object",
              "propertyNames": { "pattern": "^[a-z0-9-]+$" },
              "additionalProperties": { "$ref": "#/$defs/url" }
            },
            "positive-integer": { "type": "integer", "minimum": 1 },

            "target": {
              "description": "The key whose policy changes: exactly one of aws, azure, gcp.",
              "type": "object",
              "minProperties": 1,
              "maxProperties": 1,
              "additionalProperties": false,
              "properties": {
                "aws": {
                  "description": "An AWS KMS key.",
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["key"],
                  "properties": {
                    "key": {
                      "description": "Key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID), key id, or alias (alias/NAME).",
                      "type": "string",
                      "minLength": 1,
                      "anyOf": [
                        { "pattern": "^arn:[^:]*:kms:[^:]+:[0-9]{12}:(?:key|alias)/" },
                        { "not": { "pattern": "^arn:" } },
                        { "$ref": "#/$defs/with-variable" }
                      ]
                    },
                    "region": {
                      "description": "AWS region; optional when key is an ARN (and then must match it).",
                      "$ref": "#/$defs/non-empty-text"
                    },
                    "profile": {
                      "description": "Shared-config profile for credentials.",
                      "$ref": "#/$defs/non-empty-text"
                    },
                    "endpoints": { "$ref": "#/$defs/endpoints" },
                    "bypass-policy-lockout-safety-check": {
                      "description": "Asks for KMS's BypassPolicyLockoutSafetyCheck. policy-change never sends it: validation reports BYPASS_LOCKOUT_SAFETY_CHECK_REQUESTED and the run stops.",
                      "type": "boolean"
                    }
                  }
                },
                "azure": {
                  "description": "An Azure Key Vault key.",
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["vault", "key"],
                  "properties": {
                    "vault": {
                      "description": "The vault's ARM resource id: /subscriptions/SUB/resourceGroups/GROUP/providers/Microsoft.KeyVault/vaults/NAME.",
                      "type": "string",
                      "pattern": "^/[Ss]ubscriptions/[^/]+/[Rr]esource[Gg]roups/[^/]+/[Pp]roviders/[Mm]icrosoft\\.[Kk]ey[Vv]ault/[Vv]aults/[^/]+$|\\$\\{"
                    },
                    "key": {
                      "description": "The key's name in the vault.",
                      "type": "string",
                      "pattern": "^[0-9A-Za-z-]{1,127}$|\\$\\{"
                    },
                    "model": {
                      "description": "Pin the vault's permission model; default: read from the vault's enableRbacAuthorization.",
                      "anyOf": [{ "enum": ["access-policy", "rbac"] }, { "$ref": "#/$defs/with-variable" }]
                    },
                    "endpoints": { "$ref": "#/$defs/endpoints" }
                  }
                },
                "gcp": {
                  "description": "A Google Cloud KMS crypto key.",
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["key"],
                  "properties": {
                    "key": {
                      "description": "projects/P/locations/L/keyRings/R/cryptoKeys/K",
                      "type": "string",
                      "pattern": "^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$|\\$\\{"
                    },
                    "endpoints": { "$ref": "#/$defs/endpoints" },
                    "inherited-admins": {
                      "description": "Members holding cloudkms.cryptoKeys.setIamPolicy on the key through its key ring, project, folder or organization; the ADMIN_LOCKOUT check counts them.",
                      "type": "array",
                      "items": { "type": "string", "minLength": 1 }
                    }
                  }
                }
              }
            },

            "change-operation": {
              "description": "One change operation: a one-key mapping.",
              "oneOf": [
                { "$ref": "#/$defs/op-replace-policy" },
                { "$ref": "#/$defs/op-add-statements" },
                { "$ref": "#/$defs/op-add-principals" },
                { "$ref": "#/$defs/op-remove-statements" },
                { "$ref": "#/$defs/op-add-members" },
                { "$ref": "#/$defs/op-remove-members" },
                { "$ref": "#/$defs/op-add-access-policy" },
                { "$ref": "#/$defs/op-remove-access-policy" },
                { "$ref": "#/$defs/op-add-role-assignment" },
                { "$ref": "#/$defs/op-remove-role-assignment" }
              ]
            },
            "aws-operation": {
              "description": "Operations on an AWS key policy.",
              "anyOf": [
                { "required": ["replace-policy"] },
                { "required": ["add-statements"] },
                { "required": ["add-principals"] },
                { "required": ["remove-statements"] }
              ]
            },
            "azure-operation": {
              "description": "Operations on an Azure vault's access policies or role assignments.",
              "anyOf": [
                { "required": ["add-access-policy"] },
                { "required": ["remove-access-policy"] },
                { "required": ["add-role-assignment"] },
                { "required": ["remove-role-assignment"] }
              ]
            },
            "gcp-operation": {
              "description": "Operations on a GCP key's IAM policy.",
              "anyOf": [
                { "required": ["replace-policy"] },
                { "required": ["add-members"] },
                { "required": ["remove-members"] }
              ]
            },
            "op-replace-policy": {
              "type": "object",
              "additionalProperties": false,
              "required": ["replace-policy"],
              "properties": {
                "replace-policy": {
                  "description": "AWS, GCP: a file holding the whole proposed policy (AWS key policy JSON, GCP IAM policy JSON). It must exist.",
                  "$ref": "#/$defs/path"
                }
              }
            },
            "op-add-statements": {
              "type": "object",
              "additionalProperties": false,
              "required": ["add-statements"],
              "properties": {
                "add-statements": {
                  "description": "AWS: a file of statements to add: a JSON array, one object, or the console's comma-separated snippet as pasted. It must exist.",
                  "$ref": "#/$defs/path"
                }
              }
            },
            "op-add-principals": {
              "type": "object",
              "additionalProperties": false,
              "required": ["add-principals"],
              "properties": {
                "add-principals": {
                  "description": "AWS: add principals to the statement with this Sid.",
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["sid", "principals"],
                  "properties": {
                    "sid": { "$ref": "#/$defs/non-empty-text" },
                    "principals": { "$ref": "#/$defs/text-list" }
                  }
                }
              }
            },
            "op-remove-statements": {
              "type": "object",
              "additionalProperties": false,
              "required": ["remove-statements"],
              "properties": {
                "remove-statements": {
                  "description": "AWS: the Sids of statements to remove.",
                  "$ref": "#/$defs/text-list"
                }
              }
            },
            "members-change": {
              "type": "object",
              "additionalProperties": false,
              "required": ["role", "members"],
              "properties": {
                "role": {
                  "description": "roles/… or projects/P/roles/…",
                  "$ref": "#/$defs/non-empty-text"
                },
                "members": {
                  "description": "IAM members: user:…, group:…, serviceAccount:…, domain:…",
                  "$ref": "#/$defs/text-list"
                }
              }
            },
            "op-add-members": {
              "type": "object",
              "additionalProperties": false,
              "required": ["add-members"],
              "properties": {
                "add-members": { "description": "GCP: add members to a role's binding.", "$ref": "#/$defs/members-change" }
              }
            },
            "op-remove-members": {
              "type": "object",
              "additionalProperties": false,
              "required": ["remove-members"],
              "properties": {
                "remove-members": { "description": "GCP: remove members from a role's binding.", "$ref": "#/$defs/members-change" }
              }
            },
            "op-add-access-policy": {
              "type": "object",
              "additionalProperties": false,
              "required": ["add-access-policy"],
              "properties": {
                "add-access-policy": {
                  "description": "Azure, access-policy model: add an access-policy entry. At least one of keys, secrets, certificates.",
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["object-id"],
                  "properties": {
                    "object-id": { "$ref": "#/$defs/non-empty-text" },
                    "application-id": { "description": "Only for a compound identity.", "$ref": "#/$defs/non-empty-text" },
                    "tenant-id": { "description": "Default: the vault's tenant.", "$ref": "#/$defs/non-empty-text" },
                    "keys": { "description": "Key permissions, e.g. get, wrapKey, unwrapKey.", "$ref": "#/$defs/text-list" },
                    "secrets": { "$ref": "#/$defs/text-list" },
                    "certificates": { "$ref": "#/$defs/text-list" }
                  },
                  "anyOf": [{ "required": ["keys"] }, { "required": ["secrets"] }, { "required": ["certificates"] }]
                }
              }
            },
            "op-remove-access-policy": {
              "type": "object",
              "additionalProperties": false,
              "required": ["remove-access-policy"],
              "properties": {
                "remove-access-policy": {
                  "description": "Azure, access-policy model: remove an object's access-policy entry.",
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["object-id"],
                  "properties": {
                    "object-id": { "$ref": "#/$defs/non-empty-text" },
                    "application-id": { "$ref": "#/$defs/non-empty-text" }
                  }
                }
              }
            },
            "role-assignment": {
              "type": "object",
              "additionalProperties": false,
              "required": ["principal-id", "role"],
              "properties": {
                "principal-id": { "$ref": "#/$defs/non-empty-text" },
                "role": {
                  "description": "Role name, e.g. Key Vault Crypto Service Encryption User.",
                  "$ref": "#/$defs/non-empty-text"
                },
                "scope": {
                  "description": "Assign at the key or the vault. Adding defaults to key (least privilege); removing without scope matches either.",
                  "anyOf": [{ "enum": ["key", "vault"] }, { "$ref": "#/$defs/with-variable" }]
                }
              }
            },
            "op-add-role-assignment": {
              "type": "object",
              "additionalProperties": false,
              "required": ["add-role-assignment"],
              "properties": {
                "add-role-assignment": { "description": "Azure, RBAC model: add a role assignment.", "$ref": "#/$defs/role-assignment" }
              }
            },
            "op-remove-role-assignment": {
              "type": "object",
              "additionalProperties": false,
              "required": ["remove-role-assignment"],
              "properties": {
                "remove-role-assignment": { "description": "Azure, RBAC model: remove a role assignment.", "$ref": "#/$defs/role-assignment" }
              }
            },

            "requirement": {
              "description": "Access that must hold: a principal and the actions it needs (and/or a preset).",
              "type": "object",
              "additionalProperties": false,
              "required": ["principal"],
              "properties": {
                "principal": {
                  "description": "AWS principal ARN | GCP member | Azure object id.",
                  "$ref": "#/$defs/non-empty-text"
                },
                "actions": {
                  "description": "KMS actions | IAM permissions | Key Vault key permissions; wildcards allowed (kms:ReEncrypt*).",
                  "$ref": "#/$defs/text-list"
                },
                "preset": {
                  "description": "A documented permission set for the target's cloud, added to actions.",
                  "anyOf": [{ "enum": ["confluent"] }, { "$ref": "#/$defs/with-variable" }]
                }
              },
              "anyOf": [{ "required": ["actions"] }, { "required": ["preset"] }]
            },

            "window": {
              "description": "Maintenance window: outside it, run stops before apply (exit 4) unless --ignore-window. A start and exactly one of end or duration.",
              "type": "object",
              "additionalProperties": false,
              "required": ["start"],
              "properties": {
                "start": { "$ref": "#/$defs/timestamp" },
                "end": { "description": "After start.", "$ref": "#/$defs/timestamp" },
                "duration": { "$ref": "#/$defs/duration" }
              },
              "oneOf": [{ "required": ["end"] }, { "required": ["duration"] }]
            },

            "rollback": {
              "type": "object",
              "additionalProperties": false,
              "properties": {
                "automatic": {
                  "description": "Any failure after apply restores the backup. Default true.",
                  "type": "boolean"
                },
                "verify": {
                  "description": "Re-read the policy after restoring and compare it with the backup. Default true.",
                  "type": "boolean"
                },
                "monitor": {
                  "description": "Optional recovery watch after restoring.",
                  "$ref": "#/$defs/duration"
                }
              }
            },

            "step-options": {
              "description": "Settings every step takes.",
              "properties": {
                "timeout": { "description": "Give up on the step after this long.", "$ref": "#/$defs/duration" },
                "retries": { "description": "Extra attempts after a failed one (0 to 100).", "type": "integer", "minimum": 0, "maximum": 100 },
                "on-failure": {
                  "description": "What a failure does. Default: abort before apply, rollback after.",
                  "anyOf": [{ "enum": ["rollback", "abort", "continue"] }, { "$ref": "#/$defs/with-variable" }]
                }
              }
            },
            "step": {
              "description": "A step: a one-key mapping ({backup: {dir: backups}}), or a bare keyword for a step whose settings are all optional.",
              "oneOf": [
                {
                  "description": "A step with its default settings.",
                  "enum": ["backup", "validate", "approve", "apply", "verify", "monitor"]
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["backup"],
                  "properties": {
                    "backup": {
                      "description": "Save the current policy where the cloud's own CLI can restore it from.",
                      "oneOf": [
                        { "type": "null" },
                        {
                          "type": "object",
                          "$ref": "#/$defs/step-options",
                          "properties": {
                            "dir": { "description": "Folder for backups (created if missing); default: the run's folder.", "$ref": "#/$defs/path" }
                          },
                          "unevaluatedProperties": false
                        }
                      ]
                    }
                  }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["validate"],
                  "properties": {
                    "validate": {
                      "description": "Analyse the proposed policy; errors stop the run before apply.",
                      "oneOf": [
                        { "type": "null" },
                        {
                          "type": "object",
                          "$ref": "#/$defs/step-options",
                          "properties": {
                            "fail-on": {
                              "description": "error: fail on errors and security warnings; warning: on warnings too.",
                              "anyOf": [{ "enum": ["error", "warning"] }, { "$ref": "#/$defs/with-variable" }]
                            },
                            "access-analyzer": {
                              "description": "Also ask IAM Access Analyzer's ValidatePolicy (AWS targets only).",
                              "type": "boolean"
                            }
                          },
                          "unevaluatedProperties": false
                        }
                      ]
                    }
                  }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["approve"],
                  "properties": {
                    "approve": {
                      "description": "Show the plan and ask y/N on a TTY; --yes skips; no TTY and no --yes stops.",
                      "oneOf": [
                        { "type": "null" },
                        { "type": "object", "$ref": "#/$defs/step-options", "unevaluatedProperties": false }
                      ]
                    }
                  }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["apply"],
                  "properties": {
                    "apply": {
                      "description": "Write the proposed policy. Needs a backup step before it.",
                      "oneOf": [
                        { "type": "null" },
                        { "type": "object", "$ref": "#/$defs/step-options", "unevaluatedProperties": false }
                      ]
                    }
                  }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["wait"],
                  "properties": {
                    "wait": {
                      "description": "Pause, e.g. for the policy to propagate: a duration, or settings with one.",
                      "oneOf": [
                        { "$ref": "#/$defs/duration" },
                        {
                          "type": "object",
                          "$ref": "#/$defs/step-options",
                          "required": ["duration"],
                          "properties": { "duration": { "$ref": "#/$defs/duration" } },
                          "unevaluatedProperties": false
                        }
                      ]
                    }
                  }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["verify"],
                  "properties": {
                    "verify": {
                      "description": "Run checks once, right after apply.",
                      "oneOf": [
                        { "type": "null" },
                        {
                          "type": "object",
                          "$ref": "#/$defs/step-options",
                          "properties": {
                            "checks": { "description": "Default: policy-unchanged, required-access, audit-log.", "$ref": "#/$defs/checks" },
                            "inconclusive": {
                              "description": "Rounds a check may stay inconclusive before it counts as failed. Default 3.",
                              "$ref": "#/$defs/positive-integer"
                            },
                            "interval": { "description": "Pause between inconclusive rounds. Default 10s.", "$ref": "#/$defs/duration" }
                          },
                          "unevaluatedProperties": false
                        }
                      ]
                    }
                  }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["monitor"],
                  "properties": {
                    "monitor": {
                      "description": "Run checks in rounds for a while; failures trigger rollback.",
                      "oneOf": [
                        { "type": "null" },
                        {
                          "type": "object",
                          "$ref": "#/$defs/step-options",
                          "properties": {
                            "duration": { "description": "How long to watch. Default 30m.", "$ref": "#/$defs/duration" },
                            "interval": { "description": "Time between rounds, at most the duration. Default 1m.", "$ref": "#/$defs/duration" },
                            "failures": {
                              "description": "Consecutive failed rounds that trigger rollback. Default 1.",
                              "$ref": "#/$defs/positive-integer"
                            },
                            "inconclusive": {
                              "description": "Consecutive inconclusive rounds that count as one failed round. Default 3.",
                              "$ref": "#/$defs/positive-integer"
                            },
                            "checks": { "description": "Default: policy-unchanged, required-access, audit-log.", "$ref": "#/$defs/checks" }
                          },
                          "unevaluatedProperties": false
                        }
                      ]
                    }
                  }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["command"],
                  "properties": {
                    "command": {
                      "description": "Run a shell command (/bin/sh -c, in the runbook's folder).",
                      "type": "object",
                      "$ref": "#/$defs/step-options",
                      "required": ["run"],
                      "properties": {
                        "run": { "$ref": "#/$defs/non-empty-text" },
                        "environment": { "$ref": "#/$defs/environment" }
                      },
                      "unevaluatedProperties": false
                    }
                  }
                }
              ]
            },

            "environment": {
              "description": "Extra environment variables for the command (never journaled).",
              "type": "object",
              "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
              "additionalProperties": { "$ref": "#/$defs/text" }
            },
            "no-settings": {
              "description": "This check has no settings.",
              "oneOf": [{ "type": "null" }, { "type": "object", "maxProperties": 0 }]
            },
            "checks": {
              "type": "array",
              "minItems": 1,
              "items": { "$ref": "#/$defs/check" }
            },
            "check": {
              "description": "A check: a bare keyword or a one-key mapping. A check that cannot get an answer is inconclusive, not failed.",
              "oneOf": [
                {
                  "description": "policy-unchanged: the live policy still equals what was applied. required-access: it still grants every require entry. audit-log: no access-denied on this key since apply. key-enabled: the key exists and is enabled.",
                  "enum": ["policy-unchanged", "required-access", "audit-log", "key-enabled"]
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["policy-unchanged"],
                  "properties": { "policy-unchanged": { "$ref": "#/$defs/no-settings" } }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["required-access"],
                  "properties": { "required-access": { "$ref": "#/$defs/no-settings" } }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["key-enabled"],
                  "properties": { "key-enabled": { "$ref": "#/$defs/no-settings" } }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["audit-log"],
                  "properties": {
                    "audit-log": {
                      "oneOf": [
                        { "type": "null" },
                        {
                          "type": "object",
                          "additionalProperties": false,
                          "properties": {
                            "workspace": { "description": "Azure Log Analytics workspace id (azure targets only).", "$ref": "#/$defs/non-empty-text" }
                          }
                        }
                      ]
                    }
                  }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["http"],
                  "properties": {
                    "http": {
                      "description": "Call a URL and compare the answer; 5xx and timeouts are inconclusive.",
                      "type": "object",
                      "additionalProperties": false,
                      "required": ["url"],
                      "properties": {
                        "url": { "$ref": "#/$defs/url" },
                        "method": {
                          "description": "Default GET.",
                          "anyOf": [
                            { "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] },
                            { "$ref": "#/$defs/with-variable" }
                          ]
                        },
                        "headers": {
                          "description": "Request headers (values may hold secrets: never printed or journaled).",
                          "type": "object",
                          "propertyNames": { "pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" },
                          "additionalProperties": { "$ref": "#/$defs/text" }
                        },
                        "expect": {
                          "type": "object",
                          "additionalProperties": false,
                          "properties": {
                            "status": { "description": "Default 200.", "type": "integer", "minimum": 100, "maximum": 599 },
                            "json": {
                              "description": "Dotted paths in the JSON body (status.phase) and the value each must equal. Plain true/false, numbers and null are JSON values; quoted values are strings.",
                              "type": "object",
                              "propertyNames": { "pattern": "^[^.]+(?:\\.[^.]+)*$" },
                              "additionalProperties": { "type": ["string", "number", "boolean", "null"] }
                            }
                          }
                        },
                        "timeout": { "$ref": "#/$defs/duration" }
                      }
                    }
                  }
                },
                {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["command"],
                  "properties": {
                    "command": {
                      "description": "Run a shell command; exit status 0 passes.",
                      "type": "object",
                      "additionalProperties": false,
                      "required": ["run"],
                      "properties": {
                        "run": { "$ref": "#/$defs/non-empty-text" },
                        "timeout": { "$ref": "#/$defs/duration" },
                        "environment": { "$ref": "#/$defs/environment" }
                      }
                    }
                  }
                }
              ]
            }
          }
        }
        """#
}
