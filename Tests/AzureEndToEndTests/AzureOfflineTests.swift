import Foundation
import Testing

/// `validate --cloud azure` and `diff --cloud azure` work offline on DESIGN §4
/// snapshots: no credentials, no fake.
@Suite("Azure end to end: offline validate and diff")
struct AzureOfflineTests {
    let folder = AzureScenario.packageFile("Fixtures/snapshots")

    func tool(_ arguments: [String]) async throws -> ChildResult {
        await (try Child(try Product.binary.get(), arguments, environment: ["PATH": "/usr/bin:/bin", "HOME": folder.path], directory: folder))
            .wait(bound: .seconds(60))
    }

    @Test("dropping unwrapKey from the service's entry fails validation with REQUIRED_PERMISSION_MISSING and PERMISSION_REMOVED")
    func dropUnwrap() async throws {
        let r = try await tool(["validate", "--cloud", "azure", "--current", "current.json", "--proposed", "proposed-drop-unwrap.json",
                                "--require", "require.yaml", "--format", "json"])
        #expect(r.exitedNormally && r.status == 3, "\(r)")
        let object = try #require(Inspect.jsonObject(r.stdout))
        #expect(object["verdict"] as? String == "fail")
        let codes = (object["findings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        #expect(codes.contains("REQUIRED_PERMISSION_MISSING") && codes.contains("PERMISSION_REMOVED"), "\(codes)")
        let clean = try await tool(["validate", "--cloud", "azure", "--current", "current.json", "--proposed", "current.json", "--require", "require.yaml"])
        #expect(clean.exitedNormally && clean.status == 0, "\(clean)")
    }

    @Test("a custom role offline is a finding, not a crash; removing the caller's Owner assignment is ADMIN_LOCKOUT; a pinned model that disagrees is PERMISSION_MODEL_MISMATCH")
    func rbacOffline() async throws {
        let r = try await tool(["validate", "--cloud", "azure", "--current", "rbac-current.json", "--proposed", "rbac-proposed-custom.json",
                                "--require", "require.yaml", "--caller", "a0a0a0a0-0000-4000-8000-000000000001", "--model", "access-policy",
                                "--key-name", "cmk", "--format", "json"])
        #expect(r.exitedNormally && r.status == 3, "\(r)")
        let codes = ((Inspect.jsonObject(r.stdout)?["findings"] as? [[String: Any]]) ?? []).compactMap { $0["code"] as? String }
        for code in ["UNKNOWN_ROLE", "ADMIN_LOCKOUT", "PERMISSION_MODEL_MISMATCH", "REQUIRED_PERMISSION_MISSING"] {
            #expect(codes.contains(code), "\(code) missing from \(codes)")
        }
    }

    @Test("a permission that is not a string fails validation with INVALID_POLICY_ELEMENT at its path and line")
    func wrongType() async throws {
        let r = try await tool(["validate", "--cloud", "azure", "--current", "current.json", "--proposed", "proposed-wrong-types.json",
                                "--require", "require.yaml", "--format", "json"])
        #expect(r.exitedNormally && r.status == 3, "\(r)")
        let findings = (Inspect.jsonObject(r.stdout)?["findings"] as? [[String: Any]]) ?? []
        let invalid = findings.filter { $0["code"] as? String == "INVALID_POLICY_ELEMENT" }
        #expect(invalid.count == 1, "\(findings)")
        #expect(invalid.first?["path"] as? String == "properties.accessPolicies[1].permissions.keys[1]", "\(invalid)")
        #expect(invalid.first?["line"] as? Int == 30, "\(invalid)")
        let text = try await tool(["validate", "--cloud", "azure", "--proposed", "proposed-wrong-types.json"])
        #expect(text.exitedNormally && text.status == 3, "\(text)")
        #expect(text.output.contains("properties.accessPolicies[1].permissions.keys[1]"), "\(text)")
    }

    @Test("diff --cloud azure names the entry's lost permission")
    func diff() async throws {
        let r = try await tool(["diff", "current.json", "proposed-drop-unwrap.json", "--cloud", "azure"])
        #expect(r.exitedNormally && r.status == 0, "\(r)")
        #expect(r.stdout.contains("ce2ce14e-85d7-4629-bdbc-454d0519d987") && r.stdout.contains("unwrapKey"), "\(r.stdout)")
    }
}
