import Foundation

/// One finding code of the Azure Key Vault analysis, documented by its own
/// examples (`AzureVaultRuleExampleTests`, `docs/findings-azure.md`).
public protocol AzureVaultRule: DocumentedRule where Example == AzureRuleExample {
    static func check(_ input: AzureAnalysisInput) -> [Finding]
}

extension AzureVaultRule {
    static func finding(_ input: AzureAnalysisInput, _ message: String, at path: String? = nil) -> Finding {
        input.finding(id, severity, message, at: path)
    }
}

/// An example input of an Azure rule.
public struct AzureRuleExample: DocumentedRuleExample, ExpressibleByStringLiteral {
    public var proposed: String
    public var current: String?
    public var requirements: [Requirement]
    public var caller: String?
    public var pinnedModel: AzurePermissionModel?

    public init(
        proposed: String, current: String? = nil, requirements: [Requirement] = [], caller: String? = nil,
        pinnedModel: AzurePermissionModel? = nil
    ) {
        self.proposed = proposed
        self.current = current
        self.requirements = requirements
        self.caller = caller
        self.pinnedModel = pinnedModel
    }

    public init(stringLiteral value: String) { self.init(proposed: value) }

    public static var cloud: Cloud { .azure }

    public var settingNotes: [String] { pinnedModel.map { ["model pinned to \($0.rawValue)"] } ?? [] }

    public var dialect: AzureKeyVaultDialect { AzureKeyVaultDialect(pinnedModel: pinnedModel, keyName: Self.keyName) }

    public var request: AnalysisRequest {
        AnalysisRequest(
            current: current.map { PolicySnapshot(text: $0) }, proposed: PolicySnapshot(text: proposed), requirements: requirements,
            caller: caller, keyIdentifier: "\(Self.vaultID)/keys/\(Self.keyName)")
    }

    // MARK: Building blocks

    public static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    public static let vaultID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"
    public static let keyName = "cmk"
    /// The service's (Confluent's) service principal.
    public static let service = "ce2ce14e-85d7-4629-bdbc-454d0519d987"
    /// The admin applying the change.
    public static let admin = "a0a0a0a0-0000-4000-8000-000000000001"

    /// An access-policy entry.
    public static func entry(_ objectID: String, keys: [String], tenant: String = tenant, applicationID: String? = nil) -> String {
        let app = applicationID.map { #","applicationId":"\#($0)""# } ?? ""
        let list = keys.map { "\"\($0)\"" }.joined(separator: ",")
        return #"{"tenantId":"\#(tenant)","objectId":"\#(objectID)"\#(app),"permissions":{"keys":[\#(list)],"secrets":[],"certificates":[]}}"#
    }

    /// A role assignment at the vault (`key: false`) or key scope.
    public static func assignment(_ principal: String, role: String, key: Bool = false, condition: String? = nil) -> String {
        let scope = key ? "\(vaultID)/keys/\(keyName)" : vaultID
        let cond = condition.map { #","condition":"\#($0)","conditionVersion":"2.0""# } ?? ""
        return #"{"id":"\#(scope)/providers/Microsoft.Authorization/roleAssignments/\#(role)","type":"Microsoft.Authorization/roleAssignments","properties":{"roleDefinitionId":"/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/\#(role)","principalId":"\#(principal)","scope":"\#(scope)"\#(cond)}}"#
    }

    /// A vault snapshot: access-policy entries, or in RBAC mode role assignments.
    public static func vault(
        _ entries: [String] = [], rbac: Bool = false, assignments: [String]? = nil, softDelete: Bool = true, purgeProtection: Bool = true,
        networkAcls: String? = nil, extra: String = ""
    ) -> String {
        let acls = networkAcls.map { #","networkAcls":\#($0)"# } ?? ""
        let ra = (assignments ?? (rbac ? [] : nil)).map { #","roleAssignments":[\#($0.joined(separator: ","))]"# } ?? ""
        return #"{"id":"\#(vaultID)","name":"kv1","type":"Microsoft.KeyVault/vaults","properties":{"sku":{"family":"A","name":"standard"},"tenantId":"\#(tenant)","accessPolicies":[\#(entries.joined(separator: ","))],"enableSoftDelete":\#(softDelete),"enablePurgeProtection":\#(purgeProtection),"enableRbacAuthorization":\#(rbac)\#(acls)\#(extra),"vaultUri":"https://kv1.vault.azure.net/"}\#(ra)}"#
    }

    public static let confluent = Requirement(principal: service, preset: .confluent)
    public static let encryptionUser = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
    public static let cryptoUser = "12338af0-0e69-4776-bea7-57ae8d297424"
    public static let owner = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    public static let reader = "21090545-7ca7-4776-b22c-e363652d74d2"
}

/// Every Azure rule, in the order findings are reported.
public enum AzureVaultRules {
    public static let all: [any AzureVaultRule.Type] = [
        AzureJSONSyntaxErrorRule.self, AzureDuplicateJSONKeyRule.self, AzureInvalidPolicyElementRule.self,
        PermissionModelMismatchRule.self, PermissionModelChangedRule.self, TenantMismatchRule.self, DuplicateObjectIDRule.self,
        InvalidKeyPermissionRule.self, CompoundIdentityRule.self, FullListReplaceRule.self, PurgeProtectionRequiredRule.self,
        TrustedServicesBlockedRule.self, RoleDefinitionUnknownRule.self,
        AzureRequiredPermissionMissingRule.self, AzureRequiredPermissionConditionalRule.self,
        AzurePermissionRemovedRule.self, AzureNewAccessRule.self, AzureAdminLockoutRule.self,
    ]

    public static func rule(_ id: String) -> (any AzureVaultRule.Type)? { all.first { $0.id == id } }
}
