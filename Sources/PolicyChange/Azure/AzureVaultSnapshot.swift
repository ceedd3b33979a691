import Foundation

/// An Azure Key Vault snapshot (DESIGN.md §4): the vault resource as ARM
/// returned it, plus, in RBAC mode, a top-level `roleAssignments` array of ARM
/// role-assignment resources at the vault and key scope. Parsed leniently:
/// every member is optional, so analysis can report what is wrong (a member of
/// the wrong type reads as absent; `shapeProblems` lists those).
public struct AzureVaultSnapshot: Sendable, Equatable {
    public struct AccessPolicy: Sendable, Equatable {
        public var tenantID: String?
        public var objectID: String
        public var applicationID: String?
        /// Permission names by category (`keys`, `secrets`, `certificates`, `storage`), as written.
        public var permissions: [String: [String]]
        /// JSON path, `properties.accessPolicies[2]`.
        public var path: String

        /// objectId + applicationId, lower-cased: the identity an entry grants.
        public var identity: String { AzureVaultSnapshot.identity(objectID, applicationID) }
        public var keys: [String] { permissions["keys"] ?? [] }
    }

    public struct RoleAssignment: Sendable, Equatable {
        public var id: String?
        public var name: String?
        public var principalID: String
        public var roleDefinitionID: String
        public var scope: String
        public var principalType: String?
        public var condition: String?
        public var path: String

        /// The role definition's GUID (last path segment), lower-cased.
        public var roleGUID: String { AzureVaultSnapshot.roleGUID(roleDefinitionID) }
        /// principal / role GUID / scope, lower-cased: what an assignment grants.
        public var triple: String {
            "\(principalID.lowercased())|\(roleGUID)|\(AzureVaultSnapshot.normalizedScope(scope))|\(condition ?? "")"
        }
    }

    public var root: JSONValue
    public var id: String?
    public var name: String?
    public var tenantID: String?
    public var accessPolicies: [AccessPolicy]
    public var enableRbacAuthorization: Bool
    public var enableSoftDelete: Bool
    public var enablePurgeProtection: Bool
    public var networkAcls: JSONValue?
    /// nil when the snapshot has no `roleAssignments` member (access-policy mode).
    public var roleAssignments: [RoleAssignment]?

    public var model: AzurePermissionModel { enableRbacAuthorization ? .rbac : .accessPolicy }

    public init(_ root: JSONValue) {
        self.root = root
        id = root["id"]?.stringValue
        name = root["name"]?.stringValue
        let properties = root["properties"]
        tenantID = properties?["tenantId"]?.stringValue
        accessPolicies = (properties?["accessPolicies"]?.arrayValue ?? []).enumerated().compactMap { i, entry in
            guard let objectID = entry["objectId"]?.stringValue else { return nil }
            var permissions: [String: [String]] = [:]
            for member in entry["permissions"]?.objectValue ?? [] {
                permissions[member.key] = (member.value.arrayValue ?? []).compactMap(\.stringValue)
            }
            return AccessPolicy(
                tenantID: entry["tenantId"]?.stringValue, objectID: objectID,
                applicationID: entry["applicationId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                permissions: permissions, path: "properties.accessPolicies[\(i)]")
        }
        enableRbacAuthorization = properties?["enableRbacAuthorization"] == .bool(true)
        // Soft delete defaults to on for new vaults and cannot be turned off.
        enableSoftDelete = properties?["enableSoftDelete"] != .bool(false)
        enablePurgeProtection = properties?["enablePurgeProtection"] == .bool(true)
        networkAcls = properties?["networkAcls"]
        roleAssignments = root["roleAssignments"]?.arrayValue.map { list in
            list.enumerated().compactMap { i, item in
                let p = item["properties"]
                guard let principal = p?["principalId"]?.stringValue, let role = p?["roleDefinitionId"]?.stringValue else {
                    return nil
                }
                return RoleAssignment(
                    id: item["id"]?.stringValue, name: item["name"]?.stringValue, principalID: principal,
                    roleDefinitionID: role, scope: p?["scope"]?.stringValue ?? "", principalType: p?["principalType"]?.stringValue,
                    condition: p?["condition"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }, path: "roleAssignments[\(i)]")
            }
        }
    }

    /// Members the analysis reads that have the wrong type, or required ones
    /// that are missing: `init` reads those as absent, `INVALID_POLICY_ELEMENT`
    /// reports them. Members it does not read (`sku`, `systemData`, `networkAcls`, …)
    /// are not checked; optional ones may be absent or null.
    public static func shapeProblems(_ root: JSONValue) -> [JSONShapeProblem] {
        var c = JSONShapeChecker()
        guard c.object(root, at: "", required: true) != nil else { return c.problems }
        c.string(root["id"], at: "id")
        c.string(root["name"], at: "name")
        if let properties = c.object(root["properties"], at: "properties", required: true).map(JSONValue.object) {
            c.string(properties["tenantId"], at: "properties.tenantId")
            for (i, entry) in (c.array(properties["accessPolicies"], at: "properties.accessPolicies") ?? []).enumerated() {
                let path = "properties.accessPolicies[\(i)]"
                guard c.object(entry, at: path, required: true) != nil else { continue }
                c.string(entry["objectId"], at: "\(path).objectId", required: true)
                c.string(entry["tenantId"], at: "\(path).tenantId")
                c.string(entry["applicationId"], at: "\(path).applicationId")
                for member in c.object(entry["permissions"], at: "\(path).permissions", required: true) ?? [] {
                    c.strings(member.value, at: "\(path).permissions.\(member.key)")
                }
            }
            for flag in ["enableRbacAuthorization", "enableSoftDelete", "enablePurgeProtection"] {
                c.bool(properties[flag], at: "properties.\(flag)")
            }
        }
        for (i, item) in (c.array(root["roleAssignments"], at: "roleAssignments") ?? []).enumerated() {
            let path = "roleAssignments[\(i)]"
            guard c.object(item, at: path, required: true) != nil else { continue }
            c.string(item["id"], at: "\(path).id")
            c.string(item["name"], at: "\(path).name")
            guard let p = c.object(item["properties"], at: "\(path).properties", required: true).map(JSONValue.object) else { continue }
            c.string(p["principalId"], at: "\(path).properties.principalId", required: true)
            c.string(p["roleDefinitionId"], at: "\(path).properties.roleDefinitionId", required: true)
            for name in ["scope", "principalType", "condition"] { c.string(p[name], at: "\(path).properties.\(name)") }
        }
        return c.problems
    }

    /// Parses a snapshot's bytes with the strict parser.
    public static func parse(_ snapshot: PolicySnapshot) throws(JSONSyntaxError) -> AzureVaultSnapshot {
        AzureVaultSnapshot(try JSONParser.parse(snapshot.document).root)
    }

    public static func identity(_ objectID: String, _ applicationID: String?) -> String {
        "\(objectID.lowercased())|\((applicationID ?? "").lowercased())"
    }

    public static func roleGUID(_ roleDefinitionID: String) -> String {
        (roleDefinitionID.split(separator: "/").last.map(String.init) ?? roleDefinitionID).lowercased()
    }

    public static func normalizedScope(_ scope: String) -> String {
        var s = scope.lowercased()
        while s.hasSuffix("/") { s.removeLast() }
        if !s.hasPrefix("/") { s = "/" + s }
        return s
    }

    /// The subscription id in the vault's resource id.
    public var subscriptionID: String? {
        guard let id else { return nil }
        let parts = id.split(separator: "/").map(String.init)
        guard let i = parts.firstIndex(where: { $0.lowercased() == "subscriptions" }), i + 1 < parts.count else { return nil }
        return parts[i + 1]
    }

    /// Lower-cased permissions of one category, `all` kept.
    public static func permissionSet(_ names: [String]) -> Set<String> { Set(names.map { $0.lowercased() }) }

    /// What grants access, with volatile fields (systemData, etag, ids, provisioningState) left out.
    public var canonicalForm: String {
        var lines: [String] = []
        lines.append("tenant=\((tenantID ?? "").lowercased())")
        lines.append("rbac=\(enableRbacAuthorization) softDelete=\(enableSoftDelete) purge=\(enablePurgeProtection)")
        lines.append("networkAcls=\(networkAcls.map(Self.canonicalJSON) ?? "-")")
        for entry in accessPolicies.sorted(by: { $0.identity < $1.identity }) {
            let perms = entry.permissions.keys.sorted().compactMap { category -> String? in
                let set = Self.permissionSet(entry.permissions[category] ?? [])
                return set.isEmpty ? nil : "\(category.lowercased())=\(set.sorted().joined(separator: ","))"
            }
            lines.append("ap \(entry.identity) tenant=\((entry.tenantID ?? "").lowercased()) \(perms.joined(separator: " "))")
        }
        for triple in Set((roleAssignments ?? []).map(\.triple)).sorted() { lines.append("ra \(triple)") }
        return lines.joined(separator: "\n")
    }

    /// Object members sorted, arrays in order, for comparing values as JSON means them.
    public static func canonicalJSON(_ value: JSONValue) -> String {
        switch value {
        case .object(let members):
            return "{" + members.sorted { $0.key < $1.key }.map { "\($0.key):\(canonicalJSON($0.value))" }.joined(separator: ",") + "}"
        case .array(let items): return "[" + items.map(canonicalJSON).joined(separator: ",") + "]"
        case .string(let s): return "\"\(s.lowercased())\""
        case .number(let n): return Double(n).map { "\($0)" } ?? n
        case .bool(let b): return "\(b)"
        case .null: return "null"
        }
    }

    /// Vault properties other than access policies and role assignments, for
    /// `FULL_LIST_REPLACE`: changing them would need a whole-vault write.
    public var otherProperties: String {
        guard let members = root["properties"]?.objectValue else { return "" }
        let ignored: Set<String> = ["accessPolicies", "provisioningState", "vaultUri", "hsmPoolResourceId"]
        return members.filter { !ignored.contains($0.key) }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(Self.canonicalJSON($0.value))" }.joined(separator: ";")
    }
}
