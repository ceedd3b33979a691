import Foundation
import HTTP
import PolicyChange
import Synchronization
import Testing

@testable import Azure

/// A transport that answers from a closure and records what it was sent.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    let requests = Mutex<[HTTPRequest]>([])
    let answer: @Sendable (HTTPRequest) throws -> HTTPResponse
    init(_ answer: @escaping @Sendable (HTTPRequest) throws -> HTTPResponse) { self.answer = answer }
    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        requests.withLock { $0.append(request) }
        return try answer(request)
    }
    var sent: [HTTPRequest] { requests.withLock { $0 } }
}

func fixture(_ path: String) throws -> Data {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(path)", withExtension: nil))
    return try Data(contentsOf: url)
}

func json(_ text: String) -> HTTPResponse { HTTPResponse(status: 200, body: Data(text.utf8)) }

@Suite("Azure: errors from the fixtures")
struct AzureErrorMappingTests {
    static let cases: [(String, Int, ProviderError.Code, String)] = [
        ("errors/arm-400-PrincipalNotFound.json", 400, .other, "PrincipalNotFound"),
        ("errors/arm-403-AuthorizationFailed.json", 403, .accessDenied, "AuthorizationFailed"),
        ("errors/arm-404-ResourceNotFound.json", 404, .notFound, "ResourceNotFound"),
        ("errors/arm-409-RoleAssignmentExists.json", 409, .concurrentModification, "RoleAssignmentExists"),
        ("errors/arm-429-throttled.json", 429, .throttled, "TooManyRequests"),
        ("errors/keyvault-dataplane-401-challenge.json", 401, .authentication, "Unauthorized"),
        ("errors/keyvault-dataplane-403.json", 403, .accessDenied, "Forbidden"),
        ("errors/loganalytics-400.json", 400, .other, "BadArgumentError"),
    ]

    @Test("each documented error maps to its ProviderError code, keeping the service code", arguments: 0..<cases.count)
    func mapping(_ i: Int) throws {
        let (file, status, code, service) = Self.cases[i]
        let root = try JSONParser.parse(try fixture(file)).root
        // Some fixtures wrap the body with its status and headers.
        let raw = try fixture(file)
        let body = root["body"].map { Data($0.serialized().utf8) } ?? raw
        let error = AzureErrorResponse(status: status, body: body).providerError(service: "ARM", operation: "get vault")
        #expect(error.code == code, "\(file): \(error)")
        #expect(error.serviceCode == service)
        #expect(error.httpStatus == status)
        #expect(!error.message.contains("\n"))
    }

    @Test("429 with Retry-After is retried by the transport, then the call succeeds")
    func throttledThenOK() async throws {
        let calls = Mutex(0)
        let base = ScriptedTransport { request in
            let n = calls.withLock { c in c += 1; return c }
            if request.url.path.contains("oauth2") {
                return json(#"{"token_type":"Bearer","expires_in":3599,"access_token":"a.eyJvaWQiOiJ4In0.c"}"#)
            }
            if n == 2 { return HTTPResponse(status: 429, headers: ["Retry-After": "0"], body: Data(#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#.utf8)) }
            return json(#"{"ok":true}"#)
        }
        let retrying = RetryingTransport(wrapping: base, policy: RetryPolicy(baseDelay: .milliseconds(1)), logger: .init(label: "t"))
        let tokens = AzureTokenCache(source: ClientCredentialSource(
            authority: URL(string: "https://login.example")!, tenantID: "t", clientID: "c", secret: .clientSecret("s"), transport: base))
        let api = AzureAPI(service: "ARM", audience: .management, transport: retrying, tokens: tokens)
        let answer = try await api.json(.get, URL(string: "https://management.example/x")!, operation: "get")
        #expect(answer["ok"] == .bool(true))
        #expect(base.sent.count == 3)
    }
}

@Suite("Azure: tokens")
struct AzureTokenTests {
    static let secret = "very-secret-value~42"

    @Test("client secret: the fixture's request shape; a bad secret is one line with the AADSTS code and no secret")
    func clientSecret() async throws {
        let error = try fixture("auth/token.error.invalid_client.json")
        let transport = ScriptedTransport { _ in HTTPResponse(status: 401, body: error) }
        let source = ClientCredentialSource(
            authority: URL(string: "https://login.microsoftonline.com/")!, tenantID: "tenant-1", clientID: "client-1",
            secret: .clientSecret(Self.secret), transport: transport)
        do {
            _ = try await source.fetchToken(for: .management)
            Issue.record("expected an error")
        } catch let e as ProviderError {
            #expect(e.code == .authentication)
            #expect(e.serviceCode == "AADSTS7000215")
            #expect(e.message.contains("AADSTS7000215: Invalid client secret provided."), "\(e.message)")
            #expect(!e.message.contains("\n") && !e.message.contains(Self.secret) && !e.message.contains("Trace ID"))
        }
        let request = try #require(transport.sent.first)
        #expect(request.method == .post)
        #expect(request.url.absoluteString == "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token")
        #expect(request.headers.first(name: "Content-Type") == "application/x-www-form-urlencoded")
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body == "client_id=client-1&scope=https%3A%2F%2Fmanagement.azure.com%2F.default&client_secret=very-secret-value~42&grant_type=client_credentials")
        #expect(!Redactor.standard.redact(body).contains(Self.secret), "the redactor hides the form's secret")
    }

    @Test("workload identity: the assertion file is re-read for every token request")
    func federated() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fed-\(UUID().uuidString)").path
        try "first-assertion".write(toFile: file, atomically: true, encoding: .utf8)
        let transport = ScriptedTransport { _ in json(#"{"token_type":"Bearer","expires_in":3599,"access_token":"t"}"#) }
        let source = ClientCredentialSource(
            authority: URL(string: "https://login.example/")!, tenantID: "t", clientID: "c", secret: .assertionFile(file), transport: transport)
        _ = try await source.fetchToken(for: .vault)
        try "second-assertion".write(toFile: file, atomically: true, encoding: .utf8)
        _ = try await source.fetchToken(for: .vault)
        let bodies = transport.sent.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies[0] == "client_id=c&scope=https%3A%2F%2Fvault.azure.net%2F.default&grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=first-assertion")
        #expect(bodies[1].hasSuffix("client_assertion=second-assertion"))
    }

    @Test("IMDS: resource= not scope, Metadata: true, api-version 2018-02-01; string numbers parsed")
    func imds() async throws {
        let response = try fixture("auth/managed-identity.imds.response.json")
        let transport = ScriptedTransport { _ in HTTPResponse(status: 200, body: response) }
        let source = ManagedIdentitySource(kind: .imds(base: URL(string: "http://169.254.169.254")!), clientID: nil, transport: transport)
        let token = try await source.fetchToken(for: .management)
        #expect(token.expiresOn == Date(timeIntervalSince1970: 1506484173))
        let request = try #require(transport.sent.first)
        #expect(request.url.absoluteString == "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F")
        #expect(request.headers.first(name: "Metadata") == "true")
    }

    @Test("App Service managed identity: IDENTITY_ENDPOINT with X-IDENTITY-HEADER, api-version 2019-08-01")
    func appService() async throws {
        let transport = ScriptedTransport { _ in json(#"{"access_token":"t","expires_on":"1906484173","resource":"https://vault.azure.net/","token_type":"Bearer"}"#) }
        let env = AzureEnvironment(["IDENTITY_ENDPOINT": "http://127.0.0.1:41234/msi/token", "IDENTITY_HEADER": "hdr-secret"])
        let source = try env.tokenSource(transport: transport, metadataTransport: transport)
        _ = try await source.fetchToken(for: .vault)
        let request = try #require(transport.sent.first)
        #expect(request.url.absoluteString == "http://127.0.0.1:41234/msi/token?resource=https%3A%2F%2Fvault.azure.net%2F&api-version=2019-08-01")
        #expect(request.headers.first(name: "X-IDENTITY-HEADER") == "hdr-secret")
    }

    @Test("nothing configured: one error naming every place looked")
    func nothingConfigured() async throws {
        let transport = ScriptedTransport { _ in throw HTTPError.connectFailed }
        let source = try AzureEnvironment([:]).tokenSource(transport: transport, metadataTransport: transport)
        await #expect {
            _ = try await source.fetchToken(for: .management)
        } throws: { error in
            let message = (error as? ProviderError)?.message ?? ""
            return message.hasPrefix("no Azure credentials: looked in")
                && ["AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "IMDS"].allSatisfy(message.contains)
        }
        #expect(throws: ProviderError.self) { try AzureEnvironment(["AZURE_CLIENT_SECRET": "x"]).tokenSource(transport: transport, metadataTransport: transport) }
    }

    @Test("one token per audience, shared by concurrent callers, refreshed within five minutes of expiry")
    func cache() async throws {
        final class Counter: Sendable { let value = Mutex(0) }
        let counter = Counter()
        struct Counting: AzureTokenSource {
            let counter: Counter
            let lifetime: TimeInterval
            var name: String { "counting" }
            func fetchToken(for audience: AzureAudience) async throws -> AzureAccessToken {
                counter.value.withLock { $0 += 1 }
                try await Task.sleep(for: .milliseconds(50))
                return AzureAccessToken(token: audience.rawValue, expiresOn: Date().addingTimeInterval(lifetime))
            }
        }
        let cache = AzureTokenCache(source: Counting(counter: counter, lifetime: 3600))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 { group.addTask { _ = try await cache.token(for: .management) } }
            try await group.waitForAll()
        }
        #expect(counter.value.withLock { $0 } == 1)
        _ = try await cache.token(for: .vault)
        #expect(counter.value.withLock { $0 } == 2)
        let short = AzureTokenCache(source: Counting(counter: counter, lifetime: 200))
        _ = try await short.token(for: .management)
        _ = try await short.token(for: .management)
        #expect(counter.value.withLock { $0 } == 4, "a token expiring within 5 minutes is fetched again")
    }

    @Test("callerIdentity reads the oid claim of the ARM token")
    func oid() {
        let payload = Data(#"{"aud":"https://management.azure.com/","oid":"a0a0a0a0-0000-4000-8000-000000000001"}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        #expect(JWTClaims.string("oid", in: "e30.\(payload).sig") == "a0a0a0a0-0000-4000-8000-000000000001")
        #expect(JWTClaims.string("oid", in: "not-a-jwt") == nil)
    }
}

@Suite("Azure: deltas")
struct AzureDeltaPlanTests {
    typealias X = AzureRuleExample

    /// ARM's accessPolicies semantics: add = union per category (or a new
    /// entry); remove = subtract (`wholeEntry`: drop the identity's entry).
    static func apply(_ plan: AzureDeltaPlan, to vault: AzureVaultSnapshot, removeDropsWholeEntry: Bool) -> [String: [String: Set<String>]] {
        var state: [String: [String: Set<String>]] = [:]
        for e in vault.accessPolicies { state[e.identity] = e.permissions.mapValues(AzureVaultSnapshot.permissionSet) }
        for step in plan.accessPolicySteps {
            for entry in step.entries {
                let e = AzureVaultSnapshot(.object([JSONMember("properties", .object([JSONMember("accessPolicies", .array([entry]))]))])).accessPolicies[0]
                let perms = e.permissions.mapValues(AzureVaultSnapshot.permissionSet)
                switch step.operation {
                case .add: state[e.identity, default: [:]].merge(perms) { $0.union($1) }
                case .remove:
                    if removeDropsWholeEntry { state[e.identity] = nil; continue }
                    guard var have = state[e.identity] else { continue }
                    for (c, p) in perms { have[c] = have[c]?.subtracting(p) }
                    state[e.identity] = have.values.allSatisfy(\.isEmpty) ? nil : have
                }
            }
        }
        return state.mapValues { $0.filter { !$0.value.isEmpty } }
    }

    static func expected(_ vault: AzureVaultSnapshot) -> [String: [String: Set<String>]] {
        Dictionary(uniqueKeysWithValues: vault.accessPolicies.map { ($0.identity, $0.permissions.mapValues(AzureVaultSnapshot.permissionSet).filter { !$0.value.isEmpty }) })
    }

    @Test("a changed entry ends up exactly as proposed, whether remove subtracts or drops the entry", arguments: [false, true])
    func changedEntry(_ removeDropsWholeEntry: Bool) throws {
        let live = AzureVaultSnapshot(try JSONParser.parse(X.vault([
            X.entry(X.admin, keys: ["all"]), X.entry(X.service, keys: ["get", "wrapKey", "unwrapKey", "decrypt"]), X.entry(X.reader, keys: ["get"]),
        ])).root)
        let proposed = AzureVaultSnapshot(try JSONParser.parse(X.vault([
            X.entry(X.admin, keys: ["all"]), X.entry(X.service, keys: ["GET", "wrapKey", "unwrapKey", "sign"]), X.entry(X.cryptoUser, keys: ["get"]),
        ])).root)
        let plan = AzureDeltaPlan(from: live, to: proposed)
        #expect(plan.accessPolicySteps.map(\.operation) == [.add, .remove, .add, .remove])
        // Removals carry the live spelling (remove matches case-sensitively).
        #expect(plan.accessPolicySteps[1].entries.first?["permissions"]?["keys"] == .array([.string("decrypt")]))
        // Only changing entries travel: never the admin's.
        let objects = plan.accessPolicySteps.flatMap { $0.entries.compactMap { $0["objectId"]?.stringValue } }
        #expect(!objects.contains(X.admin))
        #expect(Self.apply(plan, to: live, removeDropsWholeEntry: removeDropsWholeEntry) == Self.expected(proposed))
        // And the inverse plan (rollback) restores the original.
        let inverse = AzureDeltaPlan(from: proposed, to: live)
        #expect(Self.apply(inverse, to: proposed, removeDropsWholeEntry: removeDropsWholeEntry) == Self.expected(live))
    }

    @Test("the official examples: getVault parses into a snapshot; an add body has updateAccessPoliciesAdd's shape")
    func officialShapes() throws {
        let get = try JSONParser.parse(try fixture("keyvault-arm-2025-05-01/getVault.json")).root
        let vaultJSON = try #require(get["responses"]?["200"]?["body"])
        let vault = AzureVaultSnapshot(vaultJSON)
        #expect(vault.accessPolicies.count == 1 && vault.model == .accessPolicy && vault.subscriptionID == "00000000-0000-0000-0000-000000000000")
        let add = try JSONParser.parse(try fixture("keyvault-arm-2025-05-01/updateAccessPoliciesAdd.json")).root
        let documented = try #require(add["parameters"]?["parameters"])
        let proposedEntry = try #require(documented["properties"]?["accessPolicies"]?.arrayValue?.first)
        let proposedRoot = JSONValue.object([JSONMember("id", vaultJSON["id"] ?? .null), JSONMember("properties", .object([
            JSONMember("tenantId", .string("00000000-0000-0000-0000-000000000000")),
            JSONMember("accessPolicies", .array([proposedEntry])),
        ]))])
        let emptyRoot = JSONValue.object([JSONMember("id", vaultJSON["id"] ?? .null), JSONMember("properties", .object([
            JSONMember("tenantId", .string("00000000-0000-0000-0000-000000000000")), JSONMember("accessPolicies", .array([])),
        ]))])
        let plan = AzureDeltaPlan(from: AzureVaultSnapshot(emptyRoot), to: AzureVaultSnapshot(proposedRoot))
        let body = try #require(plan.accessPolicySteps.first?.body)
        #expect(AzureVaultSnapshot.canonicalJSON(body) == AzureVaultSnapshot.canonicalJSON(documented), "\(body.serialized())")
    }

    @Test("the official examples' vaults have no wrongly typed member (INVALID_POLICY_ELEMENT stays silent)",
          arguments: ["getVault.json", "updateVault.json", "createVaultWithNetworkAcls.json"])
    func officialShapesAreValid(_ name: String) throws {
        let example = try JSONParser.parse(try fixture("keyvault-arm-2025-05-01/\(name)")).root
        let body = try #require(example["responses"]?["200"]?["body"])
        #expect(AzureVaultSnapshot.shapeProblems(body).isEmpty, "\(AzureVaultSnapshot.shapeProblems(body))")
        let findings = AzureKeyVaultDialect().analyze(AnalysisRequest(current: PolicySnapshot(text: body.serialized()), proposed: PolicySnapshot(text: body.serialized())))
        #expect(!findings.contains { $0.code == "INVALID_POLICY_ELEMENT" }, "\(findings)")
    }

    @Test("an entry whose tenant changes is removed and added again, never replaced in a list")
    func tenantChange() throws {
        let live = AzureVaultSnapshot(try JSONParser.parse(X.vault([X.entry(X.service, keys: ["get"], tenant: "00000000-0000-0000-0000-000000000009")])).root)
        let proposed = AzureVaultSnapshot(try JSONParser.parse(X.vault([X.entry(X.service, keys: ["get"])])).root)
        let plan = AzureDeltaPlan(from: live, to: proposed)
        #expect(plan.accessPolicySteps.map(\.operation) == [.remove, .add])
        #expect(plan.accessPolicySteps.last?.entries.first?["tenantId"]?.stringValue == X.tenant)
    }

    @Test("role assignments: create what is new, delete what is gone, by id; other vault properties are never written")
    func assignments() throws {
        let live = AzureVaultSnapshot(try JSONParser.parse(X.vault(rbac: true, assignments: [X.assignment(X.admin, role: X.owner)])).root)
        let proposed = AzureVaultSnapshot(try JSONParser.parse(X.vault(rbac: true, assignments: [X.assignment(X.service, role: X.encryptionUser, key: true)])).root)
        let plan = AzureDeltaPlan(from: live, to: proposed)
        #expect(plan.assignmentsToCreate.map(\.principalID) == [X.service])
        #expect(plan.assignmentsToDelete.map(\.principalID) == [X.admin])
        #expect(plan.accessPolicySteps.isEmpty)
        // Other vault properties are never written: a plan carries only access deltas.
        let purgeOff = AzureVaultSnapshot(try JSONParser.parse(X.vault(rbac: true, assignments: [X.assignment(X.admin, role: X.owner)], purgeProtection: false)).root)
        #expect(AzureDeltaPlan(from: live, to: purgeOff).isEmpty)
    }
}

@Suite("Azure: Log Analytics")
struct LogAnalyticsTests {
    @Test("string literals are escaped: a hostile name cannot leave its literal")
    func escaping() {
        let query = LogAnalyticsAuditLog.query(vault: #"kv" or 1==1 //"#, key: "cmk\\x", since: Date(timeIntervalSince1970: 0), until: Date(timeIntervalSince1970: 60))
        #expect(query.contains(#"Resource == "KV\" OR 1==1 //""#))
        #expect(query.contains(#""/keys/cmk\\x/""#))
        #expect(query.contains("between (datetime(1970-01-01T00:00:00Z) .. datetime(1970-01-01T00:01:00Z))"))
    }

    @Test("rows are read by column name, numbers as strings (the documented example) or as numbers (real answers)")
    func rows() throws {
        let text = """
            {"tables":[{"name":"PrimaryResult","columns":[{"name":"OperationName","type":"string"},{"name":"httpStatusCode_d","type":"real"},{"name":"TimeGenerated","type":"datetime"},{"name":"ResultSignature","type":"string"},{"name":"identity_claim_oid_g","type":"guid"}],
            "rows":[["KeyUnwrap","403","2026-11-22T10:00:00Z","Forbidden","ce2ce14e-85d7-4629-bdbc-454d0519d987"],["KeyGet",403,"2026-11-22T10:00:01.123Z","Forbidden",null]]}]}
            """
        let events = try LogAnalyticsAuditLog.events(JSONParser.parse(text).root)
        #expect(events.count == 2)
        #expect(events[0].action == "KeyUnwrap" && events[0].principal == "ce2ce14e-85d7-4629-bdbc-454d0519d987" && events[0].errorCode == "Forbidden")
        #expect(events[1].time > events[0].time)
        // The official example parses too (no denials in it, but no crash either).
        let official = try JSONParser.parse(try fixture("loganalytics-query-v1/oms-post-example.json")).root
        let body = try #require(official["responses"]?["200"]?["body"])
        #expect(try LogAnalyticsAuditLog.events(body).count == 2)
    }
}
