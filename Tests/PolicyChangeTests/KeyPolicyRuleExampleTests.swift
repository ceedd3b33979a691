import Foundation
import PolicyChange
import Testing

/// Every rule's triggering examples produce its code, and its non-triggering
/// examples do not (the SwiftLint way: the examples are the tests and the docs).
@Suite("AWS key policy rules: their own examples")
struct KeyPolicyRuleExampleTests {
    static let ids = KeyPolicyRules.all.map { $0.id }

    @Test("each rule has a triggering and a non-triggering example, and they behave", arguments: ids)
    func examples(_ id: String) throws {
        let dialect = AWSKeyPolicyDialect()
        try #require(KeyPolicyRules.rule(id)).expectExamplesBehave { dialect.analyze($0.request) }
    }

    @Test("codes are unique and cover DESIGN.md §5's AWS vocabulary")
    func vocabulary() {
        #expect(Set(Self.ids).count == Self.ids.count)
        let design = [
            "JSON_SYNTAX_ERROR", "DUPLICATE_JSON_KEY", "POLICY_SIZE_EXCEEDED", "INVALID_CHARACTERS", "MISSING_VERSION",
            "INVALID_VERSION", "INVALID_POLICY_ELEMENT", "MISSING_EFFECT", "MISSING_PRINCIPAL", "MISSING_ACTION",
            "MISSING_RESOURCE", "INVALID_ACTION", "INVALID_PRINCIPAL_FORMAT", "PRINCIPAL_UNIQUE_ID", "DUPLICATE_SID",
            "EMPTY_ARRAY", "REDUNDANT_ACTION", "INVALID_CONDITION", "TYPE_MISMATCH_BOOLEAN", "WILDCARD_WITHOUT_LIKE_OPERATOR",
            "FOR_ALL_VALUES_WITH_SINGLE_VALUED_KEY", "PUBLIC_PRINCIPAL", "ALLOW_WITH_NOT_PRINCIPAL",
            "RESTRICT_ACCESS_TO_SERVICE_PRINCIPAL", "KEY_POLICY_LOCKOUT", "BYPASS_LOCKOUT_SAFETY_CHECK_REQUESTED",
            "ACCOUNT_DELEGATION_REMOVED", "REQUIRED_PERMISSION_MISSING", "REQUIRED_PERMISSION_CONDITIONAL",
            "PERMISSION_REMOVED", "NEW_ACCESS", "NEW_PUBLIC_ACCESS", "NEW_EXTERNAL_ACCOUNT",
        ]
        for code in design { #expect(Self.ids.contains(code), "no rule for \(code)") }
    }
}
