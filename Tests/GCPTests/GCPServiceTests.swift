import Foundation
import HTTP
import Logging
import PolicyChange
import Testing

@testable import GCP

@Suite("GCP services: Cloud KMS provider, errors, Cloud Logging")
struct GCPServiceTests {
    static let errorFiles = Fixtures.names(in: "errors")

    @Test("Google's error shape maps to ProviderError codes", arguments: errorFiles)
    func errors(_ name: String) throws {
        let body = Fixtures.data(name)
        let status = try #require(Int(((name as NSString).lastPathComponent).prefix(3)))
        let expected: [Int: ProviderError.Code] = [
            400: .malformedPolicy, 401: .authentication, 403: .accessDenied, 404: .notFound, 409: .concurrentModification,
            429: .throttled,
        ]
        let error = GoogleErrorResponse(HTTPResponse(status: status, body: body)).providerError(service: "Cloud KMS", operation: "setIamPolicy")
        #expect(error.code == expected[status])
        #expect(!error.message.contains("\n"))
        #expect(error.httpStatus == status)
    }

    func provider(_ transport: ScriptedTransport) -> CloudKMSProvider {
        CloudKMSProvider(
            target: GCPTarget(key: testKey), kms: client(transport), tokens: CachingTokenProvider(source: FixedToken()),
            logger: Logger(label: "test"))
    }

    @Test("the official policies have no wrongly typed member (INVALID_POLICY_ELEMENT stays silent)",
          arguments: ["getIamPolicy.response.json", "getIamPolicy.response.v3-conditional.json", "getIamPolicy.response.empty.json", "setIamPolicy.request.json", "setIamPolicy.request.v3.json", "-"])
    func officialShapesAreValid(_ name: String) throws {
        let root = name == "-" ? try JSONParser.parse(Data(#"{"etag":"ACAB"}"#.utf8)).root
            : Fixtures.json(name)["policy"] ?? Fixtures.json(name)
        #expect(IAMPolicy.shapeProblems(root).isEmpty, "\(IAMPolicy.shapeProblems(root))")
        let text = root.serialized()
        let findings = CloudKMSIAMDialect().analyze(AnalysisRequest(current: PolicySnapshot(text: text), proposed: PolicySnapshot(text: text)))
        #expect(!findings.contains { $0.code == "INVALID_POLICY_ELEMENT" }, "\(findings)")
    }

    @Test("getIamPolicy is a GET at version 3; the snapshot is the body as returned with its etag")
    func read() async throws {
        let body = Fixtures.data("getIamPolicy.response.json")
        let transport = ScriptedTransport { _, _ in HTTPResponse(status: 200, body: body) }
        let snapshot = try await provider(transport).readPolicy()
        #expect(snapshot.document == body)
        #expect(snapshot.etag == "BwWWja0YfJA=")
        let request = try #require(transport.requests.first)
        #expect(request.method == .get)
        #expect(request.url.absoluteString == "https://cloudkms.googleapis.com/v1/\(testKey):getIamPolicy?options.requestedPolicyVersion=3")
        #expect(request.headers.first(name: "Authorization") == "Bearer ya29.test")
    }

    @Test("setIamPolicy's body is the fixture's: policy with the expected etag, updateMask bindings,etag", arguments: ["setIamPolicy.request.json", "setIamPolicy.request.v3.json"])
    func writeBody(_ fixture: String) async throws {
        let expected = Fixtures.json(fixture)
        let policyText = try #require(expected["policy"]).serialized()
        let transport = ScriptedTransport { _, _ in HTTPResponse(status: 200, body: Data(policyText.utf8)) }
        var proposed = PolicySnapshot(text: policyText)
        proposed.etag = "ignored"
        try await provider(transport).writePolicy(proposed, replacing: PolicySnapshot(text: "{}", etag: "BwWWja0YfJA="))
        let request = try #require(transport.requests.first)
        #expect(request.method == .post)
        #expect(request.url.absoluteString == "https://cloudkms.googleapis.com/v1/\(testKey):setIamPolicy")
        let sent = try JSONParser.parse(request.body).root
        #expect(sent.isEquivalent(to: expected), "\(String(decoding: request.body, as: UTF8.self))")
    }

    @Test("409 ABORTED whose write already landed counts as done; a real conflict is concurrentModification")
    func abortedAfterRetry() async throws {
        let proposedText = #"{"version":1,"etag":"A","bindings":[{"role":"roles/cloudkms.viewer","members":["user:b@example.com"]}]}"#
        let aborted = String(decoding: Fixtures.data("errors/409-aborted-stale-etag.json"), as: UTF8.self)
        let landed = ScriptedTransport { request, _ in
            request.method == .post ? json(409, aborted) : json(200, proposedText.replacingOccurrences(of: "\"A\"", with: "\"B\""))
        }
        try await provider(landed).writePolicy(PolicySnapshot(text: proposedText), replacing: PolicySnapshot(text: "{}", etag: "A"))
        let conflict = ScriptedTransport { request, _ in
            request.method == .post ? json(409, aborted) : json(200, #"{"version":1,"etag":"C","bindings":[]}"#)
        }
        await #expect {
            try await provider(conflict).writePolicy(PolicySnapshot(text: proposedText), replacing: PolicySnapshot(text: "{}", etag: "A"))
        } throws: { ($0 as? ProviderError)?.code == .concurrentModification }
        #expect(conflict.requests.filter { $0.method == .post }.count == 1)
    }

    @Test("describeKey requires ENCRYPT_DECRYPT and reports the primary's state")
    func describe() async throws {
        let ok = ScriptedTransport { _, _ in json(200, #"{"name":"\#(testKey)","purpose":"ENCRYPT_DECRYPT","primary":{"state":"ENABLED"}}"#) }
        let description = try await provider(ok).describeKey()
        #expect(description.enabled && description.owner == "my-project" && description.region == "us-east1")
        let signing = ScriptedTransport { _, _ in json(200, #"{"name":"\#(testKey)","purpose":"ASYMMETRIC_SIGN"}"#) }
        await #expect(throws: ProviderError.self) { try await provider(signing).describeKey() }
    }

    @Test("entries:list follows empty pages with a token, filters on the key and status 7, asc order")
    func logging() async throws {
        let page = String(decoding: Fixtures.data("entries.list.response.json"), as: UTF8.self)
        let transport = ScriptedTransport { _, n in
            switch n {
            case 1: json(200, #"{"nextPageToken":"p2"}"#)
            case 2: json(200, page.replacingOccurrences(of: "\"EAA4...\"", with: "\"p3\""))
            default: json(200, "{}")
            }
        }
        let log = CloudLoggingAuditLog(logging: client(transport, service: "Cloud Logging"), key: testKey)
        let events = try await log.accessDeniedEvents(
            since: Date(timeIntervalSince1970: 1_714_521_600), until: Date(timeIntervalSince1970: 1_714_608_000), check: AuditLogCheck())
        #expect(events.count == 1)
        #expect(events.first?.principal == "app@my-project.iam.gserviceaccount.com")
        #expect(transport.requests.count == 3)
        let body = try JSONParser.parse(transport.requests[1].body).root
        #expect(body["pageToken"]?.stringValue == "p2")
        #expect(body["orderBy"]?.stringValue == "timestamp asc")
        #expect(body["resourceNames"]?.arrayValue?.first?.stringValue == "projects/my-project")
        let filter = try #require(body["filter"]?.stringValue)
        #expect(filter.contains("protoPayload.status.code=7"))
        #expect(filter.contains(#"protoPayload.resourceName="\#(testKey)""#))
        #expect(filter.contains(#"timestamp>="2024-05-01T00:00:00Z""#) && filter.contains(#"timestamp<="2024-05-02T00:00:00Z""#))
        #expect(transport.requests[0].url.absoluteString == "https://cloudkms.googleapis.com/v1/entries:list" /* the test client's base */)
        #expect(CloudLoggingAuditLog.quote(#"a"b\c"#) == #""a\"b\\c""#)
    }

    @Test("endpoint overrides: a bare origin gets the version path")
    func endpoints() {
        #expect(GoogleAPIClient.base(override: "http://127.0.0.1:9000", default: "x", version: "v1")?.absoluteString == "http://127.0.0.1:9000/v1/")
        #expect(GoogleAPIClient.base(override: "http://127.0.0.1:9000/kms/v1", default: "x", version: "v1")?.absoluteString == "http://127.0.0.1:9000/kms/v1/")
        #expect(GoogleAPIClient.base(override: nil, default: "https://iam.googleapis.com/v1/", version: "v1")?.absoluteString == "https://iam.googleapis.com/v1/")
    }
}

@Suite("GCP services: edges")
struct GCPServiceEdgeTests {
    @Test("entries:list stops at the page cap with a clear error")
    func pageCap() async throws {
        let transport = ScriptedTransport { _, n in json(200, #"{"nextPageToken":"p\#(n)"}"#) }
        let log = CloudLoggingAuditLog(logging: client(transport, service: "Cloud Logging"), key: testKey)
        await #expect {
            _ = try await log.accessDeniedEvents(since: Date(), until: Date(), check: AuditLogCheck())
        } throws: { error in
            (error as? ProviderError)?.message.contains("more than \(CloudLoggingAuditLog.pageCap) pages") == true
        }
        #expect(transport.requests.count == CloudLoggingAuditLog.pageCap)
    }

    @Test("a 401 is retried once with a fresh token")
    func unauthorizedOnce() async throws {
        let transport = ScriptedTransport { _, n in
            n == 1 ? json(401, #"{"error":{"code":401,"message":"expired","status":"UNAUTHENTICATED"}}"#) : json(200, #"{"etag":"ACAB"}"#)
        }
        let data = try await client(transport).get("\(testKey):getIamPolicy", operation: "getIamPolicy")
        #expect(String(decoding: data, as: UTF8.self) == #"{"etag":"ACAB"}"#)
        #expect(transport.requests.count == 2)
        let always = ScriptedTransport { _, _ in json(401, #"{"error":{"code":401,"message":"no","status":"UNAUTHENTICATED"}}"#) }
        await #expect { _ = try await client(always).get("x", operation: "get") } throws: { ($0 as? ProviderError)?.code == .authentication }
        #expect(always.requests.count == 2)
    }

    @Test("hostile answers are errors, never crashes", arguments: ["", "[", "[]", "{\"bindings\":5}", "null"])
    func hostile(_ body: String) async {
        let transport = ScriptedTransport { _, _ in json(200, body) }
        let provider = CloudKMSProvider(
            target: GCPTarget(key: testKey), kms: client(transport), tokens: CachingTokenProvider(source: FixedToken()),
            logger: Logger(label: "t"))
        _ = try? await provider.readPolicy()
        _ = try? await provider.describeKey()
        let log = CloudLoggingAuditLog(logging: client(transport), key: testKey)
        _ = try? await log.accessDeniedEvents(since: Date(), until: Date(), check: AuditLogCheck())
    }
}
