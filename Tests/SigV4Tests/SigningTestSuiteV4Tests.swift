import Foundation
import HTTP
import SigV4
import Testing

/// One case of the current AWS/CRT signing suite (`aws-signing-test-suite-v4/<name>/`):
/// `context.json`, `request.txt`, and per mode (`header-`, `query-`) the expected
/// `canonical-request.txt`, `string-to-sign.txt`, `signature.txt`, `signed-request.txt`.
struct SigningSuiteCase: Sendable, CustomTestStringConvertible {
    static let suitePath = "sigv4/aws-signing-test-suite-v4"

    var name: String
    var directory: URL

    var testDescription: String { name }

    static func all() throws -> [SigningSuiteCase] {
        let suite = try Fixtures.directory(suitePath)
        let cases = try Fixtures.subdirectories(of: suite).map {
            SigningSuiteCase(name: $0, directory: suite.appendingPathComponent($0))
        }
        guard !cases.isEmpty else { throw FixtureError("\(suite.path) holds no cases") }
        return cases
    }

    func file(_ name: String) -> URL { directory.appendingPathComponent(name) }
    func text(_ name: String) throws -> String { try Fixtures.text(file(name)) }
    func context() throws -> SigningContext { try SigningContext(contentsOf: file("context.json")) }
    func request() throws -> RawHTTPRequest { try RawHTTPRequest(contentsOf: file("request.txt")) }
}

@Suite("aws-signing-test-suite-v4")
struct SigningTestSuiteV4Tests {
    /// Header signing (`header-*.txt`), every case; see `signatureForFixture` for how a
    /// request line reaches the signer.
    @Test("header signing", arguments: try SigningSuiteCase.all())
    func headerSigning(_ testCase: SigningSuiteCase) throws {
        let context = try testCase.context()
        let raw = try testCase.request()
        let result = context.signer.signatureForFixture(raw, date: context.date)

        #expect(result.canonicalRequest == (try testCase.text("header-canonical-request.txt")))
        #expect(result.stringToSign == (try testCase.text("header-string-to-sign.txt")))
        #expect(result.signature == (try testCase.text("header-signature.txt")))

        let expected = try RawHTTPRequest(contentsOf: testCase.file("header-signed-request.txt"))
        #expect(expected.headers["Authorization"] == [result.authorization])
        #expect(result.headers.groupedByName == expected.headers.groupedByName)
        #expect(expected.method == raw.method)
        #expect(expected.target == raw.target)
        #expect(expected.body == raw.body)
    }

    /// Query signing (presigned URLs, `query-*.txt`), every case, routed like header
    /// signing.
    @Test("query signing", arguments: try SigningSuiteCase.all())
    func querySigning(_ testCase: SigningSuiteCase) throws {
        let context = try testCase.context()
        let signer = context.signer
        let raw = try testCase.request()

        let result = signer.presignature(
            for: raw.signableRequest,
            date: context.date,
            expiresIn: context.expirationInSeconds
        )
        #expect(result.canonicalRequest == (try testCase.text("query-canonical-request.txt")))
        #expect(result.stringToSign == (try testCase.text("query-string-to-sign.txt")))
        #expect(result.signature == (try testCase.text("query-signature.txt")))

        let expected = try RawHTTPRequest(contentsOf: testCase.file("query-signed-request.txt"))
        #expect(expected.method == raw.method)
        #expect(expected.path == raw.path)
        #expect(expected.query == result.query)
        #expect(expected.headers == raw.headers)
        #expect(expected.body == raw.body)

        if let request = raw.httpRequest() {
            let presigned = signer.presign(request, date: context.date, expiresIn: context.expirationInSeconds)
            #expect(presigned.url.path(percentEncoded: true) == expected.path)
            #expect(presigned.url.query(percentEncoded: true) == expected.query)
            #expect(presigned.headers == expected.headers)
            #expect(presigned.body == expected.body)
        }
    }

    /// The cases whose request line a `URL` cannot carry, and which therefore exercise
    /// only the wire-level entry point. Pinned so that a change of routing (or a new
    /// case of that kind) is noticed.
    @Test func casesSignedFromTheLiteralRequestLine() throws {
        let literal = try SigningSuiteCase.all().filter { try $0.request().httpRequest() == nil }.map(\.name)
        #expect(literal == ["get-space-normalized", "get-space-unnormalized", "get-utf8", "get-vanilla-utf8-query"])
    }
}
