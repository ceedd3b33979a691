import Foundation
import HTTP
import PolicyChange
import Testing

@testable import AWS

/// KMS error responses (shared/fixtures/aws/kms/errors) become the right
/// `ProviderError`, and the code parser normalises every documented spelling.
@Suite struct AWSErrorResponseTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("../shared/fixtures/aws/kms/errors").standardizedFileURL

    /// A fixture as the wire carried it: status, headers, JSON body.
    static func response(_ name: String) throws -> HTTPResponse {
        let data = try Data(contentsOf: folder.appendingPathComponent(name))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var headers = HTTPHeaders()
        for (name, value) in (object["_headers"] as? [String: String] ?? [:]).sorted(by: { $0.key < $1.key }) {
            headers.add(name: name, value: value)
        }
        let body = try JSONSerialization.data(withJSONObject: object["body"] ?? [:])
        return HTTPResponse(status: object["_http_status"] as? Int ?? 400, headers: headers, body: body)
    }

    @Test(arguments: [
        ("AccessDeniedException.json", ProviderError.Code.accessDenied, false),
        ("NotFoundException.json", .notFound, false),
        ("MalformedPolicyDocumentException.json", .malformedPolicy, false),
        ("KMSInvalidStateException.json", .invalidState, false),
        // LimitExceeded from PutKeyPolicy means "too big": never retried.
        ("LimitExceededException.json", .policyTooLarge, false),
        ("ThrottlingException.json", .throttled, true),
        ("KMSInternalException.json", .unavailable, true),
        ("DependencyTimeoutException.json", .unavailable, true),
    ])
    func mapsEachKMSError(_ file: String, _ code: ProviderError.Code, _ retried: Bool) throws {
        let response = try Self.response(file)
        let error = AWSErrorResponse(response)
        #expect(error.code == file.replacingOccurrences(of: ".json", with: ""))
        let mapped = error.providerError(service: "KMS", operation: "PutKeyPolicy")
        #expect(mapped.code == code)
        #expect(mapped.message.hasPrefix("KMS PutKeyPolicy"))
        #expect(!mapped.message.contains("\n"))
        // The retry policy the AWS transport uses agrees.
        let decision = AWSRetry.policy.classify(response)
        #expect((decision == .retry) == retried, "\(file): \(String(describing: decision))")
    }

    @Test func normalisesEveryDocumentedSpellingOfTheCode() throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("_parser-normalization-cases.json"))
        let cases = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(cases.count >= 6)
        for item in cases {
            var headers = HTTPHeaders()
            for (name, value) in item["headers"] as? [String: String] ?? [:] { headers.add(name: name, value: value) }
            let body = try JSONSerialization.data(withJSONObject: item["body"] ?? [:])
            let error = AWSErrorResponse(HTTPResponse(status: 400, headers: headers, body: body))
            #expect(error.code == item["expect"] as? String)
            if let message = (item["body"] as? [String: Any])?["Message"] as? String {
                #expect(error.message == message)
            }
        }
    }

    /// moto and STS answer signature errors in XML.
    @Test func readsQueryProtocolXMLErrors() {
        let xml = """
            <?xml version="1.0" encoding="utf-8"?>
            <ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we \
            calculated does not match the signature you provided.</Message><Type>Sender</Type></Error></Errors></ErrorResponse>
            """
        let error = AWSErrorResponse(HTTPResponse(status: 403, body: Data(xml.utf8)))
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.providerError(service: "KMS", operation: "GetKeyPolicy").code == .authentication)
    }
}
