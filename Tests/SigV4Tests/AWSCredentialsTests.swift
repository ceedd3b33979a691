import Foundation
import SigV4
import Testing

@Suite("AWSCredentials never print their secrets")
struct AWSCredentialsTests {
    /// Real-looking values from the suite (`post-sts-header-before` has both a secret and
    /// a long session token) plus an expiry.
    static func credentials() throws -> AWSCredentials {
        let context = try SigningContext(
            contentsOf: Fixtures.directory(SigningSuiteCase.suitePath)
                .appendingPathComponent("post-sts-header-before/context.json")
        )
        return AWSCredentials(
            accessKeyID: context.credentials.accessKeyID,
            secretAccessKey: context.credentials.secretAccessKey,
            sessionToken: context.credentials.sessionToken,
            expiration: context.date.addingTimeInterval(3600)
        )
    }

    /// Every way a value commonly turns into text: interpolation, `description`,
    /// `debugDescription`, `String(reflecting:)`, `dump`, a `Mirror` walk, inside an
    /// optional and an array, and inside a signer.
    static func renderings(of credentials: AWSCredentials) -> [String: String] {
        var dumped = ""
        dump(credentials, to: &dumped)
        var dumpedSigner = ""
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "kms")
        dump(signer, to: &dumpedSigner)
        let mirrorValues = Mirror(reflecting: credentials).children.map { String(describing: $0.value) }
        return [
            "interpolation": "\(credentials)",
            "description": credentials.description,
            "debugDescription": credentials.debugDescription,
            "String(reflecting:)": String(reflecting: credentials),
            "dump": dumped,
            "Mirror children": mirrorValues.joined(separator: " "),
            "optional": String(describing: Optional(credentials)),
            "array": "\([credentials])",
            "signer": "\(signer)",
            "signer String(reflecting:)": String(reflecting: signer),
            "dump(signer)": dumpedSigner,
        ]
    }

    @Test func noRenderingContainsTheSecretOrTheToken() throws {
        let credentials = try Self.credentials()
        let token = try #require(credentials.sessionToken)
        for (way, text) in Self.renderings(of: credentials) {
            #expect(!text.contains(credentials.secretAccessKey), "\(way) shows the secret access key: \(text)")
            #expect(!text.contains(token), "\(way) shows the session token: \(text)")
            // Not even a recognisable piece of them.
            #expect(!text.contains(credentials.secretAccessKey.prefix(8)), "\(way) shows part of the secret")
            #expect(!text.contains(token.prefix(8)), "\(way) shows part of the token")
            #expect(!text.contains(credentials.accessKeyID), "\(way) shows the whole access key id: \(text)")
        }
    }

    @Test func accessKeyIDAppearsOnlyAsItsFirstFourCharacters() throws {
        let credentials = try Self.credentials()
        #expect(credentials.redactedAccessKeyID == "AKID…")
        #expect(credentials.description.contains("accessKeyID: AKID…"))
        #expect(credentials.description.contains("secretAccessKey: <redacted>"))
        #expect(credentials.description.contains("sessionToken: <redacted>"))
        #expect(credentials.description.contains("expiration: 2015-08-30T13:36:00Z"))
    }

    @Test func longTermCredentialsSayTheyHaveNoToken() {
        let credentials = AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "not-printed")
        #expect(
            credentials.description
                == "AWSCredentials(accessKeyID: AKIA…, secretAccessKey: <redacted>, sessionToken: nil)"
        )
        #expect(!"\(credentials)".contains("not-printed"))
    }
}
