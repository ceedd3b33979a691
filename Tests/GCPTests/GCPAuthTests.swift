import Foundation
import HTTP
import PolicyChange
import Testing

@testable import GCP

@Suite("GCP auth: JWT signer, token grants, ADC chain")
struct GCPAuthTests {
    static let vector = Fixtures.json("jwt-bearer.test-vector.json")
    static let keyFile = Fixtures.json("service_account.json")

    @Test("the RS256 signer reproduces the JWT-bearer test vector byte for byte")
    func jwtVector() throws {
        let pem = try #require(Self.keyFile["private_key"]?.stringValue)
        let signer = try ServiceAccountJWTSigner(privateKeyPEM: pem, keyID: "1", source: "test")
        let header = try #require(Self.vector["header_json"]?.stringValue)
        let claims = try #require(Self.vector["claims_json"]?.stringValue)
        #expect(signer.headerJSON == header)
        #expect(
            ServiceAccountJWTSigner.claimsJSON(
                issuer: "service-account@example.com", scope: cloudPlatformScope, audience: "https://oauth2.googleapis.com/token",
                issuedAt: 1_700_000_000, expiresAt: 1_700_003_600) == claims)
        #expect(try signer.sign(headerJSON: header, claimsJSON: claims) == Self.vector["assertion"]?.stringValue)
    }

    @Test("the service-account grant sends the vector's form body to the key file's token_uri")
    func serviceAccountGrant() async throws {
        let transport = ScriptedTransport { _, _ in json(200, #"{"access_token":"ya29.c.ElqBBf-EXAMPLE","expires_in":3599,"token_type":"Bearer"}"#) }
        // The vector's audience is oauth2.googleapis.com (the library's fixture file still names accounts.google.com).
        guard case .serviceAccount(let email, let pem, let kid, _) = try GoogleCredentialsFile.parse(Fixtures.data("service_account.json"), source: "f")
        else { Issue.record("not a service account"); return }
        let uri = "https://oauth2.googleapis.com/token"
        let source = ServiceAccountTokenSource(
            email: email, signer: try ServiceAccountJWTSigner(privateKeyPEM: pem, keyID: kid, source: "f"), tokenURI: uri,
            transport: transport, label: "f", clock: { Date(timeIntervalSince1970: 1_700_000_000) })
        let token = try await source.fetch()
        #expect(token.token == "ya29.c.ElqBBf-EXAMPLE")
        let request = try #require(transport.requests.first)
        #expect(request.url.absoluteString == "https://oauth2.googleapis.com/token")
        #expect(request.headers.first(name: "Content-Type") == "application/x-www-form-urlencoded")
        #expect(String(decoding: request.body, as: UTF8.self) == Self.vector["token_request"]?["body"]?.stringValue)
    }

    @Test("invalid_grant is an authentication error in one line, without the assertion")
    func invalidGrant() async throws {
        let transport = ScriptedTransport { _, _ in json(400, #"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#) }
        guard case .serviceAccount(let email, let pem, let kid, let uri) = try GoogleCredentialsFile.parse(Fixtures.data("service_account.json"), source: "f")
        else { return }
        let source = ServiceAccountTokenSource(
            email: email, signer: try ServiceAccountJWTSigner(privateKeyPEM: pem, keyID: kid, source: "f"), tokenURI: uri,
            transport: transport, label: "f")
        await #expect {
            try await source.fetch()
        } throws: { error in
            guard let e = error as? ProviderError else { return false }
            return e.code == .authentication && e.message.contains("invalid_grant") && !e.message.contains("eyJ") && !e.message.contains("\n")
        }
    }

    @Test("a key file whose PEM does not parse is a credentials error naming the file, never the key")
    func badPEM() {
        #expect {
            try ServiceAccountJWTSigner(privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nMIIBroken\n-----END PRIVATE KEY-----\n", keyID: "1", source: "/k.json")
        } throws: { error in
            guard let e = error as? ProviderError else { return false }
            return e.code == .credentials && e.message.contains("/k.json") && !e.message.contains("MIIB")
        }
        #expect(throws: ProviderError.self) { try GoogleCredentialsFile.parse(Data("{not json".utf8), source: "x") }
    }

    @Test("authorized_user uses the refresh-token grant")
    func authorizedUser() async throws {
        let transport = ScriptedTransport { _, _ in json(200, #"{"access_token":"ya29.u","expires_in":3599}"#) }
        let source = try ApplicationDefaultCredentials.source(
            for: Fixtures.data("authorized_user.json"), label: "adc", transport: transport, readFile: { _ in nil })
        _ = try await source.fetch()
        let body = String(decoding: try #require(transport.requests.first).body, as: UTF8.self)
        #expect(body.hasPrefix("grant_type=refresh_token&client_id=123&client_secret=secret&refresh_token=alabalaportocala"))
        #expect(try await source.member() == nil)
    }

    @Test("external_account: file subject token → STS exchange → impersonation")
    func externalAccount() async throws {
        let transport = ScriptedTransport { request, n in
            n == 1 ? json(200, #"{"access_token":"sts-token","expires_in":3600}"#)
                : json(200, #"{"accessToken":"ya29.imp","expireTime":"2099-05-01T13:00:00Z"}"#)
        }
        let source = try ApplicationDefaultCredentials.source(
            for: Fixtures.data("external_account.identity-pool.file.json"), label: "wif", transport: transport,
            readFile: { $0 == "/var/run/secrets/tokens/gcp-ksa/token" ? Data("oidc.jwt.here\n".utf8) : nil })
        let token = try await source.fetch()
        #expect(token.token == "ya29.imp")
        let sts = String(decoding: transport.requests[0].body, as: UTF8.self)
        #expect(sts.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"))
        #expect(sts.contains("subject_token=oidc.jwt.here&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"))
        #expect(transport.requests[1].headers.first(name: "Authorization") == "Bearer sts-token")
        #expect(transport.requests[1].url.absoluteString.hasSuffix("sa@my-project.iam.gserviceaccount.com:generateAccessToken"))
        #expect(try await source.member() == "serviceAccount:sa@my-project.iam.gserviceaccount.com")
    }

    @Test("external_account with a URL source and a JSON subject token, no impersonation")
    func externalAccountURL() async throws {
        let config = #"{"type":"external_account","audience":"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x","subject_token_type":"urn:ietf:params:oauth:token-type:jwt","token_url":"https://sts.googleapis.com/v1/token","credential_source":{"url":"http://169.254.169.254/token","headers":{"Metadata":"True"},"format":{"type":"json","subject_token_field_name":"value"}}}"#
        let transport = ScriptedTransport { request, n in
            n == 1 ? json(200, #"{"value":"subject.jwt"}"#) : json(200, #"{"access_token":"ya29.fed","expires_in":3600}"#)
        }
        let source = try ApplicationDefaultCredentials.source(for: Data(config.utf8), label: "wif", transport: transport, readFile: { _ in nil })
        #expect(try await source.fetch().token == "ya29.fed")
        #expect(transport.requests[0].headers.first(name: "Metadata") == "True")
        #expect(String(decoding: transport.requests[1].body, as: UTF8.self).contains("subject_token=subject.jwt&"))
        #expect(try await source.member() == nil)
    }

    @Test("nothing configured: one error naming every place looked")
    func nothingConfigured() async throws {
        let failing = ScriptedTransport { _, _ in throw HTTPError.connectFailed }
        let source = try ApplicationDefaultCredentials.resolve(
            environment: ["HOME": "/nonexistent-home"], transport: failing, metadataTransport: { _ in failing },
            readFile: { _ in nil })
        await #expect {
            try await source.fetch()
        } throws: { error in
            guard let e = error as? ProviderError else { return false }
            return e.code == .credentials && e.message.contains("GOOGLE_APPLICATION_CREDENTIALS is not set")
                && e.message.contains("/nonexistent-home/.config/gcloud/application_default_credentials.json")
                && e.message.contains("metadata.google.internal")
        }
    }

    @Test("metadata server: Metadata-Flavor both ways; an answer without it is refused")
    func metadata() async throws {
        let good = ScriptedTransport { request, _ in
            #expect(request.headers.first(name: "Metadata-Flavor") == "Google")
            var r = json(200, #"{"access_token":"ya29.c.EXAMPLE","expires_in":3599,"token_type":"Bearer"}"#)
            r.headers.add(name: "Metadata-Flavor", value: "Google")
            return r
        }
        let token = try await MetadataServerTokenSource(host: "127.0.0.1:1", transport: good).fetch()
        #expect(token.token == "ya29.c.EXAMPLE")
        #expect(good.requests[0].url.absoluteString
            == "http://127.0.0.1:1/computeMetadata/v1/instance/service-accounts/default/token?scopes=https://www.googleapis.com/auth/cloud-platform")
        let impostor = ScriptedTransport { _, _ in json(200, #"{"access_token":"x","expires_in":3599}"#) }
        await #expect(throws: ProviderError.self) { try await MetadataServerTokenSource(host: "127.0.0.1:1", transport: impostor).fetch() }
    }

    @Test("tokens are cached until five minutes before expiry and concurrent callers share one fetch")
    func caching() async throws {
        actor Count { var n = 0; func bump() -> Int { n += 1; return n } }
        struct Slow: GoogleTokenSource {
            let count: Count
            var label: String { "slow" }
            func member() async throws -> String? { nil }
            func fetch() async throws -> GoogleAccessToken {
                let n = await count.bump()
                try await Task.sleep(for: .milliseconds(50))
                return GoogleAccessToken(token: "t\(n)", expiresAt: Date().addingTimeInterval(n == 1 ? 200 : 3600))
            }
        }
        let count = Count()
        let provider = CachingTokenProvider(source: Slow(count: count))
        async let a = provider.token()
        async let b = provider.token()
        let (x, y) = try await (a, b)
        #expect(x == "t1" && y == "t1")
        // t1 expires within the margin: the next call fetches again.
        #expect(try await provider.token() == "t2")
        #expect(try await provider.token() == "t2")
        #expect(await count.n == 2)
    }
}

@Suite("GCP secrets are redacted")
struct GCPRedactionTests {
    @Test("token form bodies, token answers and bearer headers lose their secrets")
    func redaction() {
        let form = "grant_type=refresh_token&client_id=123&client_secret=s3cr3t&refresh_token=alabalaportocala"
        let jwt = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"
        let sts = "grant_type=urn%3Aietf&subject_token=oidc.jwt.value&subject_token_type=urn%3Aietf%3Ajwt"
        let answer = #"{"access_token":"ya29.c.secret","expires_in":3599}"#
        let impersonated = #"{"accessToken":"ya29.imp.secret","expireTime":"2099-01-01T00:00:00Z"}"#
        let key = #"{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}"#
        for (text, secret) in [
            (form, "s3cr3t"), (form, "alabalaportocala"), (jwt, "eyJhbGciOiJSUzI1NiJ9"), (sts, "oidc.jwt.value"),
            (answer, "ya29.c.secret"), (impersonated, "ya29.imp.secret"), (key, "MIIE"),
        ] {
            #expect(!Redactor.standard.redact(text).contains(secret), "\(secret) survives in \(Redactor.standard.redact(text))")
        }
        #expect(Redactor.standard.redact(headerValue: "Bearer ya29.c.secret", name: "Authorization") == Redactor.placeholder
            || !Redactor.standard.redact(headerValue: "Bearer ya29.c.secret", name: "Authorization").contains("ya29.c.secret"))
    }
}
