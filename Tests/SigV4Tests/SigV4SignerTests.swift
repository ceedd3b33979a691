import Crypto
import Foundation
import HTTP
import SigV4
import Testing

/// Rules of the signer that the suites do not reach: how a real `URL` is canonicalised,
/// which headers the signer adds or leaves alone, re-signing, and the date rendering.
/// The suites' parameters come from `get-vanilla/context.json`.
@Suite("SigV4Signer")
struct SigV4SignerTests {
    static func vanilla() throws -> SigningContext {
        try SigningContext(
            contentsOf: Fixtures.directory(SigningSuiteCase.suitePath).appendingPathComponent(
                "get-vanilla/context.json"
            )
        )
    }

    static func canonicalURI(of url: String) throws -> String {
        let context = try vanilla()
        let signer = context.signer
        let request = HTTPRequest(method: .get, url: try #require(URL(string: url)))
        let canonical = signer.signature(for: request, date: context.date).canonicalRequest
        return String(canonical.split(separator: "\n", omittingEmptySubsequences: false)[1])
    }

    /// AWS General Reference, "Derive a signing key for Signature Version 4": the
    /// documented example key for secret `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`,
    /// 20120215, us-east-1, iam.
    @Test func signingKeyMatchesTheDocumentedExample() throws {
        let key = SigV4Signer.signingKey(
            secretAccessKey: try Self.vanilla().credentials.secretAccessKey,
            dateStamp: "20120215",
            region: "us-east-1",
            service: "iam"
        )
        let hex = key.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
        #expect(hex == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test func signatureIsTheHMACOfTheStringToSignUnderTheSigningKey() throws {
        let context = try Self.vanilla()
        let signer = context.signer
        let sts = "AWS4-HMAC-SHA256\n20150830T123600Z\nscope\ndigest"
        let key = signer.signingKey(date: context.date)
        let expected = HMAC<SHA256>.authenticationCode(for: Data(sts.utf8), using: key)
            .map { String(format: "%02x", $0) }.joined()
        #expect(signer.signature(stringToSign: sts, date: context.date) == expected)
        #expect(SigV4Signer.signature(stringToSign: sts, signingKey: key) == expected)
    }

    /// For every service but S3 the path as sent (already percent-encoded once by `URL`)
    /// is encoded again: AWS General Reference, "Each path segment must be URI-encoded
    /// twice"; aws-c-auth `use_double_uri_encode`. The suites' `get-space` is the same
    /// rule applied to a request line that carries a raw space.
    @Test(arguments: [
        ("https://example.amazonaws.com/example%20space/", "/example%2520space/"),
        ("https://example.amazonaws.com/example space/", "/example%2520space/"),
        ("https://example.amazonaws.com/%E1%88%B4", "/%25E1%2588%25B4"),
        ("https://example.amazonaws.com/a%2Fb/c", "/a%252Fb/c"),
        (
            "https://example.amazonaws.com/key/arn:aws:kms:us-east-1:111122223333:key/1",
            "/key/arn%3Aaws%3Akms%3Aus-east-1%3A111122223333%3Akey/1"
        ),
        ("https://example.amazonaws.com", "/"),
        ("https://example.amazonaws.com/policy/validation", "/policy/validation"),
    ])
    func pathIsEncodedAgain(url: String, canonicalURI: String) throws {
        #expect(try Self.canonicalURI(of: url) == canonicalURI)
    }

    @Test(arguments: [
        ("/a/b/..", "/a"),
        ("/a/b/../", "/a/"),
        ("/../a", "/a"),
        ("/a/./b//c/", "/a/b/c/"),
        ("/a/%2E%2E/b", "/a/%252E%252E/b"),
    ])
    func pathNormalisationFollowsAWSCAuth(path: String, canonicalURI: String) throws {
        #expect(try Self.canonicalURI(of: "https://example.amazonaws.com\(path)") == canonicalURI)
    }

    @Test func queryParametersAreDecodedSortedAndEncodedOnce() throws {
        let context = try Self.vanilla()
        let request = HTTPRequest(
            method: .post,
            url: try #require(
                URL(
                    string:
                        "https://access-analyzer.us-east-1.amazonaws.com/policy/validation?nextToken=a%2Bb%2F%3D&maxResults=50&flag&b=x+y&a=%7e"
                )
            )
        )
        let canonical = context.signer.signature(for: request, date: context.date).canonicalRequest
        #expect(
            canonical.split(separator: "\n", omittingEmptySubsequences: false)[2]
                == "a=~&b=x%2By&flag=&maxResults=50&nextToken=a%2Bb%2F%3D"
        )
    }

    @Test(arguments: [
        ("http://127.0.0.1:5000/", "127.0.0.1:5000"),
        ("http://localhost/", "localhost"),
        ("http://localhost:80/", "localhost"),
        ("https://kms.us-east-1.amazonaws.com:443/", "kms.us-east-1.amazonaws.com"),
        ("https://kms.us-east-1.amazonaws.com:8443/", "kms.us-east-1.amazonaws.com:8443"),
        ("http://[::1]:5000/", "[::1]:5000"),
    ])
    func hostHeaderIsAddedAsHTTPClientsSendIt(url: String, host: String) throws {
        let context = try Self.vanilla()
        let request = HTTPRequest(method: .post, url: try #require(URL(string: url)))
        let signed = context.signer.sign(request, date: context.date)
        #expect(signed.headers["Host"] == [host])
        #expect(signed.headers.fields.first?.name == "Host")
    }

    @Test func anExistingHostHeaderIsKept() throws {
        let context = try Self.vanilla()
        let request = HTTPRequest(
            method: .get,
            url: try #require(URL(string: "http://127.0.0.1:5000/")),
            headers: ["host": "kms.us-east-1.amazonaws.com"]
        )
        let signed = context.signer.sign(request, date: context.date)
        #expect(signed.headers["Host"] == ["kms.us-east-1.amazonaws.com"])
    }

    /// Signing a signed request again (a retry with a fresh date, say) replaces what the
    /// first signing added instead of adding second copies.
    @Test func signingAgainReplacesTheSignature() throws {
        let context = try Self.vanilla()
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: context.credentials.accessKeyID,
                secretAccessKey: context.credentials.secretAccessKey,
                sessionToken: "token"
            ),
            region: "us-east-1",
            service: "kms",
            options: .init(addsContentSHA256Header: true)
        )
        let request = HTTPRequest(
            method: .post,
            url: try #require(URL(string: "https://kms.us-east-1.amazonaws.com/")),
            headers: ["Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.GetKeyPolicy"],
            body: Data(#"{"KeyId":"alias/x"}"#.utf8)
        )
        let once = signer.sign(request, date: context.date)
        #expect(signer.sign(once, date: context.date) == once)

        let later = signer.sign(once, date: context.date.addingTimeInterval(300))
        #expect(later.headers.fields.map(\.name) == once.headers.fields.map(\.name))
        #expect(later.headers["X-Amz-Date"] == ["20150830T124100Z"])
        #expect(later.headers["Authorization"] != once.headers["Authorization"])
    }

    @Test func headersAreAddedInAFixedOrderAfterTheRequestsOwn() throws {
        let context = try Self.vanilla()
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: context.credentials.accessKeyID,
                secretAccessKey: context.credentials.secretAccessKey,
                sessionToken: "token"
            ),
            region: "us-east-1",
            service: "s3",
            options: .init(addsContentSHA256Header: true)
        )
        let request = HTTPRequest(
            method: .put,
            url: try #require(URL(string: "https://bucket.s3.amazonaws.com/key")),
            headers: ["Content-Type": "text/plain"],
            body: Data("hello".utf8)
        )
        let signed = signer.sign(request, date: context.date)
        #expect(
            signed.headers.fields.map(\.name)
                == [
                    "Content-Type", "Host", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256",
                    "Authorization",
                ]
        )
        #expect(signed.headers["X-Amz-Content-Sha256"] == [SigV4Signer.payloadHash(Data("hello".utf8))])
        let authorization = try #require(signed.headers.first(name: "Authorization"))
        #expect(
            authorization.contains(
                "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"
            )
        )
    }

    @Test func contentSHA256IsNotAddedByDefaultButTheBodyIsAlwaysHashed() throws {
        let context = try Self.vanilla()
        let body = Data(#"{"KeyId":"k"}"#.utf8)
        let request = HTTPRequest(
            method: .post,
            url: try #require(URL(string: "https://kms.us-east-1.amazonaws.com/")),
            body: body
        )
        let result = context.signer.signature(for: request, date: context.date)
        #expect(!result.headers.contains(name: "X-Amz-Content-Sha256"))
        #expect(result.canonicalRequest.hasSuffix("\n" + SigV4Signer.payloadHash(body)))
        #expect(!result.canonicalRequest.contains("UNSIGNED-PAYLOAD"))
    }

    /// Headers that proxies and HTTP libraries add or rewrite are sent but not signed
    /// (aws-c-auth's skip list).
    @Test func hopByHopAndClientHeadersAreNotSigned() throws {
        let context = try Self.vanilla()
        let request = HTTPRequest(
            method: .post,
            url: try #require(URL(string: "https://kms.us-east-1.amazonaws.com/")),
            headers: [
                "User-Agent": "policy-change/1.0", "Expect": "100-continue", "Connection": "keep-alive",
                "Transfer-Encoding": "chunked", "X-Amzn-Trace-Id": "Root=1", "Content-Type": "application/json",
            ]
        )
        let result = context.signer.signature(for: request, date: context.date)
        #expect(result.signedHeaders == "content-type;host;x-amz-date")
        #expect(result.headers["User-Agent"] == ["policy-change/1.0"])
    }

    @Test func presigningAgainReplacesTheQuerySignature() throws {
        let context = try Self.vanilla()
        let request = HTTPRequest(
            method: .get,
            url: try #require(URL(string: "https://example.amazonaws.com/?Action=ListUsers&Version=2010-05-08"))
        )
        let once = context.signer.presign(request, date: context.date, expiresIn: 60)
        let twice = context.signer.presign(once, date: context.date, expiresIn: 60)
        #expect(twice == once)
        let query = try #require(once.url.query(percentEncoded: true))
        #expect(query.hasPrefix("Action=ListUsers&Version=2010-05-08&X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
        #expect(query.contains("&X-Amz-Expires=60&"))
        #expect(!once.headers.contains(name: "Authorization"))
        #expect(!once.headers.contains(name: "X-Amz-Date"))
    }

    /// `X-Amz-Date` is rendered arithmetically; it must agree with Foundation's ISO 8601
    /// basic format for any instant, drop fractions of a second, and handle leap days
    /// and instants before 1970.
    @Test func signingDateAgreesWithFoundation() {
        var style = Date.ISO8601FormatStyle(dateSeparator: .omitted, timeSeparator: .omitted)
        style.timeZone = TimeZone(identifier: "UTC")!
        var generator = SplitMix64(seed: 0x5167_0004)
        var instants: [Date] = [
            Date(timeIntervalSince1970: 0),
            Date(timeIntervalSince1970: -1),
            Date(timeIntervalSince1970: 951_782_400),  // 2000-02-29
            Date(timeIntervalSince1970: 1_709_251_199.999),  // 2024-02-29T23:59:59.999
            Date(timeIntervalSince1970: 253_402_300_799),  // 9999-12-31T23:59:59
        ]
        for _ in 0..<2000 {
            instants.append(Date(timeIntervalSince1970: Double(generator.next() % 8_000_000_000) - 2_000_000_000))
        }
        for instant in instants {
            let truncated = Date(timeIntervalSince1970: instant.timeIntervalSince1970.rounded(.down))
            let signingDate = SigningDate(instant)
            #expect(signingDate.timestamp == style.format(truncated), "\(instant.timeIntervalSince1970)")
            #expect(signingDate.dateStamp == String(signingDate.timestamp.prefix(8)))
        }
        #expect(SigningDate(Date(timeIntervalSince1970: 1_709_251_199.999)).timestamp == "20240229T235959Z")
    }
}

/// A small deterministic generator, so the date comparison is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
