import Foundation

/// What every Azure rule reads: both snapshots parsed, the requirements, the
/// caller, the pinned model and the role catalogue.
public struct AzureAnalysisInput: Sendable {
    public var proposed: AzureVaultSnapshot?
    public var current: AzureVaultSnapshot?
    public var document: JSONDocument?
    public var syntaxError: JSONSyntaxError?
    public var requirements: [Requirement]
    public var caller: String?
    public var pinnedModel: AzurePermissionModel?
    /// `{vault}/keys/{key}` when known.
    public var keyIdentifier: String?
    public var file: String?
    let dialect: AzureKeyVaultDialect

    init(_ request: AnalysisRequest, dialect: AzureKeyVaultDialect) {
        self.dialect = dialect
        requirements = request.requirements
        caller = request.caller
        pinnedModel = dialect.pinnedModel
        keyIdentifier = request.keyIdentifier
        file = request.proposedFile
        do {
            let doc = try JSONParser.parse(request.proposed.document)
            document = doc
            proposed = AzureVaultSnapshot(doc.root)
        } catch {
            syntaxError = error
        }
        current = request.current.flatMap { try? AzureVaultSnapshot.parse($0) }
    }

    func finding(_ code: String, _ severity: Severity, _ message: String, at path: String? = nil) -> Finding {
        let position = path.flatMap { document?.locations[$0] }
        return Finding(
            code: code, severity: severity, message: message, path: path, line: position?.line, column: position?.column,
            file: position == nil ? nil : file)
    }

    // MARK: Access

    /// The vault and key scopes an assignment must be at to count.
    func countsForKey(_ assignment: AzureVaultSnapshot.RoleAssignment, in vault: AzureVaultSnapshot) -> Bool {
        guard let vaultID = vault.id else { return false }
        let scope = AzureVaultSnapshot.normalizedScope(assignment.scope)
        let vaultScope = AzureVaultSnapshot.normalizedScope(vaultID)
        if scope == vaultScope { return true }
        if let keyIdentifier { return scope == AzureVaultSnapshot.normalizedScope(keyIdentifier) }
        if let name = dialect.keyName { return scope == AzureVaultSnapshot.normalizedScope("\(vaultID)/keys/\(name)") }
        return scope.hasPrefix(vaultScope + "/keys/")
    }

    public enum Grant: Equatable { case allowed, conditional, denied, unknownRole(String) }

    /// Whether `principal` may perform the key permission / data action `required` under `vault`'s model.
    func grant(_ principal: String, _ required: String, in vault: AzureVaultSnapshot) -> Grant {
        if vault.enableRbacAuthorization {
            let action = KeyVaultRoles.dataAction(for: required)
            var result = Grant.denied
            for a in vault.roleAssignments ?? [] where a.principalID.lowercased() == principal.lowercased() && countsForKey(a, in: vault) {
                guard let role = dialect.catalogue.role(guid: a.roleGUID) else {
                    if result == .denied { result = .unknownRole(a.roleGUID) }
                    continue
                }
                guard role.allowsDataAction(action) else { continue }
                if a.condition == nil { return .allowed }
                result = .conditional
            }
            return result
        }
        guard let permission = KeyVaultRoles.keyPermission(for: required) else { return .denied }
        // A compound identity (objectId + applicationId) is not the principal alone.
        for entry in vault.accessPolicies where entry.objectID.lowercased() == principal.lowercased() && entry.applicationID == nil {
            let keys = AzureVaultSnapshot.permissionSet(entry.keys)
            if keys.contains("all") || keys.contains(permission) { return .allowed }
        }
        return .denied
    }

    /// Principals a snapshot gives any key access to, with the key permissions
    /// (access-policy model) or key data actions (RBAC) each holds.
    func keyAccess(_ vault: AzureVaultSnapshot) -> [String: Set<String>] {
        var access: [String: Set<String>] = [:]
        let permissions = KeyVaultRoles.keyPermissionDataActions.keys.filter { $0 != "list" }
        if vault.enableRbacAuthorization {
            for a in vault.roleAssignments ?? [] where countsForKey(a, in: vault) {
                guard let role = dialect.catalogue.role(guid: a.roleGUID) else { continue }
                for p in permissions where role.allowsDataAction(KeyVaultRoles.dataAction(for: p)) {
                    access[a.principalID.lowercased(), default: []].insert(a.condition == nil ? KeyVaultRoles.displayName(p) : "\(KeyVaultRoles.displayName(p)) (conditional)")
                }
            }
        } else {
            for entry in vault.accessPolicies {
                let keys = AzureVaultSnapshot.permissionSet(entry.keys)
                let name = entry.applicationID.map { "\(entry.objectID.lowercased()) (application \($0.lowercased()))" } ?? entry.objectID.lowercased()
                for p in permissions where keys.contains("all") || keys.contains(p) { access[name, default: []].insert(KeyVaultRoles.displayName(p)) }
            }
        }
        return access
    }

    /// Whether `principal` holds `Microsoft.Authorization/roleAssignments/write`
    /// through an assignment at the vault or key scope (the only ones the snapshot shows).
    func canAssignRoles(_ principal: String, in vault: AzureVaultSnapshot) -> Bool {
        (vault.roleAssignments ?? []).contains { a in
            a.principalID.lowercased() == principal.lowercased() && countsForKey(a, in: vault)
                && (dialect.catalogue.role(guid: a.roleGUID)?.allowsAction("Microsoft.Authorization/roleAssignments/write") ?? false)
        }
    }
}

extension AzureKeyVaultDialect {
    public func analyze(_ request: AnalysisRequest) -> [Finding] {
        let input = AzureAnalysisInput(request, dialect: self)
        return AzureVaultRules.all.flatMap { rule -> [Finding] in
            if input.proposed == nil && rule.id != AzureJSONSyntaxErrorRule.id { return [] }
            return rule.check(input)
        }
    }

    public func principalAccessChanges(from current: PolicySnapshot, to proposed: PolicySnapshot, keyIdentifier: String?)
        -> [PrincipalAccessChange]?
    {
        let input = AzureAnalysisInput(AnalysisRequest(current: current, proposed: proposed, keyIdentifier: keyIdentifier), dialect: self)
        guard let old = input.current, let new = input.proposed else { return nil }
        let before = input.keyAccess(old), after = input.keyAccess(new)
        return Set(before.keys).union(after.keys).sorted().compactMap { principal in
            let a = before[principal] ?? [], b = after[principal] ?? []
            let gained = b.subtracting(a).sorted(), lost = a.subtracting(b).sorted()
            return gained.isEmpty && lost.isEmpty ? nil : PrincipalAccessChange(principal: principal, gained: gained, lost: lost)
        }
    }
}
