import Foundation
import PolicyChange

/// Node tree → `Runbook`, schema v1 (DESIGN §3). Stops at the first problem.
///
/// Parts are decoded in a fixed order (version, name, target, change,
/// require, window, steps, rollback, then the checks that span parts) so the
/// first error is deterministic; the target comes before everything that
/// depends on its cloud.
struct RunbookDecoder {
    /// The runbook path as the user gave it (for messages).
    var file: String
    /// Absolute folder of the runbook: relative paths resolve against it.
    var folder: String
    var variables: VariableResolver
    var limits: RunbookLimits

    static let rootKeys = [
        "version", "name", "description", "change-ticket", "target", "change", "require", "window", "steps",
        "rollback",
    ]

    func decodeRunbook(_ root: YAMLNode?) throws(RunbookError) -> Runbook {
        let top = try rootMapping(root, what: "runbook")
        // An unsupported version is reported before unknown keys: a newer
        // runbook's new keys are a consequence, not the problem.
        if let version = top.pairs.first(where: { $0.keyText == "version" && !$0.value.isNull })?.value {
            try checkVersion(version)
        }
        let m = try mapping(top.node, for: nil, keys: Self.rootKeys)
        try checkVersion(try required("version", in: m))

        let name = try runbookName(try required("name", in: m))
        let description = try m.value("description").map { node throws(RunbookError) in try string(node, for: "description") }
        let changeTicket = try m.value("change-ticket").map { node throws(RunbookError) in
            try nonEmptyString(node, for: "change-ticket")
        }
        let target = try decodeTarget(try required("target", in: m))
        let cloud = target.cloud
        let change = try m.value("change").map { node throws(RunbookError) in try decodeChange(node, cloud: cloud) } ?? []
        let require = try m.value("require").map { node throws(RunbookError) in try decodeRequire(node) } ?? []
        let window = try m.value("window").map { node throws(RunbookError) in try decodeWindow(node) }
        let steps = try m.value("steps").map { node throws(RunbookError) in try decodeSteps(node, cloud: cloud) }
        let rollback = try m.value("rollback").map { node throws(RunbookError) in try decodeRollback(node) } ?? RollbackPolicy()

        if let steps { try checkProcedure(steps) }
        let applies = (steps ?? Step.defaultProcedure).contains { $0.action == .apply }
        if applies, change.isEmpty {
            if let node = m.value("change") {
                throw error(at: node, "'change' is empty but the steps apply it; list at least one operation")
            }
            throw error(at: m.node, "missing required key 'change' (the steps include apply)")
        }

        return Runbook(
            version: Runbook.schemaVersion,
            name: name,
            description: description,
            changeTicket: changeTicket,
            target: target,
            change: change,
            require: require,
            window: window,
            steps: steps ?? (cloud == .azure ? Self.azureDefaultProcedure : Step.defaultProcedure),
            rollback: rollback
        )
    }

    /// A `--require` file: a mapping with one key, `require:`, in the
    /// runbook's form (DESIGN §5).
    func decodeRequirementsFile(_ root: YAMLNode?) throws(RunbookError) -> [Requirement] {
        let top = try rootMapping(root, what: "requirements file")
        let m = try mapping(top.node, for: nil, keys: ["require"])
        return try decodeRequire(try required("require", in: m))
    }

    private func rootMapping(_ root: YAMLNode?, what: String) throws(RunbookError) -> (node: YAMLNode, pairs: [YAMLPair]) {
        guard let root, !root.isNull else {
            throw error(at: Mark(line: 1, column: 1), "the \(what) is empty")
        }
        guard case .mapping(let pairs) = root.content else {
            throw error(at: root, "expected a mapping at the top of the \(what), found \(root.foundDescription)")
        }
        return (root, pairs)
    }

    private func checkVersion(_ node: YAMLNode) throws(RunbookError) {
        let version = try int(node, for: "version", atLeast: Int.min)
        guard version == Runbook.schemaVersion else {
            throw error(
                at: node,
                "unsupported runbook version \(version) (this policy-change reads version \(Runbook.schemaVersion))")
        }
    }

    static let maxNameLength = 64

    /// The name goes into run ids and folder names, hence the narrow alphabet.
    private func runbookName(_ node: YAMLNode) throws(RunbookError) -> String {
        let name = try string(node, for: "name")
        let valid =
            !name.isEmpty
            && name.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-") }
        guard valid else {
            throw error(
                at: node, "invalid name '\(YAMLNode.abbreviated(name))' (use lowercase letters, digits and '-', e.g. add-audit-role)")
        }
        guard name.count <= Self.maxNameLength else {
            throw error(at: node, "the name is longer than \(Self.maxNameLength) characters")
        }
        return name
    }

    // MARK: Target

    private func decodeTarget(_ node: YAMLNode) throws(RunbookError) -> Target {
        guard case .mapping(let pairs) = node.content else {
            throw error(at: node, "expected a mapping for 'target', found \(node.foundDescription)")
        }
        let clouds = Cloud.allCases.map(\.rawValue)
        var chosen: YAMLPair?
        for pair in pairs {
            guard clouds.contains(pair.keyText) else {
                throw error(
                    at: pair.key,
                    "unknown target '\(YAMLNode.abbreviated(pair.keyText))' \(Self.hint(for: pair.keyText, among: clouds, listing: "targets"))"
                )
            }
            if let first = chosen {
                throw error(
                    at: pair.key,
                    "two targets, '\(first.keyText)' and '\(pair.keyText)' (a runbook changes one key: keep one)")
            }
            chosen = pair
        }
        guard let chosen else {
            throw error(at: node, "missing target: 'target' needs one of aws, azure, gcp")
        }
        let value = chosen.value
        guard !value.isNull else {
            throw error(at: chosen.key, "missing required key 'key' in '\(chosen.keyText)'")
        }
        switch chosen.keyText {
        case "aws": return .aws(try decodeAWSTarget(value))
        case "azure": return .azure(try decodeAzureTarget(value))
        default: return .gcp(try decodeGCPTarget(value))
        }
    }

    private func decodeAWSTarget(_ node: YAMLNode) throws(RunbookError) -> AWSTarget {
        let m = try mapping(
            node, for: "aws", keys: ["key", "region", "profile", "endpoints", "bypass-policy-lockout-safety-check"])
        let keyNode = try required("key", in: m)
        let key = try nonEmptyString(keyNode, for: "key")
        var arnRegion: String?
        if key.hasPrefix("arn:") {
            // arn:PARTITION:kms:REGION:ACCOUNT:key/ID (or alias/NAME)
            let parts = key.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            let valid =
                parts.count == 6 && parts[2] == "kms" && !parts[3].isEmpty && parts[4].count == 12
                && parts[4].allSatisfy(\.isNumber) && (parts[5].hasPrefix("key/") || parts[5].hasPrefix("alias/"))
            guard valid else {
                throw error(
                    at: keyNode,
                    "'\(YAMLNode.abbreviated(key))' is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)")
            }
            arnRegion = String(parts[3])
        }
        let region = try m.value("region").map { node throws(RunbookError) in try nonEmptyString(node, for: "region") }
        if let region, let arnRegion, region != arnRegion {
            throw error(at: m.value("region")!, "region '\(region)' does not match the key ARN's region '\(arnRegion)'")
        }
        return AWSTarget(
            key: key,
            region: region,
            profile: try m.value("profile").map { node throws(RunbookError) in try nonEmptyString(node, for: "profile") },
            endpoints: try endpoints(m.value("endpoints")),
            bypassPolicyLockoutSafetyCheck: try m.value("bypass-policy-lockout-safety-check").map { node throws(RunbookError) in
                try bool(node, for: "bypass-policy-lockout-safety-check")
            } ?? false
        )
    }

    private func decodeAzureTarget(_ node: YAMLNode) throws(RunbookError) -> AzureTarget {
        let m = try mapping(node, for: "azure", keys: ["vault", "key", "model", "endpoints"])
        let vaultNode = try required("vault", in: m)
        let vault = try nonEmptyString(vaultNode, for: "vault")
        // /subscriptions/S/resourceGroups/G/providers/Microsoft.KeyVault/vaults/NAME
        let parts = vault.split(separator: "/", omittingEmptySubsequences: false)
        let valid =
            parts.count == 9 && parts[0].isEmpty && parts[1].lowercased() == "subscriptions"
            && parts[3].lowercased() == "resourcegroups" && parts[5].lowercased() == "providers"
            && parts[6].lowercased() == "microsoft.keyvault" && parts[7].lowercased() == "vaults"
            && [2, 4, 8].allSatisfy { !parts[$0].isEmpty }
        guard valid else {
            throw error(
                at: vaultNode,
                "'vault' must be the vault's resource id (/subscriptions/SUB/resourceGroups/GROUP/providers/Microsoft.KeyVault/vaults/NAME)"
            )
        }
        let keyNode = try required("key", in: m)
        let key = try nonEmptyString(keyNode, for: "key")
        // Key Vault object names: 1-127 of letters, digits and '-'.
        guard key.count <= 127, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw error(at: keyNode, "invalid key name '\(YAMLNode.abbreviated(key))' (Key Vault key names are letters, digits and '-')")
        }
        return AzureTarget(
            vault: vault,
            key: key,
            model: try m.value("model").map { node throws(RunbookError) in
                try choice(node, for: "model", as: AzurePermissionModel.self)
            },
            endpoints: try azureEndpoints(m.value("endpoints"))
        )
    }

    /// Azure's endpoint overrides: `management` (ARM), `vault` (data plane),
    /// `loganalytics`, `login` (the Entra ID authority, like AZURE_AUTHORITY_HOST).
    private func azureEndpoints(_ node: YAMLNode?) throws(RunbookError) -> [String: String] {
        let result = try endpoints(node)
        let known = ["management", "vault", "loganalytics", "login"]
        if let node, case .mapping(let pairs) = node.content {
            for pair in pairs where !known.contains(pair.keyText) {
                let hint = Spelling.suggestion(for: pair.keyText, among: known).map { " (did you mean '\($0)'?)" } ?? ""
                throw error(at: pair.key, "unknown Azure endpoint '\(YAMLNode.abbreviated(pair.keyText))'\(hint); known: management, vault, loganalytics, login")
            }
        }
        return result
    }

    private func decodeGCPTarget(_ node: YAMLNode) throws(RunbookError) -> GCPTarget {
        let m = try mapping(node, for: "gcp", keys: ["key", "endpoints", "inherited-admins"])
        let keyNode = try required("key", in: m)
        let key = try nonEmptyString(keyNode, for: "key")
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        let valid =
            parts.count == 8 && parts[0] == "projects" && parts[2] == "locations" && parts[4] == "keyRings"
            && parts[6] == "cryptoKeys" && [1, 3, 5, 7].allSatisfy { !parts[$0].isEmpty }
        guard valid else {
            throw error(
                at: keyNode,
                "'key' must be the crypto key's resource name (projects/P/locations/L/keyRings/R/cryptoKeys/K)")
        }
        var inheritedAdmins: [String] = []
        if let list = m.value("inherited-admins") {
            inheritedAdmins = try stringList(list, for: "inherited-admins")
        }
        return GCPTarget(key: key, endpoints: try endpoints(m.value("endpoints")), inheritedAdmins: inheritedAdmins)
    }

    /// Endpoint overrides: service name → URL. Service names are free-form
    /// (`kms`, `sts`, `cloudtrail`, `access-analyzer`, …) because each
    /// cloud's adapter knows its own; the URL must be http(s).
    private func endpoints(_ node: YAMLNode?) throws(RunbookError) -> [String: String] {
        guard let node else { return [:] }
        let result = try stringMap(node, for: "endpoints") { name in
            let valid =
                !name.isEmpty
                && name.utf8.allSatisfy {
                    (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-")
                }
            return valid ? nil : "invalid endpoint name '\(YAMLNode.abbreviated(name))' (use the service's name, e.g. kms)"
        }
        guard case .mapping(let pairs) = node.content else { return result }
        for pair in pairs {
            let url = result[pair.keyText] ?? ""
            guard Self.isHTTPURL(url) else {
                throw error(
                    at: pair.value,
                    "invalid endpoint URL for '\(pair.keyText)' (use http://HOST[:PORT] or https://HOST[:PORT])")
            }
        }
        return result
    }

    /// `http://` or `https://` (any case) followed by something, no spaces.
    static func isHTTPURL(_ text: String) -> Bool {
        let bytes = text.utf8
        guard !bytes.contains(UInt8(ascii: " ")) else { return false }
        for scheme in ["https://", "http://"] where bytes.count > scheme.utf8.count {
            let lowercasedPrefix = bytes.prefix(scheme.utf8.count).map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
            if lowercasedPrefix.elementsEqual(scheme.utf8) { return true }
        }
        return false
    }

    // MARK: Change

    /// One placeholder per keyword, so the cloud check uses the model's own
    /// `ChangeOperation.clouds` before the operation's value is read (a
    /// wrong-cloud operation should say so, not complain about its file).
    private static let placeholders: [String: ChangeOperation] = {
        let file = AttachedFile(path: "", contents: Data())
        let all: [ChangeOperation] = [
            .replacePolicy(file), .addStatements(file), .addPrincipals(sid: "", principals: []),
            .removeStatements(sids: []), .addMembers(role: "", members: []), .removeMembers(role: "", members: []),
            .addAccessPolicy(AccessPolicyEntry(objectID: "")), .removeAccessPolicy(objectID: "", applicationID: nil),
            .addRoleAssignment(principalID: "", role: "", scope: .key),
            .removeRoleAssignment(principalID: "", role: "", scope: nil),
        ]
        return Dictionary(uniqueKeysWithValues: all.map { ($0.keyword, $0) })
    }()

    private func decodeChange(_ node: YAMLNode, cloud: Cloud) throws(RunbookError) -> [ChangeOperation] {
        var result: [ChangeOperation] = []
        for item in try sequence(node, for: "change", nonEmpty: false) {
            let (keyword, keyNode, value) = try oneKeyItem(item, kind: "change operation", keywords: ChangeOperation.keywords)
            guard let value, !value.isNull else {
                throw error(at: keyNode, "change operation '\(keyword)' needs a value (e.g. '- \(keyword): …')")
            }
            let clouds = Self.placeholders[keyword]!.clouds
            guard clouds.contains(cloud) else {
                let names = Cloud.allCases.filter(clouds.contains).map(\.rawValue).joined(separator: ", ")
                throw error(
                    at: keyNode, "change operation '\(keyword)' does not apply to an \(cloud) target (it is for \(names))")
            }
            result.append(try decodeOperation(keyword, value))
        }
        return result
    }

    /// A list item that is a one-key mapping `{keyword: value}` or, where
    /// allowed, a bare keyword. Returns the keyword, the node to point at,
    /// and the value (nil for a bare keyword).
    func oneKeyItem(_ item: YAMLNode, kind: String, keywords: [String]) throws(RunbookError) -> (
        String, YAMLNode, YAMLNode?
    ) {
        let keyNode: YAMLNode
        let value: YAMLNode?
        switch item.content {
        case .scalar where !item.isNull:
            (keyNode, value) = (item, nil)
        case .mapping(let pairs) where !pairs.isEmpty:
            (keyNode, value) = (pairs[0].key, pairs[0].value)
            if pairs.count > 1, keywords.contains(pairs[0].keyText) {
                let extra = pairs[1].keyText
                throw error(
                    at: pairs[1].key,
                    "a \(kind) is a one-key mapping: put '\(YAMLNode.abbreviated(extra))' inside '\(pairs[0].keyText)' (e.g. '- \(pairs[0].keyText): { \(extra): … }')"
                )
            }
        default:
            throw error(at: item, "expected a \(kind) (a one-key mapping), found \(item.foundDescription)")
        }
        let keyword = keyNode.scalarText ?? ""
        guard keywords.contains(keyword) else {
            throw error(
                at: keyNode,
                "unknown \(kind) '\(YAMLNode.abbreviated(keyword))' \(Self.hint(for: keyword, among: keywords, listing: kind.split(separator: " ").last! + "s"))"
            )
        }
        return (keyword, keyNode, value)
    }

    private func decodeOperation(_ keyword: String, _ value: YAMLNode) throws(RunbookError) -> ChangeOperation {
        switch keyword {
        case "replace-policy":
            return .replacePolicy(try attachedFile(value, for: keyword))
        case "add-statements":
            return .addStatements(try attachedFile(value, for: keyword))
        case "add-principals":
            let m = try mapping(value, for: keyword, keys: ["sid", "principals"])
            return .addPrincipals(
                sid: try nonEmptyString(try required("sid", in: m), for: "sid"),
                principals: try stringList(try required("principals", in: m), for: "principals"))
        case "remove-statements":
            return .removeStatements(sids: try stringList(value, for: keyword))
        case "add-members", "remove-members":
            let m = try mapping(value, for: keyword, keys: ["role", "members"])
            let role = try nonEmptyString(try required("role", in: m), for: "role")
            let members = try stringList(try required("members", in: m), for: "members")
            return keyword == "add-members"
                ? .addMembers(role: role, members: members) : .removeMembers(role: role, members: members)
        case "add-access-policy":
            let m = try mapping(
                value, for: keyword,
                keys: ["object-id", "application-id", "tenant-id", "keys", "secrets", "certificates"])
            let entry = AccessPolicyEntry(
                objectID: try nonEmptyString(try required("object-id", in: m), for: "object-id"),
                applicationID: try optionalString("application-id", in: m),
                tenantID: try optionalString("tenant-id", in: m),
                keys: try m.value("keys").map { node throws(RunbookError) in try stringList(node, for: "keys") } ?? [],
                secrets: try m.value("secrets").map { node throws(RunbookError) in try stringList(node, for: "secrets") } ?? [],
                certificates: try m.value("certificates").map { node throws(RunbookError) in
                    try stringList(node, for: "certificates")
                } ?? [])
            guard !(entry.keys.isEmpty && entry.secrets.isEmpty && entry.certificates.isEmpty) else {
                throw error(at: m.node, "add-access-policy needs at least one of 'keys', 'secrets', 'certificates'")
            }
            return .addAccessPolicy(entry)
        case "remove-access-policy":
            let m = try mapping(value, for: keyword, keys: ["object-id", "application-id"])
            return .removeAccessPolicy(
                objectID: try nonEmptyString(try required("object-id", in: m), for: "object-id"),
                applicationID: try optionalString("application-id", in: m))
        default:  // add-role-assignment, remove-role-assignment
            let m = try mapping(value, for: keyword, keys: ["principal-id", "role", "scope"])
            let principal = try nonEmptyString(try required("principal-id", in: m), for: "principal-id")
            let role = try nonEmptyString(try required("role", in: m), for: "role")
            let scope = try m.value("scope").map { node throws(RunbookError) in
                try choice(node, for: "scope", as: RoleAssignmentScope.self)
            }
            if keyword == "add-role-assignment" {
                // Least privilege: a new assignment covers just the key unless the runbook says vault.
                return .addRoleAssignment(principalID: principal, role: role, scope: scope ?? .key)
            }
            return .removeRoleAssignment(principalID: principal, role: role, scope: scope)
        }
    }

    func optionalString(_ key: String, in m: CheckedMapping) throws(RunbookError) -> String? {
        try m.value(key).map { node throws(RunbookError) in try nonEmptyString(node, for: key) }
    }

    /// A file a change operation names: resolved against the runbook's
    /// folder, required to exist, read now (the core does no I/O).
    private func attachedFile(_ node: YAMLNode, for key: String) throws(RunbookError) -> AttachedFile {
        let written = try nonEmptyString(node, for: key)
        let path = FileAccess.absolute(written, in: folder)
        switch FileAccess.contents(of: path, limit: limits.attachedFileSize) {
        case .success(let data):
            return AttachedFile(path: path, contents: data)
        case .failure(.notFound):
            let looked = written.hasPrefix("/") ? "" : " (looked in \(folder))"
            throw error(at: node, "file '\(written)' not found\(looked)")
        case .failure(.isDirectory):
            throw error(at: node, "'\(written)' is a folder, not a file")
        case .failure(.tooLarge):
            throw error(at: node, "file '\(written)' is larger than \(YAMLParser.formatSize(limits.attachedFileSize))")
        case .failure(.unreadable(let reason)):
            throw error(at: node, "cannot read '\(written)': \(reason)")
        }
    }

    // MARK: Require

    private func decodeRequire(_ node: YAMLNode) throws(RunbookError) -> [Requirement] {
        var result: [Requirement] = []
        for item in try sequence(node, for: "require", nonEmpty: false) {
            let m = try mapping(item, for: "require", keys: ["principal", "actions", "preset"])
            let principal = try nonEmptyString(try required("principal", in: m), for: "principal")
            let actions = try m.value("actions").map { node throws(RunbookError) in try stringList(node, for: "actions") } ?? []
            let preset = try m.value("preset").map { node throws(RunbookError) in
                try decodePreset(node)
            }
            guard !actions.isEmpty || preset != nil else {
                throw error(at: m.node, "a require entry needs 'actions' or 'preset' (or both)")
            }
            result.append(Requirement(principal: principal, actions: actions, preset: preset, location: location(item.mark)))
        }
        return result
    }

    private func decodePreset(_ node: YAMLNode) throws(RunbookError) -> RequirementPreset {
        let text = try string(node, for: "preset")
        if let preset = RequirementPreset(rawValue: text) { return preset }
        let names = RequirementPreset.allCases.map(\.rawValue)
        throw error(
            at: node, "unknown preset '\(YAMLNode.abbreviated(text))' \(Self.hint(for: text, among: names, listing: "presets"))")
    }

    // MARK: Window

    private func decodeWindow(_ node: YAMLNode) throws(RunbookError) -> MaintenanceWindow {
        let m = try mapping(node, for: "window", keys: ["start", "end", "duration"])
        let startNode = try required("start", in: m)
        let start = try timestamp(startNode, for: "start")
        let startText = try string(startNode, for: "start")
        switch (m.pair("end"), m.pair("duration")) {
        case (.some, .some(let second)):
            throw error(at: second.key, "'window' takes 'end' or 'duration', not both")
        case (.some(let endPair), nil):
            let end = try timestamp(endPair.value, for: "end")
            guard end > start else {
                let endText = try string(endPair.value, for: "end")
                throw error(at: endPair.value, "the window's end (\(endText)) is not after its start (\(startText))")
            }
            return MaintenanceWindow(start: start, end: end)
        case (nil, .some(let durationPair)):
            let length = try duration(durationPair.value, for: "duration")
            return MaintenanceWindow(start: start, end: start.addingTimeInterval(length.seconds))
        case (nil, nil):
            throw error(at: m.node, "missing 'end' or 'duration' in 'window'")
        }
    }

    // MARK: Rollback

    private func decodeRollback(_ node: YAMLNode) throws(RunbookError) -> RollbackPolicy {
        let m = try mapping(node, for: "rollback", keys: ["automatic", "verify", "monitor"])
        var policy = RollbackPolicy()
        if let v = m.value("automatic") { policy.automatic = try bool(v, for: "automatic") }
        if let v = m.value("verify") { policy.verify = try bool(v, for: "verify") }
        if let v = m.value("monitor") { policy.monitor = try duration(v, for: "monitor") }
        return policy
    }
}
