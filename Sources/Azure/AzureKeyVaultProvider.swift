import Foundation
import HTTP
import PolicyChange

/// The endpoints of one connection: ARM, an optional data-plane override, Log Analytics.
public struct AzureEndpoints: Sendable {
    public var management: URL
    /// Overrides the vault's `properties.vaultUri` (tests, sovereign clouds).
    public var vault: URL?
    public var logAnalytics: URL

    public static let armKeyVaultVersion = "2025-05-01"
    public static let authorizationVersion = "2022-04-01"
    public static let dataPlaneVersion = "7.5"

    /// `target.azure.endpoints` keys: `management`, `vault`, `loganalytics`, and
    /// `login` (the authority; read by `AzureConnection`, which lets it override AZURE_AUTHORITY_HOST).
    public init(overrides: [String: String]) throws(ProviderError) {
        func url(_ key: String, _ fallback: String?) throws(ProviderError) -> URL? {
            guard let text = overrides[key] ?? fallback else { return nil }
            guard let url = URL(string: text), url.host != nil, URLSafety.isAllowed(url) else {
                throw ProviderError(.invalidState, "target.azure.endpoints.\(key) '\(text)' is not an https URL (plain http only on loopback)")
            }
            return url
        }
        for key in overrides.keys where !["management", "vault", "loganalytics", "login"].contains(key) {
            throw ProviderError(.invalidState, "unknown endpoint '\(key)' in target.azure.endpoints (known: management, vault, loganalytics, login)")
        }
        management = try url("management", "https://management.azure.com")!
        vault = try url("vault", nil)
        logAnalytics = try url("loganalytics", "https://api.loganalytics.io")!
    }

    /// `base` + an ARM path (`/subscriptions/…`) + query, the path kept as written.
    static func join(_ base: URL, _ path: String, _ query: String) -> URL? {
        var text = base.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        let p = path.hasPrefix("/") ? path : "/" + path
        let escaped = p.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? p
        return URL(string: text + escaped + (query.isEmpty ? "" : "?" + query))
    }
}

/// A Key Vault key's access through ARM: the vault's access policies and, in
/// RBAC mode, role assignments at the vault and key scope. Writes only deltas.
public struct AzureKeyVaultProvider: KeyPolicyProvider {
    public let target: Target
    let azure: AzureTarget
    let endpoints: AzureEndpoints
    let arm: AzureAPI
    let dataPlane: AzureAPI
    let tokens: AzureTokenCache
    let dialect: AzureKeyVaultDialect
    let newName: @Sendable () -> String

    public init(
        target: AzureTarget, endpoints: AzureEndpoints, arm: AzureAPI, dataPlane: AzureAPI, tokens: AzureTokenCache,
        dialect: AzureKeyVaultDialect, newName: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }
    ) {
        self.target = .azure(target)
        self.azure = target
        self.endpoints = endpoints
        self.arm = arm
        self.dataPlane = dataPlane
        self.tokens = tokens
        self.dialect = dialect
        self.newName = newName
    }

    var vaultID: String { azure.vault }
    var keyScope: String { "\(azure.vault)/keys/\(azure.key)" }

    func armURL(_ path: String, apiVersion: String, extra: String = "") throws -> URL {
        guard let url = AzureEndpoints.join(endpoints.management, path, "api-version=\(apiVersion)\(extra)") else {
            throw ProviderError(.invalidState, "cannot build an ARM URL for \(path)")
        }
        return url
    }

    func getVault() async throws -> (JSONValue, Data) {
        let response = try await arm.send(
            .get, try armURL(vaultID, apiVersion: AzureEndpoints.armKeyVaultVersion), operation: "get vault")
        do {
            return (try JSONParser.parse(response.body).root, response.body)
        } catch {
            throw ProviderError(.invalidResponse, "ARM get vault: the answer is not JSON (\(error))")
        }
    }

    // MARK: describeKey

    /// The key must exist, be enabled and be RSA or RSA-HSM (Confluent and the
    /// other BYOK services wrap with RSA-OAEP).
    public func describeKey() async throws -> KeyDescription {
        let (vault, _) = try await getVault()
        let base: URL
        if let override = endpoints.vault {
            base = override
        } else if let uri = vault["properties"]?["vaultUri"]?.stringValue, let url = URL(string: uri), URLSafety.isAllowed(url) {
            // The data-plane token is good for every vault the caller can reach: only a Key Vault host gets it.
            guard Self.isKeyVaultHost(url) else {
                throw ProviderError(
                    .invalidResponse,
                    "the vault's properties.vaultUri host '\(URLSafety.host(of: url) ?? uri)' is not a Key Vault endpoint; nothing was sent there "
                        + "(set target.azure.endpoints.vault if it really is your vault's data plane)")
            }
            base = url
        } else {
            throw ProviderError(.invalidResponse, "the vault has no usable properties.vaultUri")
        }
        guard let url = AzureEndpoints.join(base, "/keys/\(azure.key)", "api-version=\(AzureEndpoints.dataPlaneVersion)") else {
            throw ProviderError(.invalidState, "cannot build the key URL for '\(azure.key)'")
        }
        let key = try await dataPlane.json(.get, url, operation: "get key \(azure.key)")
        let kty = key["key"]?["kty"]?.stringValue ?? "?"
        let enabled = key["attributes"]?["enabled"] == .bool(true)
        guard kty == "RSA" || kty == "RSA-HSM" else {
            throw ProviderError(
                .invalidState,
                "the key \(azure.key) is \(kty); the vendor requires an RSA or RSA-HSM key (RSA-OAEP wrap/unwrap)")
        }
        return KeyDescription(
            identifier: key["key"]?["kid"]?.stringValue ?? keyScope, enabled: enabled, state: enabled ? "Enabled" : "Disabled",
            region: vault["location"]?.stringValue, owner: AzureVaultSnapshot(vault).subscriptionID)
    }

    /// Key Vault and Managed HSM DNS suffixes of the public and sovereign clouds, or loopback (tests).
    static let keyVaultSuffixes = [
        ".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net", ".vault.microsoftazure.de",
        ".managedhsm.azure.net", ".managedhsm.azure.cn", ".managedhsm.usgovcloudapi.net",
    ]

    static func isKeyVaultHost(_ url: URL) -> Bool {
        guard let host = URLSafety.host(of: url)?.lowercased() else { return false }
        return URLSafety.isLoopback(host: host) || keyVaultSuffixes.contains { host.hasSuffix($0) }
    }

    // MARK: readPolicy

    public func readPolicy() async throws -> PolicySnapshot {
        let (vault, raw) = try await getVault()
        let rbac = vault["properties"]?["enableRbacAuthorization"] == .bool(true) || azure.model == .rbac
        guard rbac else { return PolicySnapshot(document: raw) }
        var seen = Set<String>()
        var assignments: [JSONValue] = []
        let wanted: Set<String> = [AzureVaultSnapshot.normalizedScope(vaultID), AzureVaultSnapshot.normalizedScope(keyScope)]
        for scope in [vaultID, keyScope] {
            for item in try await listAssignments(at: scope) {
                let itemScope = AzureVaultSnapshot.normalizedScope(item["properties"]?["scope"]?.stringValue ?? "")
                guard wanted.contains(itemScope), let id = item["id"]?.stringValue, seen.insert(id.lowercased()).inserted else { continue }
                assignments.append(item)
            }
        }
        guard case .object(var members) = vault else { throw ProviderError(.invalidResponse, "ARM get vault: not a JSON object") }
        members.append(JSONMember("roleAssignments", .array(assignments)))
        return PolicySnapshot(text: JSONValue.object(members).serialized() + "\n")
    }

    /// `GET {scope}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()`, following nextLink.
    func listAssignments(at scope: String) async throws -> [JSONValue] {
        var url: URL? = try armURL(
            "\(scope)/providers/Microsoft.Authorization/roleAssignments", apiVersion: AzureEndpoints.authorizationVersion,
            extra: "&$filter=atScope()")
        var out: [JSONValue] = []
        var pages = 0
        var seen = Set<String>()
        while let next = url {
            pages += 1
            guard pages <= Self.pageCap, seen.insert(next.absoluteString).inserted else {
                // A partial list would make a wrong backup and wrong deltas: stop instead.
                throw ProviderError(
                    .invalidResponse,
                    "ARM list role assignments at \(scope): the nextLink chain repeats or runs past \(Self.pageCap) pages; "
                        + "nothing was written (retry later; if it persists, report the ARM answer)")
            }
            let page = try await arm.json(.get, next, operation: "list role assignments")
            guard let items = page["value"]?.arrayValue else {
                throw ProviderError(
                    .invalidResponse, "ARM list role assignments at \(scope): the answer has no 'value' array; nothing was written")
            }
            out += items
            url = try page["nextLink"]?.stringValue.map { link throws -> URL in
                // The bearer token goes only to the ARM endpoint it was asked for.
                guard let u = URL(string: link), URLSafety.isAllowed(u), Self.sameOrigin(u, endpoints.management) else {
                    throw ProviderError(
                        .invalidResponse,
                        "ARM list role assignments at \(scope): the nextLink does not point to \(URLSafety.host(of: endpoints.management) ?? "the ARM endpoint"); "
                            + "refusing to send the token elsewhere")
                }
                return u
            }
        }
        return out
    }

    static let pageCap = 100

    /// Each access-policy entry as `identity tenant permissions` (an entry without a
    /// tenant gets the vault's, as the add delta sends it), names lower-cased.
    static func accessPolicyLines(_ vault: AzureVaultSnapshot) -> Set<String> {
        Set(vault.accessPolicies.map { entry in
            let perms = entry.permissions.keys.sorted().compactMap { category -> String? in
                let set = AzureVaultSnapshot.permissionSet(entry.permissions[category] ?? [])
                return set.isEmpty ? nil : "\(category.lowercased())=\(set.sorted().joined(separator: ","))"
            }
            return "\(entry.identity) tenant=\((entry.tenantID ?? vault.tenantID ?? "").lowercased()) \(perms.joined(separator: " "))"
        })
    }

    /// Same scheme, host and port: where a paging link may take the token.
    static func sameOrigin(_ a: URL, _ b: URL) -> Bool {
        a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased()
            && (a.port ?? (a.scheme?.lowercased() == "https" ? 443 : 80)) == (b.port ?? (b.scheme?.lowercased() == "https" ? 443 : 80))
    }

    // MARK: writePolicy

    public func writePolicy(_ proposed: PolicySnapshot, replacing expectedCurrent: PolicySnapshot) async throws {
        let liveSnapshot = try await readPolicy()
        // Part of this same write may have landed already (a retried restore): carry on from there.
        guard dialect.isEquivalent(liveSnapshot, expectedCurrent) || dialect.isPartialWrite(liveSnapshot, from: expectedCurrent, to: proposed)
        else {
            throw ProviderError.concurrentModification(
                "the vault's access changed between the last read and the write; nothing was written")
        }
        let live = try AzureVaultSnapshot.parse(liveSnapshot)
        let target = try AzureVaultSnapshot.parse(proposed)
        let plan = AzureDeltaPlan(from: live, to: target)
        if let conflict = plan.conflicts.first {
            throw ProviderError(
                .invalidState,
                "cannot add role '\(dialect.role(guid: conflict.roleGUID)?.name ?? conflict.roleGUID)' for \(conflict.principalID) at \(conflict.scope): that principal already holds "
                    + "the role there with a different condition, and ARM keeps one assignment per principal, role and scope; "
                    + "nothing was written (remove the existing assignment in the same change to replace its condition)")
        }
        // DELETE and in-place PUT go only to a role assignment at its own scope, as ARM listed it.
        for existing in plan.assignmentsToDelete + plan.assignmentsToUpdate.map(\.live) where !Self.isAssignmentID(existing) {
            throw ProviderError(
                .invalidResponse,
                "ARM listed a role assignment at \(existing.scope) whose id '\(existing.id ?? "")' is not a role assignment at that scope; "
                    + "nothing was written (check the assignment in the portal)")
        }
        for step in plan.accessPolicySteps {
            try await arm.send(
                .put,
                try armURL("\(vaultID)/accessPolicies/\(step.operation.rawValue)", apiVersion: AzureEndpoints.armKeyVaultVersion),
                body: step.body, operation: "accessPolicies/\(step.operation.rawValue)")
        }
        if !plan.accessPolicySteps.isEmpty {
            // ARM answers 200 to a remove it did not apply (a differently spelled name): look.
            // The vault GET is one resource, read back consistently (unlike role-assignment lists).
            let (now, _) = try await getVault()
            let have = Self.accessPolicyLines(AzureVaultSnapshot(now)), want = Self.accessPolicyLines(target)
            guard have == want else {
                let differing = have.symmetricDifference(want).map { line in
                    let identity = line.split(separator: " ").first.map(String.init) ?? "?"
                    return identity.hasSuffix("|") ? String(identity.dropLast()) : identity
                }
                throw ProviderError(
                    .invalidState,
                    "ARM accepted the accessPolicies calls but the vault's access policies are not the proposed ones "
                        + "(entries for \(Set(differing).sorted().joined(separator: ", "))); compare the vault with the plan")
            }
        }
        for assignment in plan.assignmentsToCreate {
            try await createAssignment(assignment)
        }
        for (existing, wanted) in plan.assignmentsToUpdate {
            guard let id = existing.id else { continue }
            try await putAssignment(wanted, at: try armURL(id, apiVersion: AzureEndpoints.authorizationVersion))
        }
        for assignment in plan.assignmentsToDelete {
            guard let id = assignment.id else { continue }
            try await arm.send(.delete, try armURL(id, apiVersion: AzureEndpoints.authorizationVersion), operation: "delete role assignment")
        }
    }

    /// `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`, one plain segment for the name.
    static func isAssignmentID(_ a: AzureVaultSnapshot.RoleAssignment) -> Bool {
        guard let id = a.id, !a.scope.isEmpty else { return false }
        let prefix = AzureVaultSnapshot.normalizedScope(a.scope) + "/providers/microsoft.authorization/roleassignments/"
        let lowered = id.lowercased()
        guard lowered.hasPrefix(prefix) else { return false }
        let name = lowered.dropFirst(prefix.count)
        return !name.isEmpty && name != "." && name != ".." && !name.contains { "/?#%\\".contains($0) }
    }

    func createAssignment(_ a: AzureVaultSnapshot.RoleAssignment) async throws {
        let url = try armURL(
            "\(a.scope)/providers/Microsoft.Authorization/roleAssignments/\(newName())", apiVersion: AzureEndpoints.authorizationVersion)
        do {
            try await putAssignment(a, at: url)
        } catch let error as ProviderError where error.serviceCode == "RoleAssignmentExists" {
            // The same principal, role and scope already exist: the end state is what we want.
            return
        }
    }

    /// PUT of a role assignment's properties (a new name creates; an existing id updates its condition).
    func putAssignment(_ a: AzureVaultSnapshot.RoleAssignment, at url: URL) async throws {
        var properties = [
            JSONMember("roleDefinitionId", .string(a.roleDefinitionID)), JSONMember("principalId", .string(a.principalID)),
        ]
        if let type = a.principalType { properties.append(JSONMember("principalType", .string(type))) }
        if let condition = a.condition {
            properties.append(JSONMember("condition", .string(condition)))
            properties.append(JSONMember("conditionVersion", .string("2.0")))
        }
        try await arm.send(.put, url, body: .object([JSONMember("properties", .object(properties))]), operation: "create role assignment")
    }

    // MARK: caller

    /// The `oid` claim of the ARM access token (decoded, not verified: it names who we are, it grants nothing).
    public func callerIdentity() async throws -> String? {
        let token = try await tokens.token(for: .management)
        return JWTClaims.string("oid", in: token.token)
    }
}

/// Reads claims of a JWT's payload without verifying it.
enum JWTClaims {
    static func string(_ claim: String, in jwt: String) -> String? {
        let parts = jwt.split(separator: ".")
        guard parts.count >= 2 else { return nil }
        guard let data = Base64URL.decode(parts[1]), let json = try? JSONParser.parse(data).root else { return nil }
        return json[claim]?.stringValue
    }
}
