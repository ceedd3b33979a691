import Foundation

/// `proposedPolicy`: the change operations applied to a vault snapshot,
/// idempotently, the way the deltas will apply them in the cloud.
/// - `add-access-policy` merges permissions into the identity's entry (as ARM's
///   `accessPolicies/add` does), or appends a new entry (tenant = the vault's);
/// - `remove-access-policy` removes the identity's entry;
/// - `add-role-assignment` appends an assignment (no id or name until written)
///   unless one with the same principal, role and scope exists;
/// - `remove-role-assignment` removes the principal's assignments of that role
///   (at that scope when given).
extension AzureKeyVaultDialect {
    public func proposedPolicy(from current: PolicySnapshot, applying operations: [ChangeOperation]) throws(PolicyEditError)
        -> PolicySnapshot
    {
        var root: JSONValue
        do {
            root = try JSONParser.parse(current.document).root
        } catch {
            throw PolicyEditError(operation: operations.first?.keyword ?? "change", message: "the current vault snapshot is not JSON: \(error)")
        }
        guard case .object = root else {
            throw PolicyEditError(operation: operations.first?.keyword ?? "change", message: "the vault snapshot is not a JSON object")
        }
        for operation in operations {
            let vault = AzureVaultSnapshot(root)
            switch operation {
            case .addAccessPolicy(let entry):
                root = try addAccessPolicy(entry, to: root, vault: vault)
            case .removeAccessPolicy(let objectID, let applicationID):
                let identity = AzureVaultSnapshot.identity(objectID, applicationID)
                root = Self.updatingAccessPolicies(root) { list in
                    list.filter { item in
                        guard let o = item["objectId"]?.stringValue else { return true }
                        let app = item["applicationId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
                        return AzureVaultSnapshot.identity(o, app) != identity
                    }
                }
            case .addRoleAssignment(let principal, let roleName, let scopeKind):
                guard let role = resolveRole(roleName) else {
                    throw PolicyEditError(operation: operation.keyword, message: unknownRoleMessage(roleName))
                }
                guard let vaultID = vault.id else {
                    throw PolicyEditError(operation: operation.keyword, message: "the vault snapshot has no 'id'")
                }
                let scope = scopeKind == .key ? try keyScope(vaultID, operation) : vaultID
                let roleDefinitionID = "/subscriptions/\(vault.subscriptionID ?? "00000000-0000-0000-0000-000000000000")/providers/Microsoft.Authorization/roleDefinitions/\(role.guid)"
                let exists = (vault.roleAssignments ?? []).contains {
                    $0.principalID.lowercased() == principal.lowercased() && $0.roleGUID == role.guid
                        && AzureVaultSnapshot.normalizedScope($0.scope) == AzureVaultSnapshot.normalizedScope(scope) && $0.condition == nil
                }
                if !exists {
                    let item = JSONValue.object([
                        JSONMember("type", .string("Microsoft.Authorization/roleAssignments")),
                        JSONMember(
                            "properties",
                            .object([
                                JSONMember("roleDefinitionId", .string(roleDefinitionID)),
                                JSONMember("principalId", .string(principal)),
                                JSONMember("scope", .string(scope)),
                            ])),
                    ])
                    root = Self.updatingRoleAssignments(root) { $0 + [item] }
                }
            case .removeRoleAssignment(let principal, let roleName, let scopeKind):
                guard let role = resolveRole(roleName) else {
                    throw PolicyEditError(operation: operation.keyword, message: unknownRoleMessage(roleName))
                }
                let scope: String? = try scopeKind.map { kind throws(PolicyEditError) in
                    guard let vaultID = vault.id else {
                        throw PolicyEditError(operation: operation.keyword, message: "the vault snapshot has no 'id'")
                    }
                    return kind == .key ? try keyScope(vaultID, operation) : vaultID
                }
                root = Self.updatingRoleAssignments(root) { list in
                    list.filter { item in
                        let p = item["properties"]
                        guard let pid = p?["principalId"]?.stringValue, let rid = p?["roleDefinitionId"]?.stringValue else { return true }
                        let sameScope = scope.map {
                            AzureVaultSnapshot.normalizedScope(p?["scope"]?.stringValue ?? "") == AzureVaultSnapshot.normalizedScope($0)
                        } ?? true
                        return !(pid.lowercased() == principal.lowercased() && AzureVaultSnapshot.roleGUID(rid) == role.guid && sameScope)
                    }
                }
            default:
                throw PolicyEditError(operation: operation.keyword, message: "is not an Azure operation; use add/remove-access-policy or add/remove-role-assignment")
            }
        }
        return PolicySnapshot(text: root.serialized() + "\n")
    }

    /// The key scope of the runbook's key. Set by the adapter; offline the
    /// key name comes from `keyName` (validate) or is unknown.
    func keyScope(_ vaultID: String, _ operation: ChangeOperation) throws(PolicyEditError) -> String {
        guard let keyName, !keyName.isEmpty else {
            throw PolicyEditError(operation: operation.keyword, message: "scope 'key' needs the key's name (target.azure.key)")
        }
        return "\(vaultID)/keys/\(keyName)"
    }

    func resolveRole(_ name: String) -> AzureRoleDefinition? {
        Self.isGUID(name) ? (catalogue.role(guid: name) ?? AzureRoleDefinition(guid: name, name: name)) : catalogue.role(named: name)
    }

    func unknownRoleMessage(_ name: String) -> String {
        "unknown role '\(name)': not a built-in Key Vault role"
            + (resolver == nil ? " and custom roles cannot be looked up offline (use the role definition's GUID)" : "")
    }

    func addAccessPolicy(_ entry: AccessPolicyEntry, to root: JSONValue, vault: AzureVaultSnapshot) throws(PolicyEditError) -> JSONValue {
        let identity = AzureVaultSnapshot.identity(entry.objectID, entry.applicationID)
        let additions: [(String, [String])] = [("keys", entry.keys), ("secrets", entry.secrets), ("certificates", entry.certificates)]
        var found = false
        let updated = Self.updatingAccessPolicies(root) { list in
            list.map { item in
                guard let o = item["objectId"]?.stringValue,
                    AzureVaultSnapshot.identity(o, item["applicationId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }) == identity,
                    case .object(var members) = item
                else { return item }
                found = true
                var permissions = item["permissions"]?.objectValue ?? []
                for (category, names) in additions where !names.isEmpty {
                    var list = permissions.first { $0.key == category }?.value.arrayValue ?? []
                    let have = Set(list.compactMap { $0.stringValue?.lowercased() })
                    for name in names where !have.contains(name.lowercased()) { list.append(.string(name)) }
                    if let i = permissions.firstIndex(where: { $0.key == category }) {
                        permissions[i].value = .array(list)
                    } else {
                        permissions.append(JSONMember(category, .array(list)))
                    }
                }
                if let i = members.firstIndex(where: { $0.key == "permissions" }) {
                    members[i].value = .object(permissions)
                } else {
                    members.append(JSONMember("permissions", .object(permissions)))
                }
                return .object(members)
            }
        }
        if found { return updated }
        var members = [
            JSONMember("tenantId", .string(entry.tenantID ?? vault.tenantID ?? "")),
            JSONMember("objectId", .string(entry.objectID)),
        ]
        if let app = entry.applicationID { members.append(JSONMember("applicationId", .string(app))) }
        members.append(
            JSONMember("permissions", .object(additions.map { JSONMember($0.0, .array($0.1.map { .string($0) })) })))
        return Self.updatingAccessPolicies(root) { $0 + [.object(members)] }
    }

    static func updatingAccessPolicies(_ root: JSONValue, _ edit: ([JSONValue]) -> [JSONValue]) -> JSONValue {
        guard case .object(var members) = root else { return root }
        var properties = root["properties"]?.objectValue ?? []
        let list = edit(root["properties"]?["accessPolicies"]?.arrayValue ?? [])
        if let i = properties.firstIndex(where: { $0.key == "accessPolicies" }) {
            properties[i].value = .array(list)
        } else {
            properties.append(JSONMember("accessPolicies", .array(list)))
        }
        if let i = members.firstIndex(where: { $0.key == "properties" }) {
            members[i].value = .object(properties)
        } else {
            members.append(JSONMember("properties", .object(properties)))
        }
        return .object(members)
    }

    static func updatingRoleAssignments(_ root: JSONValue, _ edit: ([JSONValue]) -> [JSONValue]) -> JSONValue {
        guard case .object(var members) = root else { return root }
        let list = edit(root["roleAssignments"]?.arrayValue ?? [])
        if let i = members.firstIndex(where: { $0.key == "roleAssignments" }) {
            members[i].value = .array(list)
        } else {
            members.append(JSONMember("roleAssignments", .array(list)))
        }
        return .object(members)
    }
}
