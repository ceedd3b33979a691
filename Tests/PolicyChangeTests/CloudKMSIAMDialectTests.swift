import Foundation
import PolicyChange
import Testing

@Suite("GCP IAM policy editing and comparison")
struct CloudKMSIAMDialectTests {
    static let v1 = #"{"version":1,"etag":"BwWWja0YfJA=","bindings":[{"role":"roles/cloudkms.admin","members":["user:mike@example.com"]},{"role":"roles/cloudkms.viewer","members":["user:a@example.com"],"condition":{"title":"t","expression":"true"}}]}"#
    let dialect = CloudKMSIAMDialect()

    @Test("add-members creates the unconditional binding, keeps the etag and conditional bindings, and is idempotent")
    func addMembers() throws {
        let current = PolicySnapshot(text: Self.v1, etag: "BwWWja0YfJA=")
        let ops: [ChangeOperation] = [.addMembers(role: "roles/cloudkms.viewer", members: ["group:g@example.com", "group:g@example.com"])]
        let proposed = try dialect.proposedPolicy(from: current, applying: ops)
        let policy = try #require(IAMPolicy.parse(proposed.document))
        #expect(policy.etag == "BwWWja0YfJA=")
        #expect(proposed.etag == "BwWWja0YfJA=")
        #expect(policy.version == 3)
        #expect(policy.bindings.count == 3)
        #expect(policy.bindings[1].condition != nil && policy.bindings[1].members == ["user:a@example.com"])
        #expect(policy.bindings[2].members == ["group:g@example.com"] && policy.bindings[2].condition == nil)
        let again = try dialect.proposedPolicy(from: proposed, applying: ops)
        #expect(again.document == proposed.document)
    }

    @Test("remove-members deletes an emptied binding and leaves conditional ones")
    func removeMembers() throws {
        let current = PolicySnapshot(text: Self.v1)
        let proposed = try dialect.proposedPolicy(
            from: current, applying: [.removeMembers(role: "roles/cloudkms.admin", members: ["user:mike@example.com"]),
                                      .removeMembers(role: "roles/cloudkms.viewer", members: ["user:a@example.com"])])
        let policy = try #require(IAMPolicy.parse(proposed.document))
        #expect(policy.bindings.map(\.role) == ["roles/cloudkms.viewer"])
        #expect(policy.bindings[0].condition != nil)
    }

    @Test("replace-policy keeps the live etag")
    func replacePolicy() throws {
        let file = AttachedFile(path: "/x/new.json", contents: Data(#"{"version":1,"etag":"OLD","bindings":[]}"#.utf8))
        let proposed = try dialect.proposedPolicy(from: PolicySnapshot(text: Self.v1, etag: "BwWWja0YfJA="), applying: [.replacePolicy(file)])
        #expect(IAMPolicy.parse(proposed.document)?.etag == "BwWWja0YfJA=")
    }

    @Test("editing a version-1 read with …_withcond_… roles is refused")
    func hidden() {
        let text = #"{"version":1,"etag":"x","bindings":[{"role":"roles/cloudkms.viewer_withcond_abc","members":["user:a@example.com"]}]}"#
        #expect(throws: PolicyEditError.self) {
            try dialect.proposedPolicy(from: PolicySnapshot(text: text), applying: [.addMembers(role: "roles/cloudkms.viewer", members: ["user:b@example.com"])])
        }
    }

    @Test("equivalence: member order, duplicate bindings, etag and version aside; conditions count")
    func equivalence() {
        let a = PolicySnapshot(text: #"{"version":1,"etag":"A","bindings":[{"role":"r/x","members":["user:a@e.com","user:b@e.com"]}]}"#)
        let b = PolicySnapshot(text: #"{"version":3,"etag":"B","bindings":[{"role":"r/x","members":["user:b@e.com"]},{"role":"r/x","members":["user:a@e.com"]},{"role":"r/y","members":[]}]}"#)
        let c = PolicySnapshot(text: #"{"version":3,"etag":"B","bindings":[{"role":"r/x","members":["user:a@e.com","user:b@e.com"],"condition":{"title":"t","expression":"true"}}]}"#)
        #expect(dialect.isEquivalent(a, b))
        #expect(!dialect.isEquivalent(a, c))
        #expect(!dialect.changeSummary(from: a, to: c).isEmpty)
    }

    @Test("custom roles come from --roles or the resolver, once per run")
    func customRoles() async throws {
        let roles = try IAMRoleDefinition.parseList(Fixtures.data("gcp-getRole.custom.response.json"))
        #expect(roles.first?.includedPermissions.contains("cloudkms.cryptoKeys.get") == true)
        actor Counter: IAMRoleResolver {
            var calls: [String] = []
            func role(named name: String) async throws -> IAMRoleDefinition {
                calls.append(name)
                return IAMRoleDefinition(name: name, includedPermissions: ["cloudkms.cryptoKeys.get"])
            }
        }
        let counter = Counter()
        let online = CloudKMSIAMDialect(resolver: counter)
        let ops: [ChangeOperation] = [.addMembers(role: "projects/p/roles/custom", members: ["group:g@example.com"])]
        try await online.prepare(for: [PolicySnapshot(text: Self.v1)], operations: ops)
        try await online.prepare(for: [PolicySnapshot(text: Self.v1)], operations: ops)
        #expect(await counter.calls == ["projects/p/roles/custom"])
        #expect(online.permissions(of: "projects/p/roles/custom") == ["cloudkms.cryptoKeys.get"])
    }

    @Test("the fixture policies parse and the v3 one is equivalent to itself re-serialised")
    func fixtures() throws {
        for name in ["getIamPolicy.response.json", "getIamPolicy.response.v3-conditional.json", "getIamPolicy.response.empty.json"] {
            let data = Fixtures.data("gcp-" + name)
            let policy = try #require(IAMPolicy.parse(data))
            #expect(dialect.isEquivalent(PolicySnapshot(document: data), PolicySnapshot(text: policy.json.serialized())))
        }
    }

    @Test("a role the resolver cannot find or may not read stays unknown; other errors stop")
    func unresolvable() async throws {
        struct Failing: IAMRoleResolver {
            let code: ProviderError.Code
            func role(named name: String) async throws -> IAMRoleDefinition { throw ProviderError(code, "no") }
        }
        let ops: [ChangeOperation] = [.addMembers(role: "projects/p/roles/gone", members: ["group:g@example.com"])]
        let missing = CloudKMSIAMDialect(resolver: Failing(code: .notFound))
        try await missing.prepare(for: [], operations: ops)
        #expect(missing.permissions(of: "projects/p/roles/gone") == nil)
        await #expect(throws: ProviderError.self) {
            try await CloudKMSIAMDialect(resolver: Failing(code: .unavailable)).prepare(for: [], operations: ops)
        }
    }
}
