import Foundation
import PolicyChange
import RunStore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

struct FakeError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// One test's world: a fresh conformance fake (Fake/azure_fake.py) with its
/// own vault, a work folder with the runbooks, and the product run against it.
final class AzureScenario: RunFolders, @unchecked Sendable {
    static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    static let clientID = "6b1d5e2c-3f4a-4b5c-8d9e-0f1a2b3c4d5e"
    static let clientSecret = "fake-client-secret-Q9x~7.vB2nR5tK8zW1"
    static let subscription = "00000000-0000-0000-0000-0000000000aa"
    static let vaultID = "/subscriptions/\(subscription)/resourceGroups/rg-kafka/providers/Microsoft.KeyVault/vaults/kv-kafka"
    static let admin = "a0a0a0a0-0000-4000-8000-000000000001"
    static let service = "ce2ce14e-85d7-4629-bdbc-454d0519d987"
    static let other = "b1b1b1b1-0000-4000-8000-000000000002"
    static let workspace = "63613592-b6f7-4c3d-a390-22ba13102111"
    static let allKeys = ["get", "list", "create", "update", "import", "delete", "backup", "restore", "recover", "purge", "encrypt",
                          "decrypt", "wrapKey", "unwrapKey", "sign", "verify"]

    let work: URL
    let state: URL
    let fakeDir: URL
    let fake: Child
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }
    private let launches = ProductLaunches()

    static func packageFile(_ relative: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(relative)
    }

    static func entry(_ oid: String, _ keys: [String]) -> [String: Any] {
        ["tenantId": tenant, "objectId": oid, "permissions": ["keys": keys, "secrets": ["get"], "certificates": []]]
    }

    static func assignment(_ principal: String, role: String, scope: String, name: String) -> [String: Any] {
        ["properties": ["roleDefinitionId": "/subscriptions/\(subscription)/providers/Microsoft.Authorization/roleDefinitions/\(role)",
                        "principalId": principal, "principalType": "User", "scope": scope],
         "id": "\(scope)/providers/Microsoft.Authorization/roleAssignments/\(name)",
         "type": "Microsoft.Authorization/roleAssignments", "name": name]
    }

    /// The vault as the fake serves it (before vaultUri is added).
    static func vault(rbac: Bool, policies: [[String: Any]]) -> [String: Any] {
        ["id": vaultID, "name": "kv-kafka", "type": "Microsoft.KeyVault/vaults", "location": "westeurope", "tags": [:] as [String: Any],
         "systemData": ["createdBy": "admin@example.com", "createdByType": "User", "createdAt": "2026-01-01T12:00:00.0000000Z"],
         "properties": ["sku": ["family": "A", "name": "standard"], "tenantId": tenant, "accessPolicies": policies,
                        "enabledForDeployment": false, "enableSoftDelete": true, "softDeleteRetentionInDays": 90,
                        "enablePurgeProtection": true, "enableRbacAuthorization": rbac,
                        "networkAcls": ["bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [] as [Any], "virtualNetworkRules": [] as [Any]],
                        "provisioningState": "Succeeded", "publicNetworkAccess": "Enabled"] as [String: Any]]
    }

    static func accessPolicyScenario() -> [String: Any] {
        // The other entry's names are spelled as the portal stores them: removing it
        // only works with that exact spelling (the fake matches removals case-sensitively).
        ["vault": vault(rbac: false, policies: [entry(admin, allKeys), entry(other, ["Get", "List"])])]
    }

    static func rbacScenario() -> [String: Any] {
        let owner = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", reader = "21090545-7ca7-4776-b22c-e363652d74d2"
        return ["vault": vault(rbac: true, policies: []),
                "roleAssignments": [
                    assignment(admin, role: owner, scope: vaultID, name: "0a000000-0000-4000-8000-000000000001"),
                    assignment(other, role: reader, scope: vaultID + "/keys/cmk", name: "0b000000-0000-4000-8000-000000000002"),
                    // Inherited from the subscription: listed by atScope(), not part of the snapshot.
                    assignment(other, role: reader, scope: "/subscriptions/\(subscription)", name: "0c000000-0000-4000-8000-000000000003"),
                ]]
    }

    init(_ scenario: [String: Any]) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pc-azure-e2e-\(UUID().uuidString.prefix(8))")
        work = root.appendingPathComponent("work")
        state = root.appendingPathComponent("state")
        fakeDir = root.appendingPathComponent("fake")
        for dir in [work, state, fakeDir] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        let fixtures = Self.packageFile("Fixtures")
        for name in try FileManager.default.contentsOfDirectory(atPath: fixtures.path) {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name), to: work.appendingPathComponent(name))
        }
        var full = scenario
        full["tenant"] = Self.tenant
        full["clientId"] = Self.clientID
        full["clientSecret"] = Self.clientSecret
        full["callerOid"] = Self.admin
        full["workspace"] = Self.workspace
        full["key"] = full["key"] ?? ["name": "cmk", "kty": "RSA-HSM", "enabled": true]
        let scenarioFile = fakeDir.appendingPathComponent("scenario.json")
        try JSONSerialization.data(withJSONObject: full).write(to: scenarioFile)
        KnownSecrets.add(Self.clientSecret)
        fake = try Child(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", Self.packageFile("Fake/azure_fake.py").path, "--scenario", scenarioFile.path, "--dir", fakeDir.path],
            environment: ProcessInfo.processInfo.environment, directory: fakeDir)
        let fake = self.fake
        guard let found = await Fake.port(in: fakeDir.appendingPathComponent("port"), while: { fake.isRunning }) else {
            fake.terminate()
            throw FakeError("the Azure fake did not start: \(await fake.wait(bound: .seconds(5)))")
        }
        port = found
    }

    deinit { fake.terminate() }

    func finish() {
        fake.terminate()
        // Not in the output, the journals, reports or backups; no token in the state directory either.
        Secrets.expectAbsent([Self.clientSecret], outputs: launches.outputs, folders: [state, work.appendingPathComponent("backups")])
        Secrets.expectAbsent(["eyJ"], what: "a token", outputs: [], folders: [state])
    }

    static func with(_ scenario: [String: Any], _ body: (AzureScenario) async throws -> Void) async throws {
        let s = try await AzureScenario(scenario)
        defer { s.finish() }
        try await body(s)
    }

    // MARK: Product

    func environment(secret: String? = nil, monitor: String = "2s") -> [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": work.path,
            "AZURE_TENANT_ID": Self.tenant, "AZURE_CLIENT_ID": Self.clientID, "AZURE_CLIENT_SECRET": secret ?? Self.clientSecret,
            "AZURE_AUTHORITY_HOST": base + "/",
            "VAULT_ID": Self.vaultID, "FAKE": base, "SERVICE": Self.service, "OTHER": Self.other, "WORKSPACE": Self.workspace,
            "MONITOR": monitor,
        ]
    }

    func start(_ arguments: [String], environment: [String: String]? = nil) throws -> Child {
        try launches.start(arguments, environment: environment ?? self.environment(), directory: work)
    }

    func product(_ arguments: [String], environment: [String: String]? = nil) async throws -> ChildResult {
        try await launches.run(arguments, environment: environment ?? self.environment(), directory: work, bound: .seconds(180))
    }

    func run(_ runbook: String, _ extra: [String] = [], environment: [String: String]? = nil) async throws -> ChildResult {
        try await product(["run", runbook, "--yes", "--state-dir", state.path] + extra, environment: environment)
    }

    // MARK: The fake, independently of the product

    func calls() -> [[String: Any]] {
        let text = (try? String(contentsOf: fakeDir.appendingPathComponent("calls.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { Inspect.jsonObject(String($0)) }
    }

    func operations() -> [String] { calls().map { $0["operation"] as? String ?? "?" } }

    /// Write calls: anything but GET, and never a token request.
    func writes() -> [[String: Any]] {
        calls().filter { ($0["method"] as? String) != "GET" && !["token", "query"].contains($0["operation"] as? String ?? "") }
    }

    @discardableResult
    func control(_ what: String, _ body: [String: Any] = [:]) async throws -> [String: Any] {
        var request = URLRequest(url: URL(string: "\(base)/_control/\(what)")!)
        request.httpMethod = what == "state" ? "GET" : "POST"
        if what != "state" { request.httpBody = try JSONSerialization.data(withJSONObject: body) }
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func liveVault() async throws -> [String: Any] { try await control("state")["vault"] as? [String: Any] ?? [:] }
    func liveAssignments() async throws -> [[String: Any]] { try await control("state")["assignments"] as? [[String: Any]] ?? [] }

    /// Access-policy entries as comparable strings (objectId + sorted lower-cased key permissions).
    static func entries(_ vault: [String: Any]) -> [String] {
        let list = ((vault["properties"] as? [String: Any])?["accessPolicies"] as? [[String: Any]]) ?? []
        return list.map { e in
            let keys = ((e["permissions"] as? [String: Any])?["keys"] as? [String] ?? []).map { $0.lowercased() }.sorted()
            return "\((e["objectId"] as? String ?? "").lowercased()):\(keys.joined(separator: ","))"
        }.sorted()
    }

    // MARK: Checks

    /// The backup (DESIGN §4): the vault as ARM returned it (plus roleAssignments
    /// in RBAC mode), mode 0600, SHA-256 in the journal, named azure-….json.
    func expectBackup(_ events: [JournalEvent], original: [String: Any], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let (_, data) = try expectBackupFile(events, cloud: "azure", sourceLocation: sourceLocation)
        let backup = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var expected = original
        var properties = expected["properties"] as? [String: Any] ?? [:]
        properties["vaultUri"] = "\(base)/"
        expected["properties"] = properties
        var compared = backup
        compared.removeValue(forKey: "roleAssignments")
        #expect(NSDictionary(dictionary: compared).isEqual(to: expected), "the backup must be the vault as ARM returned it: \(String(decoding: data, as: UTF8.self))", sourceLocation: sourceLocation)
    }

    /// No call ever wrote the whole vault or replaced the list.
    func expectNoWholeWrites(sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let ops = operations()
        #expect(!ops.contains("accessPolicies/replace"), "\(ops)", sourceLocation: sourceLocation)
        #expect(!ops.contains { $0.hasPrefix("Vaults_") && $0 != "Vaults_Get" }, "\(ops)", sourceLocation: sourceLocation)
    }
}
