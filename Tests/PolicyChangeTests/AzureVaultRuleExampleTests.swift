import Foundation
import PolicyChange
import Testing

/// Every Azure rule's triggering examples produce its code, and its
/// non-triggering examples do not; the examples are also docs/findings-azure.md.
@Suite("Azure Key Vault rules: their own examples")
struct AzureVaultRuleExampleTests {
    static let ids = AzureVaultRules.all.map { $0.id }

    @Test("each rule has a triggering and a non-triggering example, and they behave", arguments: ids)
    func examples(_ id: String) throws {
        try #require(AzureVaultRules.rule(id)).expectExamplesBehave { $0.dialect.analyze($0.request) }
    }

    @Test("codes are unique and cover DESIGN.md §5's Azure vocabulary and the change codes")
    func vocabulary() {
        #expect(Set(Self.ids).count == Self.ids.count)
        for code in [
            "PERMISSION_MODEL_MISMATCH", "PERMISSION_MODEL_CHANGED", "TENANT_MISMATCH", "DUPLICATE_OBJECT_ID",
            "INVALID_KEY_PERMISSION", "COMPOUND_IDENTITY", "FULL_LIST_REPLACE", "PURGE_PROTECTION_REQUIRED", "ADMIN_LOCKOUT",
            "TRUSTED_SERVICES_BLOCKED", "REQUIRED_PERMISSION_MISSING", "REQUIRED_PERMISSION_CONDITIONAL", "PERMISSION_REMOVED",
            "NEW_ACCESS",
        ] {
            #expect(Self.ids.contains(code), "no rule for \(code)")
        }
    }
}

@Suite("Azure INVALID_POLICY_ELEMENT")
struct AzureInvalidPolicyElementTests {
    typealias X = AzureRuleExample

    @Test("every wrongly typed member is one finding at its path, located in the file; a missing one at the object that lacks it")
    func located() {
        let text = """
            {
              "id": "\(X.vaultID)",
              "properties": {
                "tenantId": "\(X.tenant)",
                "accessPolicies": [
                  {"tenantId": "\(X.tenant)", "objectId": "\(X.service)", "permissions": {"keys": ["get", 7]}},
                  {"tenantId": "\(X.tenant)", "permissions": {"keys": "all"}},
                  "admin"
                ],
                "enablePurgeProtection": "yes"
              }
            }
            """
        let findings = AzureKeyVaultDialect().analyze(AnalysisRequest(proposed: PolicySnapshot(text: text), proposedFile: "/tmp/v.json"))
            .filter { $0.code == "INVALID_POLICY_ELEMENT" }
        #expect(findings.map(\.path) == [
            "properties.accessPolicies[0].permissions.keys[1]", "properties.accessPolicies[1].objectId",
            "properties.accessPolicies[1].permissions.keys", "properties.accessPolicies[2]", "properties.enablePurgeProtection",
        ])
        #expect(findings.map(\.line) == [6, 7, 7, 8, 10])
        #expect(findings.allSatisfy { $0.file == "/tmp/v.json" && $0.severity == .error })
        #expect(findings.first?.message == "properties.accessPolicies[0].permissions.keys[1] must be a string, not a number")
        #expect(findings[1].message == "properties.accessPolicies[1].objectId is missing; it must be a string")
    }

    @Test("a wrongly typed current snapshot is reported too, unlocated and named as the current one")
    func current() {
        let findings = AzureKeyVaultDialect().analyze(AnalysisRequest(
            current: PolicySnapshot(text: #"{"id":"\#(X.vaultID)","properties":{"accessPolicies":{}}}"#), proposed: PolicySnapshot(text: X.vault()),
            proposedFile: "/tmp/v.json"))
            .filter { $0.code == "INVALID_POLICY_ELEMENT" }
        #expect(findings.count == 1)
        #expect(findings.first?.message == "in the current snapshot: properties.accessPolicies must be an array, not an object")
        #expect(findings.first?.line == nil && findings.first?.file == nil)
    }
}

@Suite("Azure Key Vault dialect")
struct AzureKeyVaultDialectTests {
    typealias X = AzureRuleExample
    let dialect = AzureKeyVaultDialect(keyName: X.keyName)

    @Test("add-access-policy merges into the identity's entry, defaults the tenant, and is idempotent")
    func addAccessPolicy() throws {
        let current = PolicySnapshot(text: X.vault([X.entry(X.admin, keys: ["get"])]))
        let ops: [ChangeOperation] = [
            .addAccessPolicy(AccessPolicyEntry(objectID: X.service, keys: ["get", "wrapKey", "unwrapKey"])),
            .addAccessPolicy(AccessPolicyEntry(objectID: X.admin, keys: ["GET", "list"])),
        ]
        let proposed = try dialect.proposedPolicy(from: current, applying: ops)
        let vault = try AzureVaultSnapshot.parse(proposed)
        #expect(vault.accessPolicies.count == 2)
        #expect(vault.accessPolicies[0].keys == ["get", "list"])
        #expect(vault.accessPolicies[1].tenantID == X.tenant)
        #expect(vault.accessPolicies[1].keys == ["get", "wrapKey", "unwrapKey"])
        let again = try dialect.proposedPolicy(from: proposed, applying: ops)
        #expect(again.document == proposed.document)
        #expect(!dialect.isEquivalent(current, proposed))
    }

    @Test("remove-access-policy removes only the identity's entry")
    func removeAccessPolicy() throws {
        let current = PolicySnapshot(text: X.vault([X.entry(X.admin, keys: ["get"]), X.entry(X.service, keys: ["get"]), X.entry(X.service, keys: ["get"], applicationID: X.admin)]))
        let proposed = try dialect.proposedPolicy(from: current, applying: [.removeAccessPolicy(objectID: X.service.uppercased(), applicationID: nil)])
        let vault = try AzureVaultSnapshot.parse(proposed)
        #expect(vault.accessPolicies.map(\.objectID) == [X.admin, X.service])
        #expect(vault.accessPolicies[1].applicationID == X.admin)
    }

    @Test("add-role-assignment by built-in name at key scope; remove-role-assignment takes it away; ids do not matter for equivalence")
    func roleAssignments() throws {
        let current = PolicySnapshot(text: X.vault(rbac: true, assignments: [X.assignment(X.admin, role: X.owner)]))
        let proposed = try dialect.proposedPolicy(
            from: current, applying: [.addRoleAssignment(principalID: X.service, role: "Key Vault Crypto Service Encryption User", scope: .key)])
        let vault = try AzureVaultSnapshot.parse(proposed)
        let added = try #require(vault.roleAssignments?.last)
        #expect(added.roleGUID == X.encryptionUser && added.scope == "\(X.vaultID)/keys/cmk" && added.id == nil)
        let request = AnalysisRequest(current: current, proposed: proposed, requirements: [X.confluent], keyIdentifier: "\(X.vaultID)/keys/cmk")
        #expect(!dialect.analyze(request).contains { $0.severity >= .securityWarning }, "\(dialect.analyze(request))")
        // The same assignment as ARM returns it (with an id and name) is equivalent.
        let written = PolicySnapshot(text: X.vault(rbac: true, assignments: [X.assignment(X.admin, role: X.owner), X.assignment(X.service, role: X.encryptionUser, key: true)]))
        #expect(dialect.isEquivalent(written, proposed))
        let removed = try dialect.proposedPolicy(from: written, applying: [.removeRoleAssignment(principalID: X.service, role: "key vault crypto service encryption user", scope: nil)])
        #expect(dialect.isEquivalent(removed, current))
        #expect(throws: PolicyEditError.self) {
            try dialect.proposedPolicy(from: current, applying: [.addRoleAssignment(principalID: X.service, role: "My Custom Role", scope: .vault)])
        }
    }

    @Test("equivalence ignores volatile fields and permission case, not grants")
    func equivalence() {
        let a = PolicySnapshot(text: X.vault([X.entry(X.service, keys: ["get", "wrapKey"])]))
        let b = PolicySnapshot(text: X.vault([X.entry(X.service.uppercased(), keys: ["WRAPKEY", "Get"])]).replacingOccurrences(of: #""name":"kv1","#, with: #""name":"kv1","systemData":{"lastModifiedAt":"2026-01-01T00:00:00Z"},"#))
        let c = PolicySnapshot(text: X.vault([X.entry(X.service, keys: ["get"])]))
        #expect(dialect.isEquivalent(a, b))
        #expect(!dialect.isEquivalent(a, c))
    }

    @Test("hostile JSON gives JSON_SYNTAX_ERROR, never a crash", arguments: ["", "[", "{\"properties\": 3}", String(repeating: "[", count: 500), "null"])
    func hostile(_ text: String) {
        let findings = dialect.analyze(AnalysisRequest(current: PolicySnapshot(text: text), proposed: PolicySnapshot(text: text), requirements: [X.confluent], caller: X.admin))
        #expect(!findings.isEmpty)
    }

    @Test("principal access changes name what each object id gains and loses")
    func accessChanges() throws {
        let old = PolicySnapshot(text: X.vault([X.entry(X.service, keys: ["get", "unwrapKey"])]))
        let new = PolicySnapshot(text: X.vault([X.entry(X.service, keys: ["get", "wrapKey"])]))
        let changes = try #require(dialect.principalAccessChanges(from: old, to: new, keyIdentifier: nil))
        #expect(changes == [PrincipalAccessChange(principal: X.service, gained: ["wrapKey"], lost: ["unwrapKey"])])
    }
}
