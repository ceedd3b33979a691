import Foundation
import PolicyChange
import Testing

@testable import RunbookYAML

/// Every valid fixture decodes, and to the values it spells out.
@Suite struct ValidRunbookTests {
    func load(_ name: String) throws -> Runbook {
        try Fixtures.loader.load(path: Fixtures.valid + "/" + name)
    }

    @Test(arguments: Fixtures.files(in: Fixtures.valid))
    func everyValidFixtureLoads(_ name: String) throws {
        let runbook = try load(name)
        #expect(runbook.version == 1)
        #expect(runbook.source == Fixtures.valid + "/" + name)
    }

    @Test func awsFull() throws {
        let r = try load("aws-full.yaml")
        #expect(r.name == "add-audit-role")
        #expect(r.description == "Grant the audit role read access to the cluster key.")
        #expect(r.changeTicket == "CHG-1234")
        #expect(
            r.target
                == .aws(
                    AWSTarget(
                        key: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                        region: "us-east-1", profile: "prod-admin",
                        endpoints: ["kms": "http://127.0.0.1:5000", "cloudtrail": "http://127.0.0.1:5001"])))

        try #require(r.change.count == 4)
        guard case .replacePolicy(let policy) = r.change[0], case .addStatements(let snippet) = r.change[1] else {
            Issue.record("unexpected operations: \(r.change)")
            return
        }
        #expect(policy.path == Fixtures.valid + "/policies/new-key-policy.json")
        #expect(policy.contents == FileManager.default.contents(atPath: policy.path))
        #expect(snippet.path == Fixtures.valid + "/snippets/confluent-statements.json")
        #expect(!snippet.contents.isEmpty)
        #expect(r.change[2] == .addPrincipals(sid: "Allow use of the key", principals: ["arn:aws:iam::444455556666:role/audit"]))
        #expect(r.change[3] == .removeStatements(sids: ["LegacyAccess"]))

        try #require(r.require.count == 2)
        #expect(r.require[0].principal == "arn:aws:iam::152535741197:role/cc-kafka-d45e6381-b878-11ed-bdff-028e28f108bd")
        #expect(
            r.require[0].actions == [
                "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
                "kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant",
            ])
        #expect(r.require[0].preset == nil)
        #expect(r.require[0].location?.line == 24)
        #expect(r.require[0].location?.column == 5)
        #expect(r.require[1].preset == .confluent)
        #expect(r.require[1].actions == [])
        #expect(r.require[1].principal == "arn:aws:iam::444455556666:role/audit")

        #expect(
            r.window
                == MaintenanceWindow(start: Date(timeIntervalSince1970: 1_795_831_200), end: Date(timeIntervalSince1970: 1_795_838_400)))

        let actions = r.steps.map(\.action)
        try #require(actions.count == 8)
        #expect(actions[0] == .backup(BackupStep(directory: Fixtures.valid + "/backups")))
        #expect(actions[1] == .validate(ValidateStep(failOn: .error, accessAnalyzer: true)))
        #expect(actions[2] == .approve)
        #expect(actions[3] == .apply)
        #expect(actions[4] == .wait(.seconds(30)))
        #expect(actions[5] == .verify(VerifyStep(checks: [.policyUnchanged, .requiredAccess, .auditLog(AuditLogCheck())])))
        #expect(r.steps[5].location?.line == 40)
        guard case .monitor(let monitor) = actions[6] else {
            Issue.record("step 7 is \(actions[6])")
            return
        }
        #expect(monitor.duration == .seconds(1800))
        #expect(monitor.interval == .seconds(60))
        #expect(monitor.failures == 1)
        #expect(monitor.inconclusive == 3)
        try #require(monitor.checks.count == 4)
        #expect(monitor.checks[0] == .auditLog(AuditLogCheck()))
        #expect(monitor.checks[1] == .keyEnabled)
        #expect(
            monitor.checks[2]
                == .http(
                    HTTPCheck(
                        // CLUSTER from --set; ENV from --set, which wins over the environment.
                        url: "https://api.confluent.cloud/cmk/v2/clusters/lkc-abc123?environment=env-from-set",
                        headers: ["Authorization": "Basic dXNlcjpwYXNz"],
                        expectStatus: 200, expectJSON: ["status.phase": .string("PROVISIONED")])))
        #expect(monitor.checks[3] == .command(CommandSpec(run: "./smoke-produce-consume.sh", timeout: .seconds(60))))
        #expect(actions[7] == .command(CommandSpec(run: "./notify.sh \"done\"")))
        #expect(r.steps[7].options == StepOptions(onFailure: .continue))
        #expect(r.steps[0].options == StepOptions())

        #expect(r.rollback == RollbackPolicy(automatic: true, verify: true, monitor: .seconds(300)))
    }

    @Test func defaultsApplyWhenOmitted() throws {
        let r = try load("aws-minimal.yaml")
        #expect(r.target == .aws(AWSTarget(key: "alias/cluster-key")))
        #expect(r.description == nil)
        #expect(r.changeTicket == nil)
        #expect(r.change == [.removeStatements(sids: ["LegacyAccess", "OldAdmin"])])
        #expect(r.require == [])
        #expect(r.window == nil)
        #expect(r.steps == Step.defaultProcedure)
        #expect(r.rollback == RollbackPolicy())
    }

    @Test func scalarsAreReadByTheTypeTheSchemaExpects() throws {
        let r = try load("aws-scalars.yaml")
        #expect(r.name == "scalars-prod")
        #expect(r.description == "on")
        #expect(r.changeTicket == "0755")
        #expect(r.target == .aws(AWSTarget(key: "1234abcd-12ab-34cd-56ef-1234567890ab", region: "eu-west-1", profile: "yes")))
        #expect(
            r.change == [
                .addPrincipals(sid: "no", principals: ["111122223333", "1e3", "true", "off"]),
                .removeStatements(sids: ["~x", "Legacy-old", "cost: ${NOT_A_VAR}", "$5"]),
            ])
        #expect(r.require == [Requirement(principal: "111122223333", actions: ["kms:Decrypt"], location: r.require.first?.location)])
        let parent = (Fixtures.valid as NSString).deletingLastPathComponent
        #expect(r.steps[0].action == .backup(BackupStep(directory: parent + "/backups/prod")))
        #expect(r.steps[1].action == .validate(ValidateStep(accessAnalyzer: false)))
        #expect(r.steps[2].action == .apply)
        #expect(r.steps[2].options == StepOptions(onFailure: .abort))
        #expect(r.steps[3].action == .wait(.milliseconds(500)))
        #expect(r.steps[3].options == StepOptions(timeout: .seconds(5400), retries: 2))
        #expect(
            r.steps[4].action
                == .command(
                    CommandSpec(
                        run: "echo \"prod\" && echo \"$HOME\" ${LITERAL}\n", timeout: .seconds(120),
                        environment: ["STAGE": "prod", "MODE": "0755"])))
        #expect(r.steps[4].options == StepOptions(timeout: .seconds(120), retries: 0))
        #expect(r.rollback == RollbackPolicy(automatic: true, verify: false))
    }

    @Test func azureAccessPolicy() throws {
        let r = try load("azure-access-policy.yaml")
        #expect(r.description == "Give Confluent's service principal the key permissions it needs, and remove a departed operator.\n")
        #expect(
            r.target
                == .azure(
                    AzureTarget(
                        vault:
                            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-kafka/providers/Microsoft.KeyVault/vaults/kv-kafka",
                        key: "cmk1", model: .accessPolicy,
                        endpoints: ["management": "http://127.0.0.1:8443", "login": "http://127.0.0.1:8444"])))
        #expect(
            r.change == [
                .addAccessPolicy(
                    AccessPolicyEntry(objectID: "11111111-2222-3333-4444-555555555555", keys: ["get", "wrapKey", "unwrapKey"])),
                .addAccessPolicy(
                    AccessPolicyEntry(
                        objectID: "22222222-3333-4444-5555-666666666666", applicationID: "33333333-4444-5555-6666-777777777777",
                        tenantID: "44444444-5555-6666-7777-888888888888", keys: ["get", "list"], secrets: ["get"],
                        certificates: ["list"])),
                .removeAccessPolicy(objectID: "55555555-6666-7777-8888-999999999999", applicationID: nil),
                .removeAccessPolicy(
                    objectID: "66666666-7777-8888-9999-000000000000", applicationID: "77777777-8888-9999-0000-111111111111"),
            ])
        #expect(r.require.map(\.preset) == [.confluent, .confluent])
        #expect(r.require[1].actions == ["get"])
        #expect(r.require[1].effectiveActions(for: .azure) == ["get", "wrapKey", "unwrapKey"])
        // 02:00:00.250 at +01:00 is 01:00:00.250 UTC; a 2h duration.
        let start = Date(timeIntervalSince1970: 1_795_827_600.25)
        #expect(r.window == MaintenanceWindow(start: start, end: start.addingTimeInterval(7200)))
        #expect(r.steps.map(\.keyword) == ["backup", "validate", "approve", "apply", "wait", "verify", "monitor"])
        #expect(r.steps[0].action == .backup(BackupStep()))
        #expect(r.steps[1].action == .validate(ValidateStep(failOn: .warning)))
        #expect(r.steps[4].action == .wait(.seconds(60)))
        #expect(r.steps[4].options.timeout == .seconds(120))
        let workspace = AuditLogCheck(workspace: "8b0c2a4e-0000-4000-8000-000000000001")
        #expect(
            r.steps[5].action
                == .verify(
                    VerifyStep(checks: [.requiredAccess, .auditLog(workspace), .keyEnabled], inconclusiveLimit: 5, interval: .seconds(30))))
        #expect(
            r.steps[6].action
                == .monitor(
                    MonitorStep(
                        duration: .seconds(600), interval: .seconds(30), failures: 2, inconclusive: 4,
                        checks: [.policyUnchanged, .auditLog(workspace)])))
        #expect(r.steps[6].options.onFailure == .rollback)
        #expect(r.rollback == RollbackPolicy(automatic: false, verify: false))
    }

    @Test func azureRBAC() throws {
        let r = try load("azure-rbac.yaml")
        guard case .azure(let target) = r.target else {
            Issue.record("target is \(r.target)")
            return
        }
        #expect(target.model == .rbac)
        #expect(target.key == "cmk-2")
        #expect(
            r.change == [
                .addRoleAssignment(
                    principalID: "11111111-2222-3333-4444-555555555555", role: "Key Vault Crypto Service Encryption User", scope: .key),
                // scope defaults to the key: least privilege.
                .addRoleAssignment(principalID: "22222222-3333-4444-5555-666666666666", role: "Key Vault Crypto User", scope: .key),
                .removeRoleAssignment(principalID: "33333333-4444-5555-6666-777777777777", role: "Key Vault Crypto User", scope: nil),
                .removeRoleAssignment(principalID: "44444444-5555-6666-7777-888888888888", role: "Key Vault Administrator", scope: .vault),
            ])
        // Bare keywords are the steps with their default settings; Azure's default
        // checks leave out audit-log, which needs a Log Analytics workspace.
        #expect(
            r.steps.map(\.action) == [
                .backup(BackupStep(directory: "/var/backups/kms")), .validate(ValidateStep()), .approve, .apply,
                .verify(VerifyStep(checks: [.policyUnchanged, .requiredAccess])),
                .monitor(MonitorStep(checks: [.policyUnchanged, .requiredAccess])),
            ])
    }

    @Test func gcp() throws {
        let r = try load("gcp.yaml")
        #expect(r.changeTicket == "CHG-5678")
        #expect(
            r.target
                == .gcp(
                    GCPTarget(
                        key: "projects/acme-prod/locations/us-east1/keyRings/kafka/cryptoKeys/cluster-key",
                        endpoints: ["cloudkms": "http://127.0.0.1:9090"],
                        inheritedAdmins: ["group:kms-admins@acme.example", "user:oncall@acme.example"])))
        guard case .replacePolicy(let file) = r.change.first else {
            Issue.record("first operation is \(String(describing: r.change.first))")
            return
        }
        #expect(file.path.hasSuffix("/valid/policies/gcp-policy.json"))
        #expect(
            Array(r.change.dropFirst()) == [
                .addMembers(role: "projects/acme-prod/roles/confluentKeyUser", members: ["group:cck-123@confluent.io"]),
                .removeMembers(
                    role: "roles/cloudkms.viewer",
                    members: ["user:old@example.com", "serviceAccount:ci@acme-prod.iam.gserviceaccount.com"]),
            ])
        #expect(r.require[0].actions == ["cloudkms.cryptoKeyVersions.useToEncrypt", "cloudkms.cryptoKeyVersions.useToDecrypt"])
        #expect(r.require[1].preset == .confluent)
        // 02:00 at -05:30 is 07:30 UTC; lowercase 't' is RFC 3339 too.
        #expect(r.window?.start == Date(timeIntervalSince1970: 1_795_851_000))
        #expect(r.window?.end == Date(timeIntervalSince1970: 1_795_910_399.999))

        #expect(r.steps[0].options == StepOptions(onFailure: .abort))
        #expect(r.steps[1].options == StepOptions())
        #expect(r.steps[2].options == StepOptions(timeout: .seconds(900)))
        #expect(r.steps[3].options == StepOptions(onFailure: .rollback))
        #expect(r.steps[4].action == .wait(.seconds(120)))
        guard case .verify(let verify) = r.steps[5].action else {
            Issue.record("step 6 is \(r.steps[5].action)")
            return
        }
        #expect(r.steps[5].options == StepOptions(timeout: .seconds(300), onFailure: .continue))
        #expect(verify.checks.count == 4)
        #expect(Array(verify.checks.prefix(3)) == [.policyUnchanged, .requiredAccess, .keyEnabled])
        #expect(
            verify.checks[3]
                == .http(
                    HTTPCheck(
                        url: "http://127.0.0.1:8080/health", method: "POST",
                        headers: ["X-Request-Id": "check-env-from-set", "Authorization": "Bearer s3cr3t"],
                        expectStatus: 204,
                        expectJSON: [
                            "ready": .bool(true), "replicas": .number(3), "ratio": .number(0.5), "owner": .null,
                            "phase": .string("true"), "code": .string("200"), "state": .string("on"),
                            "path": .string("env-from-set"),
                        ],
                        timeout: .seconds(5))))
        #expect(
            r.steps[6].action
                == .monitor(
                    MonitorStep(
                        duration: .seconds(3600),
                        checks: [
                            .command(
                                CommandSpec(
                                    run: "./check-consumer-lag.sh --max 1000", timeout: .seconds(45),
                                    environment: ["CLUSTER": "lkc-abc123"]))
                        ])))
        #expect(r.steps[7].action == .command(CommandSpec(run: "./notify.sh \"gcp done\"", timeout: .seconds(10))))
        #expect(r.steps[7].options.timeout == .seconds(10))
        #expect(r.rollback == RollbackPolicy(monitor: .seconds(1800)))
    }

    @Test func requirementsFile() throws {
        let path = Fixtures.root + "/requirements/require.yaml"
        let require = try Fixtures.loader.loadRequirements(path: path)
        #expect(
            require == [
                Requirement(
                    principal: "arn:aws:iam::152535741197:role/cc-kafka-lkc-abc123", actions: ["kms:Encrypt", "kms:Decrypt"],
                    location: PolicyChange.SourceLocation(file: path, line: 3, column: 5)),
                Requirement(
                    principal: "arn:aws:iam::444455556666:role/audit", preset: .confluent,
                    location: PolicyChange.SourceLocation(file: path, line: 5, column: 5)),
            ])
    }

    @Test func loadFromMemoryResolvesAgainstTheGivenPath() throws {
        let path = Fixtures.valid + "/aws-full.yaml"
        let data = try #require(FileManager.default.contents(atPath: path))
        let fromMemory = try Fixtures.loader.load(contents: data, path: path)
        #expect(fromMemory == (try Fixtures.loader.load(path: path)))
    }
}

extension ValidRunbookTests {
    @Test func twoHundredSteps() throws {
        let r = try load("aws-200-steps.yaml")
        #expect(r.steps.count == 200)
        #expect(r.steps.filter { $0.action == .apply }.count == 1)
        #expect(r.steps[199].location?.line == 259)  // the last line
    }
}
