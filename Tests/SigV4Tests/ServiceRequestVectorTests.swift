import Foundation
import HTTP
import SigV4
import Testing

/// The project's own regression vectors for the calls it makes
/// (`../shared/fixtures/aws/http/<name>.{http,creq,sts}`): fully signed raw requests,
/// computed with the suite's credentials and instant (AKIDEXAMPLE,
/// 20150830T123600Z, us-east-1) and, for the session-token case, the newer suite's
/// token (`../shared/fixtures/aws/README.md`).
struct ServiceRequestVector: Sendable, CustomTestStringConvertible {
    static let directoryPath = "aws/http"

    /// Each vector's signing name and whether it was signed with a session token. The
    /// table must list exactly the vectors on disk (`everyVectorIsListed`).
    static let table: [String: (service: String, usesSessionToken: Bool)] = [
        "kms-GetKeyPolicy": ("kms", false),
        "kms-PutKeyPolicy-session-token": ("kms", true),
        "cloudtrail-LookupEvents": ("cloudtrail", false),
        "accessanalyzer-ValidatePolicy": ("access-analyzer", false),
    ]

    var name: String
    var directory: URL

    var testDescription: String { name }

    static func onDisk() throws -> [String] {
        let directory = try Fixtures.directory(directoryPath)
        return try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".http") }
            .map { String($0.dropLast(".http".count)) }
            .sorted()
    }

    static func all() throws -> [ServiceRequestVector] {
        let directory = try Fixtures.directory(directoryPath)
        let names = try onDisk()
        guard !names.isEmpty else { throw FixtureError("\(directory.path) holds no .http vectors") }
        return names.map { ServiceRequestVector(name: $0, directory: directory) }
    }

    func file(_ fileExtension: String) -> URL { directory.appendingPathComponent("\(name).\(fileExtension)") }
}

@Suite("AWS service request vectors (KMS, CloudTrail, Access Analyzer)")
struct ServiceRequestVectorTests {
    /// The signer gets the `.http` request without what signing adds (`Host`,
    /// `X-Amz-Date`, `X-Amz-Security-Token`, `Authorization`) and must give back the
    /// `.http` exactly: same fields, same order, same values, same body.
    @Test("signs the request exactly as the vector", arguments: try ServiceRequestVector.all())
    func signsExactly(_ vector: ServiceRequestVector) throws {
        let entry = try #require(ServiceRequestVector.table[vector.name], "\(vector.name) is not in the table")
        let suiteDefaults = try SigningContext(
            contentsOf: Fixtures.directory(SigningSuiteCase.suitePath).appendingPathComponent(
                "get-vanilla/context.json"
            )
        )
        let tokenContext = try SigningContext(
            contentsOf: Fixtures.directory(SigningSuiteCase.suitePath)
                .appendingPathComponent("get-vanilla-with-session-token/context.json")
        )
        let credentials = AWSCredentials(
            accessKeyID: suiteDefaults.credentials.accessKeyID,
            secretAccessKey: suiteDefaults.credentials.secretAccessKey,
            sessionToken: entry.usesSessionToken ? tokenContext.credentials.sessionToken : nil
        )
        let signer = SigV4Signer(credentials: credentials, region: suiteDefaults.region, service: entry.service)

        let expected = try RawHTTPRequest(contentsOf: vector.file("http"))
        #expect(expected.headers.first(name: "Content-Length") == String(expected.body.count))
        let host = try #require(expected.headers.first(name: "Host"))
        var unsigned = expected.headers
        for added in ["Host", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"] {
            unsigned.remove(name: added)
        }
        let url = try #require(URL(string: "https://\(host)\(expected.target)", encodingInvalidCharacters: false))
        let request = HTTPRequest(
            method: HTTPMethod(rawValue: expected.method),
            url: url,
            headers: unsigned,
            body: expected.body
        )

        let signed = signer.sign(request, date: suiteDefaults.date)
        #expect(signed.headers == expected.headers)
        #expect(signed.url == url)
        #expect(signed.body == expected.body)

        let result = signer.signature(for: request, date: suiteDefaults.date)
        #expect(result.canonicalRequest == (try Fixtures.text(vector.file("creq"))))
        #expect(result.stringToSign == (try Fixtures.text(vector.file("sts"))))
        #expect([result.authorization] == expected.headers["Authorization"])
    }

    @Test func everyVectorIsListed() throws {
        #expect(try ServiceRequestVector.onDisk() == ServiceRequestVector.table.keys.sorted())
    }
}
