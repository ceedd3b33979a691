import Foundation

/// An IAM role as `roles.get` returns it (the fields the analysis needs).
public struct IAMRoleDefinition: Sendable, Equatable {
    public var name: String
    public var includedPermissions: [String]

    public init(name: String, includedPermissions: [String]) {
        self.name = name
        self.includedPermissions = includedPermissions
    }

    /// A JSON array of Role resources (`--roles FILE`), or one Role object.
    public static func parseList(_ data: Data, file: String = "roles file") throws(PolicyEditError) -> [IAMRoleDefinition] {
        let root: JSONValue
        do {
            root = try JSONParser.parse(data).root
        } catch {
            throw PolicyEditError(operation: "--roles", message: "\(file):\(error)")
        }
        let items = root.arrayValue ?? [root]
        return try items.enumerated().map { (i, item) throws(PolicyEditError) -> IAMRoleDefinition in
            guard let role = IAMRoleDefinition(json: item) else {
                throw PolicyEditError(
                    operation: "--roles",
                    message: "\(file): item \(i + 1) is not an IAM Role resource with 'name' and 'includedPermissions'")
            }
            return role
        }
    }

    public init?(json: JSONValue) {
        guard let name = json["name"]?.stringValue, !name.isEmpty else { return nil }
        let permissions = json["includedPermissions"]?.arrayValue ?? []
        guard permissions.allSatisfy({ $0.stringValue != nil }) else { return nil }
        self.init(name: name, includedPermissions: permissions.compactMap(\.stringValue))
    }

    /// `projects/*/roles/*` or `organizations/*/roles/*`.
    public static func isCustom(_ role: String) -> Bool {
        let parts = role.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 4 && (parts[0] == "projects" || parts[0] == "organizations") && parts[2] == "roles"
            && !parts[1].isEmpty && !parts[3].isEmpty
    }
}

/// Fetches role definitions the pinned catalogue does not know (IAM `roles.get`).
public protocol IAMRoleResolver: Sendable {
    func role(named name: String) async throws -> IAMRoleDefinition
}

/// Roles resolved during one run, shared by copies of the dialect.
final class IAMRoleCache: @unchecked Sendable {
    private let lock = NSLock()
    private var roles: [String: Set<String>] = [:]

    init(_ initial: [IAMRoleDefinition]) {
        for role in initial { roles[role.name] = Set(role.includedPermissions) }
    }

    func permissions(of role: String) -> Set<String>? {
        lock.lock()
        defer { lock.unlock() }
        return roles[role]
    }

    func store(_ role: IAMRoleDefinition) {
        lock.lock()
        defer { lock.unlock() }
        roles[role.name] = Set(role.includedPermissions)
    }
}
