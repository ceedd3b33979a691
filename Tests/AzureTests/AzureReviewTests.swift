import Foundation
import HTTP
import PolicyChange
import Synchronization
import Testing

@testable import Azure

/// A fixed token per audience, so provider tests see exactly which requests carry it.
struct FixedTokenSource: AzureTokenSource {
    var name: String { "fixed" }
    func fetchToken(for audience: AzureAudience) async throws -> AzureAccessToken {
        AzureAccessToken(token: "secret-bearer-token", expiresOn: Date().addingTimeInterval(3600))
    }
}

enum ReviewFixture {
    typealias X = AzureRuleExample

    static func provider(_ transport: ScriptedTransport, model: AzurePermissionModel? = nil) throws -> AzureKeyVaultProvider {
        let tokens = AzureTokenCache(source: FixedTokenSource())
        let arm = AzureAPI(service: "ARM", audience: .management, transport: transport, tokens: tokens)
        let dataPlane = AzureAPI(service: "Key Vault", audience: .vault, transport: transport, tokens: tokens)
        let target = AzureTarget(vault: X.vaultID, key: X.keyName, model: model)
        return AzureKeyVaultProvider(
            target: target, endpoints: try AzureEndpoints(overrides: [:]), arm: arm, dataPlane: dataPlane, tokens: tokens,
            dialect: AzureKeyVaultDialect(pinnedModel: model, keyName: X.keyName))
    }

    static func isList(_ r: HTTPRequest) -> Bool { r.url.path.hasSuffix("/roleAssignments") && r.method == .get }
}

@Suite("Azure review: paging role assignments")
struct AzurePagingReviewTests {
    typealias X = AzureRuleExample

    @Test("a nextLink to another host is refused and never receives the bearer token")
    func nextLinkOffHost() async throws {
        let transport = ScriptedTransport { request in
            if request.url.host != "management.azure.com" { return json(#"{"value":[]}"#) }
            if ReviewFixture.isList(request) {
                return json(#"{"value":[],"nextLink":"https://attacker.example/steal?x=1"}"#)
            }
            return json(X.vault(rbac: true))
        }
        let provider = try ReviewFixture.provider(transport)
        await #expect(throws: ProviderError.self) { _ = try await provider.readPolicy() }
        let offHost = transport.sent.filter { $0.url.host != "management.azure.com" }
        #expect(offHost.isEmpty, "sent to \(offHost.map(\.url))")
        do {
            _ = try await provider.readPolicy()
        } catch let error as ProviderError {
            #expect(error.message.contains("nextLink"))
            #expect(!error.message.contains("\n"))
            #expect(!error.message.contains("secret-bearer-token"))
        }
    }

    @Test("a list page without a 'value' array is an invalid answer, not 'no role assignments'")
    func pageWithoutValue() async throws {
        let transport = ScriptedTransport { request in
            if ReviewFixture.isList(request) { return json(#"{"value":{"id":"x"}}"#) }
            return json(X.vault(rbac: true))
        }
        let provider = try ReviewFixture.provider(transport)
        do {
            _ = try await provider.readPolicy()
            Issue.record("a malformed page read as an empty list")
        } catch let error as ProviderError {
            #expect(error.code == .invalidResponse && error.message.contains("value"), "\(error)")
        }
    }

    @Test("a nextLink that never ends is an error, not a silently truncated list of role assignments")
    func nextLinkLoop() async throws {
        let transport = ScriptedTransport { request in
            if ReviewFixture.isList(request) {
                return json(#"{"value":[],"nextLink":"https://management.azure.com\#(X.vaultID)/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$skiptoken=same"}"#)
            }
            return json(X.vault(rbac: true))
        }
        let provider = try ReviewFixture.provider(transport)
        await #expect(throws: ProviderError.self) { _ = try await provider.readPolicy() }
        #expect(transport.sent.filter(ReviewFixture.isList).count <= 101)
    }
}

/// ARM keeps one role assignment per principal, role and scope: a second PUT
/// under another name is 409 RoleAssignmentExists, whatever the condition.
@Suite("Azure review: assignments that differ only by their condition")
struct AzureConditionReviewTests {
    typealias X = AzureRuleExample
    static let role = "Key Vault Crypto Service Encryption User"
    static let conditional = X.assignment(X.service, role: X.encryptionUser, key: true, condition: "@Resource[x] StringEquals 'y'")
    static let conditionalName = X.encryptionUser  // AzureRuleExample names an assignment after its role

    /// ARM: the vault (no roleAssignments member), the assignments at each scope, 409 for a second
    /// assignment of the same principal, role and scope under another name.
    static func arm(atKeyScope: [String]) -> ScriptedTransport {
        ScriptedTransport { request in
            let path = request.url.path
            if request.method == .get && path.hasSuffix("/roleAssignments") {
                let items = path.contains("/keys/") ? atKeyScope : []
                return json(#"{"value":[\#(items.joined(separator: ","))]}"#)
            }
            if request.method == .get {
                guard case .object(let members) = try JSONParser.parse(Data(X.vault(rbac: true).utf8)).root else { throw ProviderError(.other, "x") }
                return json(JSONValue.object(members.filter { $0.key != "roleAssignments" }).serialized())
            }
            if request.method == .put && !atKeyScope.isEmpty && !path.hasSuffix("/\(conditionalName)") {
                return HTTPResponse(status: 409, body: Data(#"{"error":{"code":"RoleAssignmentExists","message":"The role assignment already exists."}}"#.utf8))
            }
            return json("{}")
        }
    }

    static func edit(_ vault: String, _ operations: [ChangeOperation]) throws -> PolicySnapshot {
        try AzureKeyVaultDialect(keyName: X.keyName).proposedPolicy(from: PolicySnapshot(text: vault), applying: operations)
    }

    @Test("add-role-assignment beside a conditional assignment of the same role: refused before any write, naming the condition")
    func addBesideConditional() async throws {
        let transport = Self.arm(atKeyScope: [Self.conditional])
        let provider = try ReviewFixture.provider(transport)
        let current = try await provider.readPolicy()
        let proposed = try Self.edit(current.text, [.addRoleAssignment(principalID: X.service, role: Self.role, scope: .key)])
        #expect(!AzureKeyVaultDialect().isEquivalent(current, proposed), "the edit proposes an unconditional assignment")
        do {
            try await provider.writePolicy(proposed, replacing: current)
            Issue.record("the write reported success, but ARM refused the assignment (409) and nothing changed")
        } catch let error as ProviderError {
            #expect(error.message.contains("condition"), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
        #expect(transport.sent.filter { $0.method != .get }.isEmpty, "\(transport.sent.map { "\($0.method) \($0.url.path)" })")
    }

    @Test("a condition dropped from an assignment is a PUT on the same assignment, never create-then-delete (which loses the role)")
    func conditionChangeUpdatesInPlace() async throws {
        let transport = Self.arm(atKeyScope: [Self.conditional])
        let provider = try ReviewFixture.provider(transport)
        let current = try await provider.readPolicy()
        let proposed = try Self.edit(current.text, [
            .removeRoleAssignment(principalID: X.service, role: Self.role, scope: .key),
            .addRoleAssignment(principalID: X.service, role: Self.role, scope: .key),
        ])
        try await provider.writePolicy(proposed, replacing: current)
        let writes = transport.sent.filter { $0.method != .get }
        #expect(writes.map(\.method) == [.put], "\(writes.map { "\($0.method) \($0.url.path)" })")
        #expect(writes.first?.url.path.hasSuffix("/keys/\(X.keyName)/providers/Microsoft.Authorization/roleAssignments/\(Self.conditionalName)") == true)
        let body = try JSONParser.parse(writes.first?.body ?? Data()).root
        #expect(body["properties"]?["condition"] == nil)
        #expect(body["properties"]?["principalId"]?.stringValue == X.service)
    }
}

@Suite("Azure review: Log Analytics partial results")
struct LogAnalyticsPartialReviewTests {
    /// A non-fatal query error is 200 OK with the rows found so far and an `error` member:
    /// the denials it may have missed must not read as "none".
    static let partial = """
        {"tables":[{"name":"PrimaryResult","columns":[{"name":"OperationName","type":"string"},{"name":"TimeGenerated","type":"datetime"},{"name":"ResultSignature","type":"string"}],"rows":[]}],
         "error":{"code":"PartialError","message":"There were some errors when processing your query.","details":[{"code":"EngineError","message":"Query exceeded the resources available"}]}}
        """

    @Test("a 200 answer carrying an error and no rows is inconclusive (a transient error), not a pass")
    func partialWithoutRows() async throws {
        let transport = ScriptedTransport { _ in json(Self.partial) }
        let tokens = AzureTokenCache(source: FixedTokenSource())
        let log = LogAnalyticsAuditLog(
            api: AzureAPI(service: "Log Analytics", audience: .logAnalytics, transport: transport, tokens: tokens),
            base: URL(string: "https://api.loganalytics.io")!, vaultID: AzureRuleExample.vaultID, keyName: "cmk")
        do {
            let events = try await log.accessDeniedEvents(since: Date(timeIntervalSince1970: 0), until: Date(), check: AuditLogCheck(workspace: "w"))
            Issue.record("a partial answer read as \(events.count) denials")
        } catch let error as ProviderError {
            #expect(error.isTransient, "\(error.code)")
            #expect(error.message.contains("PartialError") && !error.message.contains("\n"), "\(error.message)")
        }
    }

    @Test("denials found in a partial answer are still reported")
    func partialWithRows() throws {
        let text = Self.partial.replacingOccurrences(of: #""rows":[]"#, with: #""rows":[["KeyUnwrap","2026-11-22T10:00:00Z","Forbidden"]]"#)
        #expect(try LogAnalyticsAuditLog.events(JSONParser.parse(text).root).count == 1)
    }
}

/// What rollback and resume accept as this run's own half-written state: nothing someone else could have done.
@Suite("Azure review: a part-way delta write, told apart from someone else's change")
struct AzurePartialWriteReviewTests {
    typealias X = AzureRuleExample
    static let admin = X.entry(X.admin, keys: ["all"])
    static let other = "b1b1b1b1-0000-4000-8000-000000000002"
    static let start = X.vault([admin, X.entry(other, keys: ["Get", "List"])])
    static let target = X.vault([admin, X.entry(X.service, keys: ["get", "wrapKey", "unwrapKey"])])

    static func partial(_ live: String, from start: String = start, to target: String = target) -> Bool {
        AzureKeyVaultDialect().isPartialWrite(PolicySnapshot(text: live), from: PolicySnapshot(text: start), to: PolicySnapshot(text: target))
    }

    @Test("states the deltas pass through are partial writes")
    func between() {
        #expect(Self.partial(X.vault([Self.admin, X.entry(Self.other, keys: ["Get", "List"]), X.entry(X.service, keys: ["get", "wrapKey", "unwrapKey"])])))
        #expect(Self.partial(X.vault([Self.admin, X.entry(Self.other, keys: ["Get", "List"]), X.entry(X.service, keys: ["get"])])))
        #expect(Self.partial(X.vault([Self.admin])))
        // A narrowed entry after `remove` and before `add`.
        let narrowed = X.vault([X.entry(X.admin, keys: ["get", "wrapKey"])])
        #expect(Self.partial(X.vault([X.entry(X.admin, keys: ["get"])]), from: X.vault([X.entry(X.admin, keys: ["get", "list"])]), to: narrowed))
        // Role assignments: the new one created, the old one not yet deleted.
        let a = X.assignment(X.admin, role: X.owner), b = X.assignment(X.service, role: X.encryptionUser, key: true)
        #expect(Self.partial(X.vault(rbac: true, assignments: [a, b]), from: X.vault(rbac: true, assignments: [a]), to: X.vault(rbac: true, assignments: [b])))
    }

    @Test("someone else's change is not: an entry the write leaves alone, a permission neither side has, a new identity, another property")
    func notBetween() {
        #expect(!Self.partial(X.vault([X.entry(X.admin, keys: ["get"]), X.entry(X.service, keys: ["get", "wrapKey", "unwrapKey"])])))
        #expect(!Self.partial(X.vault([Self.admin, X.entry(X.service, keys: ["get", "wrapKey", "unwrapKey", "decrypt"])])))
        #expect(!Self.partial(X.vault([Self.admin, X.entry(X.service, keys: ["get"]), X.entry("c3c3c3c3-0000-4000-8000-000000000003", keys: ["get"])])))
        #expect(!Self.partial(X.vault([Self.admin, X.entry(X.service, keys: ["get"])], purgeProtection: false)))
        #expect(!Self.partial(X.vault([Self.admin, X.entry(X.service, keys: ["get"], tenant: "00000000-0000-0000-0000-0000000000ff")])))
        let a = X.assignment(X.admin, role: X.owner), b = X.assignment(X.service, role: X.encryptionUser, key: true)
        let c = X.assignment(X.service, role: X.reader)
        #expect(!Self.partial(X.vault(rbac: true, assignments: [b]), from: X.vault(rbac: true, assignments: [a, c]), to: X.vault(rbac: true, assignments: [a, b])), "an untouched assignment is gone")
        #expect(!Self.partial(X.vault(rbac: true, assignments: [a, b, c]), from: X.vault(rbac: true, assignments: [a]), to: X.vault(rbac: true, assignments: [a, b])), "an assignment nobody asked for")
        // Other clouds write in one call: never partial.
        #expect(!AWSKeyPolicyDialect().isPartialWrite(PolicySnapshot(text: "{}"), from: PolicySnapshot(text: "{}"), to: PolicySnapshot(text: "{}")))
    }
}

@Suite("Azure review: the provider's own re-read before writing")
struct AzureStaleWriteReviewTests {
    typealias X = AzureRuleExample

    @Test("a vault that changed since the caller's read is not written: concurrentModification, no PUT")
    func staleExpectation() async throws {
        let other = "b1b1b1b1-0000-4000-8000-000000000002"
        let read = X.vault([X.entry(X.admin, keys: ["all"])])
        // Someone else added an entry after that read.
        let live = X.vault([X.entry(X.admin, keys: ["all"]), X.entry(other, keys: ["get"])])
        let transport = ScriptedTransport { request in request.method == .get ? json(live) : json("{}") }
        let provider = try ReviewFixture.provider(transport)
        let proposed = X.vault([X.entry(X.admin, keys: ["all"]), X.entry(X.service, keys: ["get", "wrapKey", "unwrapKey"])])
        do {
            try await provider.writePolicy(PolicySnapshot(text: proposed), replacing: PolicySnapshot(text: read))
            Issue.record("wrote over a change made after the read")
        } catch let error as ProviderError {
            #expect(error.code == .concurrentModification)
        }
        #expect(transport.sent.allSatisfy { $0.method == .get }, "\(transport.sent.map { "\($0.method) \($0.url.path)" })")
    }
}

@Suite("Azure review: cloud error text on one line")
struct AzureErrorTextReviewTests {
    @Test("control characters in an error message (CR, ESC, TAB) never reach the one-line message")
    func controlCharacters() {
        let body = Data(#"{"error":{"code":"BadRequest","message":"bad\r\nrequest\u001b[2K\rAll good\tdone"}}"#.utf8)
        let error = AzureErrorResponse(status: 400, body: body).providerError(service: "ARM", operation: "get vault")
        #expect(!error.message.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(error.message.debugDescription)")
        #expect(error.message.contains("bad") && error.message.contains("All good"))
    }
}

@Suite("Azure review: what a DELETE may be sent to")
struct AzureDeleteTargetReviewTests {
    typealias X = AzureRuleExample

    @Test("a listed assignment whose id is not a role assignment at its scope is never deleted (here: the vault's own id)")
    func deleteOnlyRoleAssignments() async throws {
        let odd = #"{"id":"\#(X.vaultID)","name":"x","type":"Microsoft.Authorization/roleAssignments","properties":{"roleDefinitionId":"/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/\#(X.reader)","principalId":"\#(X.service)","scope":"\#(X.vaultID)"}}"#
        let transport = ScriptedTransport { request in
            let path = request.url.path
            if request.method == .get && path.hasSuffix("/roleAssignments") {
                return json(#"{"value":[\#(path.contains("/keys/") ? "" : odd)]}"#)
            }
            if request.method == .get {
                guard case .object(let members) = try JSONParser.parse(Data(X.vault(rbac: true).utf8)).root else { throw ProviderError(.other, "x") }
                return json(JSONValue.object(members.filter { $0.key != "roleAssignments" }).serialized())
            }
            return json("{}")
        }
        let provider = try ReviewFixture.provider(transport)
        let current = try await provider.readPolicy()
        let proposed = try AzureKeyVaultDialect(keyName: X.keyName).proposedPolicy(
            from: current, applying: [.removeRoleAssignment(principalID: X.service, role: "Key Vault Reader", scope: nil)])
        await #expect(throws: ProviderError.self) { try await provider.writePolicy(proposed, replacing: current) }
        #expect(transport.sent.allSatisfy { $0.method == .get }, "\(transport.sent.map { "\($0.method) \($0.url.path)" })")
    }
}

@Suite("Azure review: a token refused mid-run")
struct AzureTokenRefusedReviewTests {
    final class Counting: AzureTokenSource, @unchecked Sendable {
        let fetches = Mutex(0)
        var name: String { "counting" }
        func fetchToken(for audience: AzureAudience) async throws -> AzureAccessToken {
            let n = fetches.withLock { c in c += 1; return c }
            return AzureAccessToken(token: "token-\(n)", expiresOn: Date().addingTimeInterval(3600))
        }
    }

    @Test("a 401 (token revoked or expired early) is retried once with a fresh token; the cached one is dropped")
    func retriedWithFreshToken() async throws {
        let transport = ScriptedTransport { request in
            let auth = request.headers.first(name: "Authorization") ?? ""
            if auth == "Bearer token-1" {
                return HTTPResponse(status: 401, body: Data(#"{"error":{"code":"ExpiredAuthenticationToken","message":"The access token expiry UTC time is earlier than current UTC time."}}"#.utf8))
            }
            return json(#"{"ok":true}"#)
        }
        let source = Counting()
        let api = AzureAPI(service: "ARM", audience: .management, transport: transport, tokens: AzureTokenCache(source: source))
        let answer = try await api.json(.get, URL(string: "https://management.azure.com/x")!, operation: "get vault")
        #expect(answer["ok"] == .bool(true))
        #expect(source.fetches.withLock { $0 } == 2)
        // The fresh token is the one cached from now on.
        _ = try await api.json(.get, URL(string: "https://management.azure.com/y")!, operation: "get vault")
        #expect(source.fetches.withLock { $0 } == 2)
        #expect(transport.sent.count == 3)
    }

    @Test("a second 401 is an authentication error, not a loop")
    func secondRefusal() async throws {
        let transport = ScriptedTransport { _ in
            HTTPResponse(status: 401, body: Data(#"{"error":{"code":"InvalidAuthenticationToken","message":"no"}}"#.utf8))
        }
        let api = AzureAPI(service: "ARM", audience: .management, transport: transport, tokens: AzureTokenCache(source: Counting()))
        await #expect(throws: ProviderError.self) { _ = try await api.json(.get, URL(string: "https://management.azure.com/x")!, operation: "get vault") }
        #expect(transport.sent.count == 2)
    }
}

@Suite("Azure review: where the Key Vault token may go")
struct AzureVaultURIReviewTests {
    typealias X = AzureRuleExample

    static func transport(vaultUri: String) -> ScriptedTransport {
        ScriptedTransport { request in
            if request.url.host == "management.azure.com" {
                return json(X.vault().replacingOccurrences(of: "https://kv1.vault.azure.net/", with: vaultUri))
            }
            return json(#"{"key":{"kid":"https://kv1.vault.azure.net/keys/cmk/1","kty":"RSA-HSM"},"attributes":{"enabled":true}}"#)
        }
    }

    @Test("a vaultUri outside the Key Vault domains never receives the data-plane token (it is good for every vault)")
    func offDomain() async throws {
        let transport = Self.transport(vaultUri: "https://collector.example.com/")
        let provider = try ReviewFixture.provider(transport)
        do {
            _ = try await provider.describeKey()
            Issue.record("the key was read through collector.example.com")
        } catch let error as ProviderError {
            #expect(error.message.contains("collector.example.com") && error.message.contains("endpoints.vault"), "\(error.message)")
        }
        #expect(transport.sent.allSatisfy { $0.url.host == "management.azure.com" }, "\(transport.sent.map(\.url))")
    }

    @Test("Key Vault domains of every cloud, managed HSM and loopback are used as before", arguments: [
        "https://kv1.vault.azure.net/", "https://kv1.vault.azure.cn/", "https://kv1.vault.usgovcloudapi.net/", "https://kv1.VAULT.AZURE.NET",
        "https://hsm1.managedhsm.azure.net/", "http://127.0.0.1:8443/",
    ])
    func keyVaultDomains(_ uri: String) async throws {
        let transport = Self.transport(vaultUri: uri)
        let key = try await ReviewFixture.provider(transport).describeKey()
        #expect(key.enabled)
    }
}

@Suite("Azure review: the audit query keeps only denials")
struct LogAnalyticsQueryReviewTests {
    @Test("the KQL keeps Key Vault AuditEvent rows answered Forbidden/403 (the fake does not evaluate these clauses)")
    func forbiddenOnly() {
        let q = LogAnalyticsAuditLog.query(vault: "kv", key: "cmk", since: Date(timeIntervalSince1970: 0), until: Date(timeIntervalSince1970: 60))
        let lines = q.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains(#"| where ResourceProvider == "MICROSOFT.KEYVAULT" and Category == "AuditEvent""#), "\(q)")
        #expect(lines.contains(#"| where ResultSignature == "Forbidden" or ResultType == "Forbidden" or httpStatusCode_d == 403"#), "\(q)")
    }
}

@Suite("Azure review: write order")
struct AzureWriteOrderReviewTests {
    typealias X = AzureRuleExample

    @Test("a principal moved from one role to another is granted the new one before the old one is deleted")
    func createBeforeDelete() async throws {
        let old = X.assignment(X.service, role: X.cryptoUser)
        let transport = ScriptedTransport { request in
            let path = request.url.path
            if request.method == .get && path.hasSuffix("/roleAssignments") {
                return json(#"{"value":[\#(path.contains("/keys/") ? "" : old)]}"#)
            }
            if request.method == .get {
                guard case .object(let members) = try JSONParser.parse(Data(X.vault(rbac: true).utf8)).root else { throw ProviderError(.other, "x") }
                return json(JSONValue.object(members.filter { $0.key != "roleAssignments" }).serialized())
            }
            return json("{}")
        }
        let provider = try ReviewFixture.provider(transport)
        let current = try await provider.readPolicy()
        let proposed = try AzureKeyVaultDialect(keyName: X.keyName).proposedPolicy(from: current, applying: [
            .removeRoleAssignment(principalID: X.service, role: "Key Vault Crypto User", scope: nil),
            .addRoleAssignment(principalID: X.service, role: "Key Vault Crypto Service Encryption User", scope: .key),
        ])
        try await provider.writePolicy(proposed, replacing: current)
        let writes = transport.sent.filter { $0.method != .get }.map(\.method)
        #expect(writes == [.put, .delete], "\(writes)")
    }
}

@Suite("Azure review: a restore retried after part of it landed")
struct AzureRetriedRestoreReviewTests {
    typealias X = AzureRuleExample

    @Test("the vault already moved part or all of the way to the target: the write carries on from there instead of refusing")
    func carriesOn() async throws {
        let other = "b1b1b1b1-0000-4000-8000-000000000002"
        let backup = X.vault([X.entry(X.admin, keys: ["all"]), X.entry(other, keys: ["get"])])
        // What the rollback read: the forward write had added the service and not yet removed OTHER.
        let readByRollback = X.vault([X.entry(X.admin, keys: ["all"]), X.entry(other, keys: ["get"]), X.entry(X.service, keys: ["get", "wrapKey"])])
        // The first restore attempt's remove landed, its answer was lost: live is the backup already.
        let transport = ScriptedTransport { request in request.method == .get ? json(backup) : json("{}") }
        let provider = try ReviewFixture.provider(transport)
        try await provider.writePolicy(PolicySnapshot(text: backup), replacing: PolicySnapshot(text: readByRollback))
        #expect(transport.sent.allSatisfy { $0.method == .get }, "nothing left to write: \(transport.sent.map { "\($0.method) \($0.url.path)" })")
    }
}

@Suite("Azure review: access-policy deltas that ARM accepts without applying")
struct AzureSilentNoOpReviewTests {
    typealias X = AzureRuleExample

    @Test("accessPolicies/remove answered 200 but nothing removed: the write reports it instead of 'applied'")
    func silentNoOp() async throws {
        let live = X.vault([X.entry(X.admin, keys: ["all"]), X.entry(X.service, keys: ["get", "wrapKey", "unwrapKey", "decrypt"])])
        // ARM answers every PUT 200 and changes nothing (a differently spelled name is a silent no-op).
        let transport = ScriptedTransport { request in request.method == .get ? json(live) : json("{}") }
        let provider = try ReviewFixture.provider(transport)
        let proposed = X.vault([X.entry(X.admin, keys: ["all"]), X.entry(X.service, keys: ["get", "wrapKey", "unwrapKey"])])
        do {
            try await provider.writePolicy(PolicySnapshot(text: proposed), replacing: PolicySnapshot(text: live))
            Issue.record("reported success while the vault still grants decrypt")
        } catch let error as ProviderError {
            #expect(error.message.contains("access polic") && error.message.contains("(entries for \(X.service))"), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }
}
