import Foundation

/// One finding code of the GCP IAM policy analysis, documented with examples
/// that are also its tests (`GCPRuleExampleTests`, `docs/findings-gcp.md`).
public protocol GCPPolicyRule: DocumentedRule where Example == GCPRuleExample {
    static var stage: KeyPolicyRuleStage { get }
    static func check(_ input: GCPAnalysisInput) -> [Finding]
}

extension GCPPolicyRule {
    public static var documentedStage: String? { stage.rawValue }

    static func finding(_ input: GCPAnalysisInput, _ message: String, at path: String?) -> Finding {
        input.finding(id, severity, message, at: path)
    }
}

/// An example input of a GCP rule.
public struct GCPRuleExample: DocumentedRuleExample, ExpressibleByStringLiteral {
    public var proposed: String
    public var current: String?
    public var requirements: [Requirement]
    public var caller: String?
    public var inheritedAdmins: [String]
    public var customRoles: [IAMRoleDefinition]

    public init(
        proposed: String, current: String? = nil, requirements: [Requirement] = [], caller: String? = nil,
        inheritedAdmins: [String] = [], customRoles: [IAMRoleDefinition] = []
    ) {
        self.proposed = proposed
        self.current = current
        self.requirements = requirements
        self.caller = caller
        self.inheritedAdmins = inheritedAdmins
        self.customRoles = customRoles
    }

    public init(stringLiteral value: String) { self.init(proposed: value) }

    public static var cloud: Cloud { .gcp }

    public var settingNotes: [String] {
        var notes: [String] = []
        if !inheritedAdmins.isEmpty { notes.append("inherited admins \(inheritedAdmins.joined(separator: ", "))") }
        if !customRoles.isEmpty {
            notes.append("roles " + customRoles.map { "\($0.name) = \($0.includedPermissions.joined(separator: ", "))" }.joined(separator: "; "))
        }
        return notes
    }

    public static let key = "projects/my-project/locations/us-east1/keyRings/my-ring/cryptoKeys/my-key"
    /// The examples' clock: 2026-01-01T00:00:00Z.
    public static let now = Date(timeIntervalSince1970: 1_767_225_600)

    /// A version-1 policy with etag `BwE=` holding the bindings given as JSON objects separated by commas.
    public static func policy(_ bindings: String, version: Int = 1) -> String {
        #"{"version":\#(version),"etag":"BwE=","bindings":[\#(bindings)]}"#
    }

    public static let adminBinding = #"{"role":"roles/cloudkms.admin","members":["group:kms-admins@example.com"]}"#

    public var request: AnalysisRequest {
        AnalysisRequest(
            current: current.map { PolicySnapshot(text: $0) }, proposed: PolicySnapshot(text: proposed),
            requirements: requirements, caller: caller, keyIdentifier: Self.key)
    }

    public var dialect: CloudKMSIAMDialect {
        CloudKMSIAMDialect(customRoles: customRoles, inheritedAdmins: inheritedAdmins, now: { GCPRuleExample.now })
    }
}

/// Every rule of the GCP analysis, in the order findings are reported.
public enum GCPPolicyRules {
    public static let all: [any GCPPolicyRule.Type] = [
        GCPJSONSyntaxErrorRule.self, GCPDuplicateJSONKeyRule.self,
        GCPInvalidPolicyElementRule.self, InvalidPolicyVersionRule.self, ConditionRequiresVersion3Rule.self, EtagMissingRule.self,
        HiddenConditionalBindingRule.self, InvalidMemberFormatRule.self, EmptyBindingRule.self, UnknownRoleRule.self,
        PublicMemberRule.self, ConditionLintRule.self,
        GCPRequiredPermissionMissingRule.self, GCPRequiredPermissionConditionalRule.self,
        GCPPermissionRemovedRule.self, GCPNewAccessRule.self, GCPNewPublicAccessRule.self,
        GCPAdminLockoutRule.self,
    ]

    public static func rule(_ id: String) -> (any GCPPolicyRule.Type)? { all.first { $0.id == id } }
}
