import Foundation
import HTTP
import Testing

/// One fixture file and what redaction must remove from it and keep in it
/// (`Fixtures/redaction/cases.json`).
struct RedactionCase: Decodable, Sendable, CustomTestStringConvertible {
    let file: String
    let secrets: [String]
    let kept: [String]

    var testDescription: String { file }

    static func all() throws -> [RedactionCase] {
        let data = try Data(contentsOf: fixture("cases.json"))
        return try JSONDecoder().decode([RedactionCase].self, from: data)
    }

    static func fixture(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/redaction/\(name)", withExtension: nil)!
    }
}

@Suite("Redactor")
struct RedactorTests {
    let redactor = Redactor.standard

    @Test(arguments: try RedactionCase.all())
    func fixture(_ testCase: RedactionCase) throws {
        let text = try String(contentsOf: RedactionCase.fixture(testCase.file), encoding: .utf8)
        let redacted = redactor.redact(text)
        for secret in testCase.secrets {
            #expect(!redacted.contains(secret), "\(testCase.file) still contains \(secret)")
        }
        for kept in testCase.kept {
            #expect(redacted.contains(kept), "\(testCase.file) lost \(kept):\n\(redacted)")
        }
    }

    @Test(arguments: [
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=abc",
            "AWS4-HMAC-SHA256 <redacted>"
        ),
        ("authorization", "Bearer eyJhbGciOi.x.y", "Bearer <redacted>"),
        ("Proxy-Authorization", "Basic dXNlcjpwYXNz", "Basic <redacted>"),
        ("Authorization", "opaque-token-without-scheme", "<redacted>"),
        ("X-Amz-Security-Token", "FwoGZXIvYXdzE", "<redacted>"),
        ("x-amz-security-token", "FwoGZXIvYXdzE", "<redacted>"),
        ("Cookie", "session=abc", "<redacted>"),
        ("Set-Cookie", "session=abc; Secure", "<redacted>"),
        ("X-IDENTITY-HEADER", "ab12", "<redacted>"),
        ("X-aws-ec2-metadata-token", "AQAEAF", "<redacted>"),
        (
            "X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        ),
        ("X-Amz-Date", "20150830T123600Z", "20150830T123600Z"),
        ("Metadata", "true", "true"),
        ("Content-Type", "application/x-amz-json-1.1", "application/x-amz-json-1.1"),
    ])
    func headerValue(_ name: String, _ value: String, _ expected: String) {
        #expect(redactor.redact(headerValue: value, name: name) == expected)
    }

    @Test func headersKeepOrderAndNames() {
        let headers: HTTPHeaders = ["Authorization": "Bearer t0k3n", "X-Amz-Target": "TrentService.GetKeyPolicy"]
        let redacted = redactor.redact(headers: headers)
        #expect(redacted.fields.map(\.name) == ["Authorization", "X-Amz-Target"])
        #expect(redacted.first(name: "Authorization") == "Bearer <redacted>")
        #expect(redacted.first(name: "X-Amz-Target") == "TrentService.GetKeyPolicy")
    }

    @Test(arguments: [
        ("calling with Bearer abc.def-ghi_jkl failed", "calling with Bearer <redacted> failed"),
        ("header was: basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==, retrying", "header was: basic <redacted>, retrying"),
        (
            "Authorization: Bearer xyz\nX-Amz-Date: 20150830T123600Z",
            "Authorization: Bearer <redacted>\nX-Amz-Date: 20150830T123600Z"
        ),
        ("  x-amz-security-token:   FQoG/abc=\r\n", "  x-amz-security-token:   <redacted>\r\n"),
        (
            "Credential=AKID/20150830/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942",
            "Credential=AKID/20150830/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=<redacted>"
        ),
        ("https://h/?code=4%2F0Ad&state=xyz", "https://h/?code=<redacted>&state=xyz"),
        ("https://h/cb#access_token=abc&token_type=bearer", "https://h/cb#access_token=<redacted>&token_type=bearer"),
        (
            "https://acct.blob.core.windows.net/c/b?sv=2021&sig=AbC%2Bd%3D&se=2030",
            "https://acct.blob.core.windows.net/c/b?sv=2021&sig=<redacted>&se=2030"
        ),
        ("password=hunter2&user=me", "password=<redacted>&user=me"),
        ("grant_type=refresh_token&refresh_token=1//0gabc", "grant_type=refresh_token&refresh_token=<redacted>"),
        ("https://user:pa55word@proxy.example.com:3128", "https://user:<redacted>@proxy.example.com:3128"),
        (#"{"SessionToken":"FQo\"GZ","AccessKeyId":"ASIA1"}"#, #"{"SessionToken":"<redacted>","AccessKeyId":"ASIA1"}"#),
        (
            #"{"body": "{\"access_token\":\"ya29.a0\",\"expires_in\":3599}"}"#,
            #"{"body": "{\"access_token\":\"<redacted>\",\"expires_in\":3599}"}"#
        ),
        (
            #"{"accessToken": "ya29.c.b0", "expireTime": "2024-05-01T13:00:00Z"}"#,
            #"{"accessToken": "<redacted>", "expireTime": "2024-05-01T13:00:00Z"}"#
        ),
        (#"{"Authorization": "SharedKey acct:sig=="}"#, #"{"Authorization": "<redacted>"}"#),
        ("id token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln expired", "id token <redacted> expired"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEv\nQIBADAN\n-----END PRIVATE KEY-----\n", "<redacted>\n"),
    ])
    func freeText(_ input: String, _ expected: String) {
        #expect(redactor.redact(input) == expected)
    }

    @Test(arguments: [
        #"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        #"{"error":{"code":"AuthorizationFailed","message":"The client '0000' does not have authorization"}}"#,
        "HTTP 503, 120 bytes",
        "https://kms.us-east-1.amazonaws.com/",
        "GET https://cloudkms.googleapis.com/v1/projects/p/locations/l/keyRings/r/cryptoKeys/k:getIamPolicy?options.requestedPolicyVersion=3",
        "X-Amz-Target: TrentService.GetKeyPolicy",
        "the token endpoint said invalid_grant",
        #"{"token_type": "Bearer", "expires_in": 3599}"#,
    ])
    func leavesOrdinaryTextAlone(_ text: String) {
        #expect(redactor.redact(text) == text)
    }

    @Test func redactionIsIdempotent() throws {
        for testCase in try RedactionCase.all() {
            let text = try String(contentsOf: RedactionCase.fixture(testCase.file), encoding: .utf8)
            let once = redactor.redact(text)
            #expect(redactor.redact(once) == once, "\(testCase.file)")
        }
    }

    @Test func adaptersCanAddNames() {
        var custom = Redactor.standard
        custom.sensitiveHeaders.insert("X-Vendor-Key")
        custom.sensitiveParameters.insert("api_key")
        #expect(custom.redact(headerValue: "k", name: "x-vendor-key") == "<redacted>")
        #expect(custom.redact("https://h/?api_key=123") == "https://h/?api_key=<redacted>")
        #expect(Redactor.standard.redact("https://h/?api_key=123") == "https://h/?api_key=123")
    }

    @Test func requestAndResponseDescriptionsNeverShowSecrets() throws {
        let request = HTTPRequest(
            method: .post,
            url: try #require(
                URL(string: "https://sts.amazonaws.com/?X-Amz-Credential=AKIDEXAMPLE%2Fx&X-Amz-Signature=f00d")),
            headers: [
                "Authorization":
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=abc123",
                "X-Amz-Security-Token": "SESSIONTOKEN",
                "X-Forwarded-Auth": "Bearer bearer-secret",
            ],
            body: Data("client_secret=form-secret&grant_type=client_credentials".utf8))
        let secrets = ["AKIDEXAMPLE", "f00d", "abc123", "SESSIONTOKEN", "bearer-secret", "form-secret"]
        let texts = [
            request.redactedDescription, request.redactedURL, "\(request)", String(describing: request),
            String(reflecting: request), "\(request.headers)", "\(request.redactedHeaders)",
        ]
        for text in texts {
            for secret in secrets {
                #expect(!text.contains(secret), "\(text)")
            }
        }
        #expect(
            request.redactedDescription
                == "POST https://sts.amazonaws.com/?X-Amz-Credential=<redacted>&X-Amz-Signature=<redacted>")

        let response = HTTPResponse(
            status: 200, headers: ["Set-Cookie": "session=cookie-secret"],
            body: Data(#"{"access_token":"ya29.secret","expires_in":3599}"#.utf8))
        #expect(response.redactedDescription == "HTTP 200, \(response.body.count) bytes")
        #expect(!"\(response)".contains("cookie-secret"))
        #expect(response.redactedBodyExcerpt() == #"{"access_token":"<redacted>","expires_in":3599}"#)
        #expect(response.redactedBodyExcerpt(limit: 10) == #"{"access_t…"#)
    }

    @Test func errorsRedactWhatTheyAreGiven() {
        let error = HTTPError.connectFailed.with(
            message: "cannot connect to https://h/?X-Amz-Signature=deadbeef: refused (Authorization: Bearer tok)",
            url: "https://h/?X-Amz-Signature=deadbeef")
        #expect(!error.description.contains("deadbeef"))
        #expect(!error.description.contains("tok)"))
        #expect(error.url == "https://h/?X-Amz-Signature=<redacted>")
        #expect(error == .connectFailed)
    }
}
