import Foundation

/// An Azure role definition: what its assignments allow on the control plane
/// (`actions`) and on the data plane (`dataActions`).
public struct AzureRoleDefinition: Sendable, Equatable {
    /// The role definition's GUID, lower-cased.
    public var guid: String
    public var name: String
    public var actions: [String]
    public var notActions: [String]
    public var dataActions: [String]
    public var notDataActions: [String]

    public init(
        guid: String, name: String, actions: [String] = [], notActions: [String] = [], dataActions: [String] = [],
        notDataActions: [String] = []
    ) {
        self.guid = guid.lowercased()
        self.name = name
        self.actions = actions
        self.notActions = notActions
        self.dataActions = dataActions
        self.notDataActions = notDataActions
    }

    /// Whether the role allows a control-plane operation (`Microsoft.Authorization/roleAssignments/write`).
    public func allowsAction(_ operation: String) -> Bool {
        actions.contains { Self.matches($0, operation) } && !notActions.contains { Self.matches($0, operation) }
    }

    /// Whether the role allows a data action (`Microsoft.KeyVault/vaults/keys/wrap/action`).
    public func allowsDataAction(_ operation: String) -> Bool {
        dataActions.contains { Self.matches($0, operation) } && !notDataActions.contains { Self.matches($0, operation) }
    }

    /// Azure's operation patterns: case-insensitive, `*` matches any run of characters.
    static func matches(_ pattern: String, _ operation: String) -> Bool {
        let p = Array(pattern.lowercased()), s = Array(operation.lowercased())
        var pi = 0, si = 0, star = -1, mark = 0
        while si < s.count {
            if pi < p.count, p[pi] == s[si] {
                pi += 1; si += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = si; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; si = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// Pinned built-in role definitions relevant to a Key Vault key.
///
/// Sources: Microsoft Learn, "Azure built-in roles" (Security and Privileged
/// sections, learn.microsoft.com/azure/role-based-access-control/built-in-roles),
/// and shared/fixtures/azure/constructed/roleDefinition.KeyVaultCryptoServiceEncryptionUser.json.
///
/// Confirmed while writing this file (public Bicep/Terraform/PowerShell that
/// assign these roles by id, found with the project's code search): the GUIDs
/// of every role below, and the data actions of Key Vault Crypto Service
/// Encryption User (the fixture). Not re-checked against the live service (no
/// network from the build machine): the other roles' actions and data actions,
/// written from the published definitions. Only the permissions the analysis
/// reads are load-bearing: the `Microsoft.KeyVault/vaults/keys/*` data actions
/// (required access, PERMISSION_REMOVED, NEW_ACCESS) and
/// `Microsoft.Authorization/roleAssignments/write` (ADMIN_LOCKOUT). Key Vault
/// Data Access Administrator's built-in ABAC condition (it may only assign
/// Key Vault data roles) is not modelled: it counts as able to assign roles.
/// Any other role is fetched from the cloud in `prepare` (custom roles).
public enum KeyVaultRoles {
    static let keyVaultReadActions = [
        "Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*",
        "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*",
        "Microsoft.KeyVault/checkNameAvailability/read", "Microsoft.KeyVault/deletedVaults/read",
        "Microsoft.KeyVault/locations/*/read", "Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/operations/read",
    ]

    public static let builtIn: [AzureRoleDefinition] = [
        AzureRoleDefinition(
            guid: "00482a5a-887f-4fb3-b363-3b7fe8e74483", name: "Key Vault Administrator", actions: keyVaultReadActions,
            dataActions: ["Microsoft.KeyVault/vaults/*"]),
        AzureRoleDefinition(
            guid: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", name: "Key Vault Crypto Officer", actions: keyVaultReadActions,
            dataActions: ["Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/keyrotationpolicies/*"]),
        AzureRoleDefinition(
            guid: "12338af0-0e69-4776-bea7-57ae8d297424", name: "Key Vault Crypto User",
            dataActions: [
                "Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/update/action",
                "Microsoft.KeyVault/vaults/keys/backup/action", "Microsoft.KeyVault/vaults/keys/encrypt/action",
                "Microsoft.KeyVault/vaults/keys/decrypt/action", "Microsoft.KeyVault/vaults/keys/wrap/action",
                "Microsoft.KeyVault/vaults/keys/unwrap/action", "Microsoft.KeyVault/vaults/keys/sign/action",
                "Microsoft.KeyVault/vaults/keys/verify/action",
            ]),
        AzureRoleDefinition(
            guid: "e147488a-f6f5-4113-8e2d-b22465e65bf6", name: "Key Vault Crypto Service Encryption User",
            actions: [
                "Microsoft.EventGrid/eventSubscriptions/write", "Microsoft.EventGrid/eventSubscriptions/read",
                "Microsoft.EventGrid/eventSubscriptions/delete",
            ],
            dataActions: [
                "Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/wrap/action",
                "Microsoft.KeyVault/vaults/keys/unwrap/action",
            ]),
        AzureRoleDefinition(
            guid: "08bbd89e-9f13-488c-ac41-acfcb10c90ab", name: "Key Vault Crypto Service Release User",
            dataActions: ["Microsoft.KeyVault/vaults/keys/release/action"]),
        AzureRoleDefinition(
            guid: "21090545-7ca7-4776-b22c-e363652d74d2", name: "Key Vault Reader", actions: keyVaultReadActions,
            dataActions: ["Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"]),
        AzureRoleDefinition(
            guid: "8b54135c-b56d-4d72-a534-26097cfdc8d8", name: "Key Vault Data Access Administrator",
            // Built in with an ABAC condition limiting which roles it may assign.
            actions: [
                "Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete",
                "Microsoft.Authorization/*/read", "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.KeyVault/vaults/*/read",
                "Microsoft.Support/*",
            ]),
        AzureRoleDefinition(
            guid: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", name: "Key Vault Secrets Officer", actions: keyVaultReadActions,
            dataActions: ["Microsoft.KeyVault/vaults/secrets/*"]),
        AzureRoleDefinition(
            guid: "4633458b-17de-408a-b874-0445c86b69e6", name: "Key Vault Secrets User",
            dataActions: ["Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"]),
        AzureRoleDefinition(
            guid: "a4417e6f-fecd-4de8-b567-7b0420556985", name: "Key Vault Certificates Officer", actions: keyVaultReadActions,
            dataActions: [
                "Microsoft.KeyVault/vaults/certificatecas/*", "Microsoft.KeyVault/vaults/certificates/*",
                "Microsoft.KeyVault/vaults/certificatecontacts/write",
            ]),
        AzureRoleDefinition(guid: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", name: "Owner", actions: ["*"]),
        AzureRoleDefinition(
            guid: "b24988ac-6180-42a0-ab88-20f7382dd24c", name: "Contributor", actions: ["*"],
            notActions: [
                "Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
                "Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete",
                "Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
            ]),
        AzureRoleDefinition(
            guid: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", name: "User Access Administrator",
            actions: ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"]),
        AzureRoleDefinition(
            guid: "f58310d9-a9f6-439a-9e8d-f62e7b41a168", name: "Role Based Access Control Administrator",
            actions: [
                "Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete",
                "*/read", "Microsoft.Support/*",
            ]),
    ]

    public static func builtIn(named name: String) -> AzureRoleDefinition? {
        builtIn.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }

    public static func builtIn(guid: String) -> AzureRoleDefinition? {
        builtIn.first { $0.guid == guid.lowercased() }
    }

    /// Key Vault key permission (access-policy model) → the RBAC data action that allows the same.
    public static let keyPermissionDataActions: [String: String] = [
        "get": "Microsoft.KeyVault/vaults/keys/read", "list": "Microsoft.KeyVault/vaults/keys/read",
        "encrypt": "Microsoft.KeyVault/vaults/keys/encrypt/action", "decrypt": "Microsoft.KeyVault/vaults/keys/decrypt/action",
        "wrapkey": "Microsoft.KeyVault/vaults/keys/wrap/action", "unwrapkey": "Microsoft.KeyVault/vaults/keys/unwrap/action",
        "sign": "Microsoft.KeyVault/vaults/keys/sign/action", "verify": "Microsoft.KeyVault/vaults/keys/verify/action",
        "create": "Microsoft.KeyVault/vaults/keys/create/action", "update": "Microsoft.KeyVault/vaults/keys/write",
        "import": "Microsoft.KeyVault/vaults/keys/import/action", "delete": "Microsoft.KeyVault/vaults/keys/delete",
        "backup": "Microsoft.KeyVault/vaults/keys/backup/action", "restore": "Microsoft.KeyVault/vaults/keys/restore/action",
        "recover": "Microsoft.KeyVault/vaults/keys/recover/action", "purge": "Microsoft.KeyVault/vaults/keys/purge/action",
        "release": "Microsoft.KeyVault/vaults/keys/release/action", "rotate": "Microsoft.KeyVault/vaults/keys/rotate/action",
        "getrotationpolicy": "Microsoft.KeyVault/vaults/keyrotationpolicies/read",
        "setrotationpolicy": "Microsoft.KeyVault/vaults/keyrotationpolicies/write",
    ]

    /// A key permission as Key Vault spells it (`wrapKey`), from any case.
    public static func displayName(_ permission: String) -> String {
        switch permission.lowercased() {
        case "wrapkey": "wrapKey"
        case "unwrapkey": "unwrapKey"
        case let other: other
        }
    }

    /// Valid key permission names of an access-policy entry (API 2025-05-01), lower-cased; `all` grants every one.
    public static let keyPermissions: Set<String> = Set(keyPermissionDataActions.keys).union(["all"])

    /// The data action a required permission means: a key permission name
    /// (`wrapKey`), a short data action (`keys/wrap/action`) or a full one.
    public static func dataAction(for required: String) -> String {
        let lower = required.lowercased()
        if let mapped = keyPermissionDataActions[lower] { return mapped }
        if lower.hasPrefix("microsoft.keyvault/") { return required }
        return "Microsoft.KeyVault/vaults/" + required
    }

    /// The key permission a required data action means in the access-policy model, when there is one.
    public static func keyPermission(for required: String) -> String? {
        let lower = required.lowercased()
        if keyPermissions.contains(lower) { return lower }
        let action = dataAction(for: required).lowercased()
        return keyPermissionDataActions.first { $0.value.lowercased() == action && $0.key != "list" }?.key
    }
}
