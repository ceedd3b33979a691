import Foundation

/// One finding code of the AWS key policy analysis as a small documented unit,
/// as SwiftLint writes its rules: the id, severity, meaning and fix, and
/// triggering and non-triggering examples that are both its tests
/// (`KeyPolicyRuleExampleTests`) and its documentation (`docs/findings.md`).
public protocol KeyPolicyRule: DocumentedRule where Example == RuleExample {
    static var stage: KeyPolicyRuleStage { get }
    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding]
}

/// When a rule runs. A document that does not parse gets only document
/// checks; without the current policy the change checks do not run.
public enum KeyPolicyRuleStage: String, Sendable, CaseIterable {
    case document, grammar, security, access, change, keySafety = "key safety"
}

extension KeyPolicyRule {
    public static var documentedStage: String? { stage.rawValue }

    static func finding(_ policy: ParsedKeyPolicy, _ message: String, at path: String?) -> Finding {
        policy.finding(id, severity, message, at: path)
    }
}

/// An example input of a rule: the proposed policy, and for change and key
/// safety rules the current policy, requirements, caller and key.
public struct RuleExample: DocumentedRuleExample, ExpressibleByStringLiteral {
    public var proposed: String
    public var current: String?
    public var requirements: [Requirement]
    public var caller: String?
    public var keyARN: String?
    public var bypassLockoutSafetyCheck: Bool

    public init(
        proposed: String, current: String? = nil, requirements: [Requirement] = [], caller: String? = nil,
        keyARN: String? = RuleExample.keyARN, bypassLockoutSafetyCheck: Bool = false
    ) {
        self.proposed = proposed
        self.current = current
        self.requirements = requirements
        self.caller = caller
        self.keyARN = keyARN
        self.bypassLockoutSafetyCheck = bypassLockoutSafetyCheck
    }

    public init(stringLiteral value: String) { self.init(proposed: value) }

    public static var cloud: Cloud { .aws }

    public var settingNotes: [String] {
        bypassLockoutSafetyCheck ? ["bypass of the lockout safety check requested"] : []
    }

    /// The examples' key: account 111122223333.
    public static let keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    /// A policy (Version 2012-10-17) holding the statements given as JSON objects separated by commas.
    public static func statements(_ statements: String) -> String {
        #"{"Version":"2012-10-17","Statement":["# + statements + "]}"
    }

    /// The default key policy's statement: the owner account's `:root` may do everything.
    public static let rootStatement =
        #"{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#

    public var request: AnalysisRequest {
        AnalysisRequest(
            current: current.map { PolicySnapshot(text: $0) }, proposed: PolicySnapshot(text: proposed),
            requirements: requirements, caller: caller, keyIdentifier: keyARN,
            bypassLockoutSafetyCheck: bypassLockoutSafetyCheck)
    }
}

/// Every rule of the AWS key policy analysis, in the order findings are reported.
public enum KeyPolicyRules {
    public static let all: [any KeyPolicyRule.Type] = [
        // Document
        JSONSyntaxErrorRule.self, DuplicateJSONKeyRule.self, PolicySizeExceededRule.self, InvalidCharactersRule.self,
        // Grammar
        MissingVersionRule.self, InvalidVersionRule.self, InvalidPolicyElementRule.self, MissingEffectRule.self,
        MissingPrincipalRule.self, MissingActionRule.self, MissingResourceRule.self, InvalidActionRule.self,
        InvalidPrincipalFormatRule.self, PrincipalUniqueIDRule.self, DuplicateSidRule.self, EmptyArrayRule.self,
        RedundantActionRule.self, InvalidConditionRule.self, TypeMismatchRule.self, TypeMismatchBooleanRule.self,
        TypeMismatchNumberRule.self, TypeMismatchDateRule.self, TypeMismatchIPRangeRule.self,
        WildcardWithoutLikeOperatorRule.self, ForAllValuesWithSingleValuedKeyRule.self,
        // Security
        PublicPrincipalRule.self, AllowWithNotPrincipalRule.self, RestrictAccessToServicePrincipalRule.self,
        // Required access
        RequiredPermissionMissingRule.self, RequiredPermissionConditionalRule.self,
        // Change
        PermissionRemovedRule.self, NewAccessRule.self, NewPublicAccessRule.self, NewExternalAccountRule.self,
        // Key safety
        KeyPolicyLockoutRule.self, AccountDelegationRemovedRule.self, BypassLockoutSafetyCheckRequestedRule.self,
    ]

    public static func rule(_ id: String) -> (any KeyPolicyRule.Type)? { all.first { $0.id == id } }
}
