import Foundation
import PolicyChange
import Testing

/// Every GCP rule's triggering examples produce its code, and its
/// non-triggering examples do not.
@Suite("GCP IAM policy rules: their own examples")
struct GCPRuleExampleTests {
    static let ids = GCPPolicyRules.all.map { $0.id }

    @Test("each rule has a triggering and a non-triggering example, and they behave", arguments: ids)
    func examples(_ id: String) throws {
        try #require(GCPPolicyRules.rule(id)).expectExamplesBehave { $0.dialect.analyze($0.request) }
    }

    @Test("codes are unique and cover DESIGN.md §5's GCP vocabulary and the change codes")
    func vocabulary() {
        #expect(Set(Self.ids).count == Self.ids.count)
        let design = [
            "INVALID_POLICY_VERSION", "CONDITION_REQUIRES_VERSION_3", "ETAG_MISSING", "HIDDEN_CONDITIONAL_BINDING",
            "INVALID_MEMBER_FORMAT", "EMPTY_BINDING", "PUBLIC_MEMBER", "CONDITION_LINT", "ADMIN_LOCKOUT",
            "REQUIRED_PERMISSION_MISSING", "REQUIRED_PERMISSION_CONDITIONAL", "PERMISSION_REMOVED", "NEW_ACCESS",
            "NEW_PUBLIC_ACCESS",
        ]
        for code in design { #expect(Self.ids.contains(code), "no rule for \(code)") }
    }

    @Test("a finding from a file carries line:column")
    func located() {
        let text = "{\n  \"version\": 1,\n  \"etag\": \"BwE=\",\n  \"bindings\": [\n    {\"role\": \"roles/cloudkms.admin\", \"members\": [\"bob@example.com\"]}\n  ]\n}\n"
        let findings = CloudKMSIAMDialect().analyze(
            AnalysisRequest(proposed: PolicySnapshot(text: text), proposedFile: "/tmp/p.json"))
        let invalid = findings.first { $0.code == "INVALID_MEMBER_FORMAT" }
        #expect(invalid?.line == 5)
        #expect(invalid?.path == "bindings[0].members[0]")
    }

    @Test("a wrongly typed member is INVALID_POLICY_ELEMENT at its path and line")
    func wrongType() {
        let text = "{\n  \"version\": 3,\n  \"etag\": \"BwE=\",\n  \"bindings\": [\n    {\"role\": \"roles/cloudkms.admin\", \"members\": [\"group:a@example.com\"], \"condition\": {\"title\": 1, \"expression\": \"true\"}},\n    \"roles/cloudkms.viewer\"\n  ]\n}\n"
        let findings = CloudKMSIAMDialect().analyze(AnalysisRequest(proposed: PolicySnapshot(text: text), proposedFile: "/tmp/p.json"))
            .filter { $0.code == "INVALID_POLICY_ELEMENT" }
        #expect(findings.map(\.path) == ["bindings[0].condition.title", "bindings[1]"])
        #expect(findings.map(\.line) == [5, 6])
        #expect(findings.last?.message == "bindings[1] must be an object, not a string")
    }

    @Test("hostile JSON is a finding, never a crash", arguments: ["", "{", "[1,2]", "{\"bindings\":7}", "{\"bindings\":[1,\"x\",{\"members\":3}]}", "{\"version\":null}"])
    func hostile(_ text: String) {
        let findings = CloudKMSIAMDialect().analyze(AnalysisRequest(current: PolicySnapshot(text: text), proposed: PolicySnapshot(text: text)))
        #expect(!findings.isEmpty)
    }
}
