import Foundation
import Testing

/// Every token source against the fake: workload identity, IMDS, App Service
/// managed identity; nothing configured; custom roles resolved over ARM.
@Suite("Azure end to end: credentials and custom roles")
struct AzureAuthTests {
    typealias S = AzureScenario

    func base(_ s: S) -> [String: String] {
        var env = s.environment()
        for name in ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"] { env[name] = nil }
        return env
    }

    @Test("workload identity: the federated token file is the client assertion; plan reads the vault")
    func workloadIdentity() async throws {
        var scenario = S.accessPolicyScenario()
        scenario["assertion"] = "eyJhbGciOiJSUzI1NiJ9.federated.assertion"
        try await S.with(scenario) { s in
            let file = s.work.appendingPathComponent("federated-token")
            try "eyJhbGciOiJSUzI1NiJ9.federated.assertion\n".write(to: file, atomically: true, encoding: .utf8)
            var env = base(s)
            env["AZURE_TENANT_ID"] = S.tenant
            env["AZURE_CLIENT_ID"] = S.clientID
            env["AZURE_FEDERATED_TOKEN_FILE"] = file.path
            let r = try await s.product(["plan", "access-policy.yaml"], environment: env)
            #expect(r.exitedNormally && r.status == 0, "\(r)")
            #expect(s.calls().contains { $0["operation"] as? String == "token" && $0["status"] as? Int == 200 })
            #expect(!r.output.contains("federated.assertion"))
        }
    }

    @Test("managed identity through IMDS (IMDS_ENDPOINT on loopback) and through App Service's IDENTITY_ENDPOINT")
    func managedIdentity() async throws {
        var scenario = S.accessPolicyScenario()
        scenario["identityHeader"] = "identity-header-value-7f3a"
        try await S.with(scenario) { s in
            var imds = base(s)
            imds["IMDS_ENDPOINT"] = s.base
            let r1 = try await s.product(["plan", "access-policy.yaml"], environment: imds)
            #expect(r1.exitedNormally && r1.status == 0, "\(r1)")
            #expect(s.calls().filter { $0["operation"] as? String == "imds" && $0["status"] as? Int == 200 }.count >= 1, "an ARM token from IMDS")

            var app = base(s)
            app["IDENTITY_ENDPOINT"] = s.base + "/msi/token"
            app["IDENTITY_HEADER"] = "identity-header-value-7f3a"
            let r2 = try await s.product(["plan", "access-policy.yaml"], environment: app)
            #expect(r2.exitedNormally && r2.status == 0, "\(r2)")
            #expect(s.calls().contains { $0["operation"] as? String == "msi" && $0["status"] as? Int == 200 })
            #expect(!r2.output.contains("identity-header-value-7f3a"))
        }
    }

    @Test("no credentials anywhere: exit 4 and one line naming every place looked")
    func nothingConfigured() async throws {
        try await S.with(S.accessPolicyScenario()) { s in
            var env = base(s)
            env["IMDS_ENDPOINT"] = "http://127.0.0.1:9"
            let r = try await s.product(["plan", "access-policy.yaml"], environment: env)
            #expect(r.exitedNormally && r.status == 4, "\(r)")
            let line = try #require(r.lines.first { $0.contains("no Azure credentials: looked in") }, "\(r)")
            for place in ["AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "IMDS"] {
                #expect(line.contains(place), "\(line)")
            }
        }
    }

    @Test("a custom role by name is resolved with a role-definition list and its data actions count for required access")
    func customRole() async throws {
        var scenario = S.rbacScenario()
        scenario["roleDefinitions"] = [[
            "id": "/subscriptions/\(S.subscription)/providers/Microsoft.Authorization/roleDefinitions/5c1a0000-0000-4000-8000-00000000c0de",
            "name": "5c1a0000-0000-4000-8000-00000000c0de", "type": "Microsoft.Authorization/roleDefinitions",
            "properties": ["roleName": "Confluent Key Wrapper", "type": "CustomRole", "assignableScopes": ["/subscriptions/\(S.subscription)"],
                           "permissions": [["actions": [] as [String], "notActions": [] as [String],
                                            "dataActions": ["Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/wrap/action", "Microsoft.KeyVault/vaults/keys/unwrap/action"],
                                            "notDataActions": [] as [String]]]] as [String: Any],
        ]]
        try await S.with(scenario) { s in
            let r = try await s.run("rbac-custom-role.yaml")
            #expect(r.exitedNormally && r.status == 0, "\(r)")
            #expect(s.operations().contains("roleDefinitions_List"))
            let created = s.writes().filter { $0["operation"] as? String == "roleAssignments_Create" }
            #expect(created.count == 1)
            #expect((created.first?["body"] as? String ?? "").contains("5c1a0000-0000-4000-8000-00000000c0de"))
        }
    }
}

extension ChildResult {
    var lines: [String] { output.split(separator: "\n").map(String.init) }
}
