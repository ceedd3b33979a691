import AWS
import Foundation
import HTTP
import PolicyChange
import SigV4
import Synchronization
import Testing

/// Profiles with `role_arn`, and web identity: the STS requests they send and what they
/// make of the answers.
@Suite struct AssumeRoleTests {
    static let stsEndpoint = URL(string: "https://sts.eu-west-1.amazonaws.com")!
    static let signingTime = date("2024-05-01T12:00:00Z")

    /// A home with `config.roles.ini` and `credentials.roles.ini`.
    func rolesHome() throws -> TestHome {
        let home = try TestHome()
        try home.config(try CredentialFixtures.own("config.roles.ini"))
        try home.credentials(try CredentialFixtures.own("credentials.roles.ini"))
        return home
    }

    /// An STS that answers each request with the next body, checking the endpoint.
    func sts(_ bodies: [Data], status: Int = 200) -> FakeTransport {
        let remaining = Mutex(bodies)
        return FakeTransport { request in
            #expect(request.method == .post)
            #expect(request.url == Self.stsEndpoint)
            let body = remaining.withLock { $0.isEmpty ? Data() : $0.removeFirst() }
            return HTTPResponse(status: status, headers: ["Content-Type": "text/xml"], body: body)
        }
    }

    func source(
        profile: String?, home: TestHome, variables: [String: String] = [:], transport: FakeTransport,
        metadata: FakeTransport? = nil, mfaCode: MFACodeProvider? = nil
    ) -> CredentialChain {
        defaultCredentialSources(
            profile: profile, environment: home.environment(variables), transport: transport,
            metadataTransport: metadata ?? FakeTransport.unreachable(), region: "eu-west-1",
            stsEndpoint: Self.stsEndpoint, logger: testLogger, clock: { Self.signingTime }, mfaCode: mfaCode,
            containerPolicy: MetadataServicePolicy(timeout: .seconds(5), attempts: 1, pause: .zero))
    }

    /// `AWS4-HMAC-SHA256 Credential=<key id>/20240501/eu-west-1/sts/aws4_request,
    /// SignedHeaders=…, Signature=<64 hex>`.
    func expectSigned(_ request: HTTPRequest, by keyID: String, sessionToken: String? = nil) {
        let authorization = request.headers.first(name: "Authorization") ?? ""
        let prefix = "AWS4-HMAC-SHA256 Credential=\(keyID)/20240501/eu-west-1/sts/aws4_request, SignedHeaders="
        #expect(authorization.hasPrefix(prefix), "Authorization: \(authorization)")
        let signedHeaders = authorization.dropFirst(prefix.count).prefix { $0 != "," }
        let expectedHeaders = "content-type;host;x-amz-date" + (sessionToken == nil ? "" : ";x-amz-security-token")
        #expect(signedHeaders == expectedHeaders)
        let signature = authorization.components(separatedBy: ", Signature=").last ?? ""
        #expect(signature.count == 64 && signature.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(request.headers.first(name: "X-Amz-Date") == "20240501T120000Z")
        #expect(request.headers.first(name: "X-Amz-Security-Token") == sessionToken)
        #expect(request.headers.first(name: "Content-Type") == "application/x-www-form-urlencoded; charset=utf-8")
    }

    // MARK: AssumeRole

    @Test func assumeRoleWithSourceProfileIsSignedWithTheSourceKeys() async throws {
        let home = try rolesHome()
        let transport = sts([try CredentialFixtures.own("AssumeRole.response.xml")])
        let lookup = try await source(profile: "admin", home: home, transport: transport).lookup()

        guard case .found(let credentials, let description) = lookup else {
            Issue.record("expected credentials, got \(lookup)")
            return
        }
        #expect(credentials.accessKeyID == "ASIAROLEFIRSTHOPEXAMPLE")
        #expect(credentials.secretAccessKey == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY")
        #expect(credentials.sessionToken?.hasPrefix("AQoDYXdzEPT//////////wEXAMPLE") == true)
        #expect(credentials.expiration == date("2011-07-15T23:28:33.359Z"))
        #expect(
            description
                == "profile 'admin' (role arn:aws:iam::111122223333:role/KeyAdmin assumed with profile 'base' in "
                + "\(home.credentialsPath):1)")

        let request = try #require(transport.requests.first)
        #expect(transport.requests.count == 1)
        expectSigned(request, by: "AKIABASEEXAMPLE")
        #expect(
            request.formFields == [
                "Action": "AssumeRole", "Version": "2011-06-15",
                "RoleArn": "arn:aws:iam::111122223333:role/KeyAdmin", "RoleSessionName": "kms-policy-tool",
                "ExternalId": "ext-123", "DurationSeconds": "3600",
            ])
        #expect(
            request.bodyText.hasPrefix("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FKeyAdmin&"))
        expectNoSecrets(description)
        expectNoSecrets(String(describing: lookup))
    }

    @Test func sourceProfileChainAssumesEachRoleInTurn() async throws {
        let home = try rolesHome()
        let transport = sts([
            try CredentialFixtures.own("AssumeRole.response.xml"),
            try CredentialFixtures.own("AssumeRole.response.second-hop.xml"),
        ])
        let credentials = try await source(profile: "chained", home: home, transport: transport).credentials()
        #expect(credentials.accessKeyID == "ASIAROLESECONDHOPEXAMPLE")
        #expect(credentials.sessionToken == "secondHopSessionToken&EXAMPLE==")

        let requests = transport.requests
        #expect(requests.count == 2)
        // First the jump role with the base keys, then the target role with the jump role's session.
        expectSigned(requests[0], by: "AKIABASEEXAMPLE")
        #expect(requests[0].formFields["RoleArn"] == "arn:aws:iam::123456789012:role/demo")
        #expect(requests[0].formFields["RoleSessionName"] == "policy-change-1714564800")
        let firstToken = try #require(
            String(decoding: try CredentialFixtures.own("AssumeRole.response.xml"), as: UTF8.self)
                .components(separatedBy: "<SessionToken>").last?.components(separatedBy: "</SessionToken>").first)
        expectSigned(requests[1], by: "ASIAROLEFIRSTHOPEXAMPLE", sessionToken: firstToken)
        #expect(requests[1].formFields["RoleArn"] == "arn:aws:iam::111122223333:role/KeyAdmin")
    }

    @Test func sourceProfileLoopIsDetected() async throws {
        let home = try rolesHome()
        let error = await providerError { _ = try await source(profile: "loop-a", home: home, transport: .unused()).credentials() }
        #expect(error?.code == .credentials)
        #expect(error?.message.hasPrefix("source_profile loop: 'loop-a' → 'loop-b' → 'loop-a' (profile 'loop-b' (") == true)
    }

    @Test func profileNamingItselfWithStaticKeysIsNoLoop() async throws {
        let home = try rolesHome()
        let transport = sts([try CredentialFixtures.own("AssumeRole.response.xml")])
        let credentials = try await source(profile: "self", home: home, transport: transport).credentials()
        #expect(credentials.accessKeyID == "ASIAROLEFIRSTHOPEXAMPLE")
        expectSigned(try #require(transport.requests.first), by: "AKIASELFEXAMPLE")
    }

    @Test func credentialSourceEnvironmentSignsWithTheEnvironmentKeys() async throws {
        let home = try rolesHome()
        let transport = sts([try CredentialFixtures.own("AssumeRole.response.xml")])
        let variables = [
            "AWS_ACCESS_KEY_ID": "AKIAENVEXAMPLE", "AWS_SECRET_ACCESS_KEY": "envSecretEXAMPLEKEY",
            "AWS_SESSION_TOKEN": "envSessionTokenEXAMPLE",
        ]
        // The runbook names the profile, so the environment is not a link of the chain —
        // but credential_source = Environment still reads it, as in botocore.
        let credentials = try await source(profile: "from-env", home: home, variables: variables, transport: transport)
            .credentials()
        #expect(credentials.accessKeyID == "ASIAROLEFIRSTHOPEXAMPLE")
        expectSigned(try #require(transport.requests.first), by: "AKIAENVEXAMPLE", sessionToken: "envSessionTokenEXAMPLE")

        let empty = await providerError { _ = try await source(profile: "from-env", home: home, transport: .unused()).credentials() }
        #expect(
            empty?.message.contains(
                "sets credential_source = Environment, but there are no credentials there: the environment "
                    + "(AWS_ACCESS_KEY_ID unset)") == true)
    }

    @Test func credentialSourceEcsContainer() async throws {
        let home = try rolesHome()
        let transport = sts([try CredentialFixtures.own("AssumeRole.response.xml")])
        let container = FakeTransport { request in
            #expect(request.url.absoluteString == "http://169.254.170.2/v2/credentials/task")
            return .ok(try CredentialFixtures.shared("container-credentials.response.json"))
        }
        let chain = source(
            profile: "from-container", home: home,
            variables: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/task"], transport: transport,
            metadata: container)
        _ = try await chain.credentials()
        expectSigned(try #require(transport.requests.first), by: "ASIAIOSFODNN7EXAMPLE", sessionToken: "token")
    }

    @Test(arguments: [
        ("both-sources", "sets both source_profile and credential_source; keep one"),
        ("no-source", "sets role_arn but neither source_profile nor credential_source"),
        ("bad-duration", "duration_seconds '60' must be a whole number of seconds from 900 to 43200"),
        ("missing-source", "names source_profile 'bsae', which is not in"),
        ("mfa", "needs a code from MFA device arn:aws:iam::111122223333:mfa/alice (mfa_serial)"),
    ])
    func misconfiguredRoleProfiles(profile: String, fragment: String) async throws {
        let home = try rolesHome()
        let error = await providerError {
            _ = try await source(profile: profile, home: home, transport: .unused()).credentials()
        }
        #expect(error?.code == .credentials)
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
        expectNoSecrets(error)
    }

    @Test func missingSourceProfileSuggestsTheNearestName() async throws {
        let home = try rolesHome()
        let error = await providerError {
            _ = try await source(profile: "missing-source", home: home, transport: .unused()).credentials()
        }
        #expect(error?.message.hasSuffix("(did you mean 'base'?)") == true)
    }

    @Test func mfaCodeIsSentWhenAPromptIsGiven() async throws {
        let home = try rolesHome()
        let transport = sts([try CredentialFixtures.own("AssumeRole.response.xml")])
        let asked = Mutex<[String]>([])
        let chain = source(profile: "mfa", home: home, transport: transport) { serial in
            asked.withLock { $0.append(serial) }
            return "123456\n"
        }
        _ = try await chain.credentials()
        #expect(asked.withLock { $0 } == ["arn:aws:iam::111122223333:mfa/alice"])
        let fields = try #require(transport.requests.first).formFields
        #expect(fields["SerialNumber"] == "arn:aws:iam::111122223333:mfa/alice")
        #expect(fields["TokenCode"] == "123456")
    }

    @Test func stsAccessDeniedKeepsCodeAndStatus() async throws {
        let home = try rolesHome()
        let transport = sts([try CredentialFixtures.own("AssumeRole.error.AccessDenied.xml")], status: 403)
        let error = await providerError { _ = try await source(profile: "admin", home: home, transport: transport).credentials() }
        #expect(error?.code == .accessDenied)
        #expect(error?.serviceCode == "AccessDenied")
        #expect(error?.httpStatus == 403)
        #expect(
            error?.message
                == "STS AssumeRole for arn:aws:iam::111122223333:role/KeyAdmin failed: AccessDenied: User: "
                + "arn:aws:iam::111122223333:user/alice is not authorized to perform: sts:AssumeRole on resource: "
                + "arn:aws:iam::111122223333:role/KeyAdmin")
        expectNoSecrets(error)
    }

    @Test(arguments: [
        (500, "<html>oops</html>", ProviderError.Code.unavailable, "HTTP 500 (<html>oops</html>)"),
        (400, "", ProviderError.Code.authentication, "HTTP 400"),
        (200, "<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>", .invalidResponse, "without AssumeRoleResult/Credentials"),
        (
            200,
            "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleResult></AssumeRoleResponse>",
            .invalidResponse, "without SecretAccessKey, SessionToken, Expiration"
        ),
        (200, "not xml", .invalidResponse, "malformed XML"),
    ])
    func unusableSTSAnswers(status: Int, body: String, code: ProviderError.Code, fragment: String) async throws {
        let home = try rolesHome()
        let transport = sts([Data(body.utf8)], status: status)
        let error = await providerError { _ = try await source(profile: "admin", home: home, transport: transport).credentials() }
        #expect(error?.code == code)
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
    }

    @Test func transportFailureBecomesUnavailable() async throws {
        let home = try rolesHome()
        let error = await providerError {
            _ = try await source(profile: "admin", home: home, transport: .unreachable()).credentials()
        }
        #expect(error?.code == .unavailable)
        #expect(
            error?.message
                == "STS AssumeRole for arn:aws:iam::111122223333:role/KeyAdmin at https://sts.eu-west-1.amazonaws.com: "
                + "connection refused")
    }

    // MARK: Web identity

    /// Expected form of the fixture, with the token file's contents in place of the
    /// placeholder.
    func expectedWebIdentityForm(token: String) throws -> [String: String] {
        let fixture = try CredentialFixtures.sharedText("AssumeRoleWithWebIdentity.request.form.txt")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var fields = HTTPRequest.formFields(
            fixture.replacingOccurrences(
                of: "<contents of AWS_WEB_IDENTITY_TOKEN_FILE, url-encoded>", with: "TOKEN"))
        fields["WebIdentityToken"] = token
        return fields
    }

    @Test func webIdentityFromTheEnvironmentIsUnsignedAndCarriesTheToken() async throws {
        let home = try TestHome()
        let tokenFile = CredentialFixtures.ownURL("web-identity-token.jwt").path
        let token = try CredentialFixtures.ownText("web-identity-token.jwt").trimmingCharacters(in: .newlines)
        let transport = sts([try CredentialFixtures.shared("AssumeRoleWithWebIdentity.response.xml")])
        let variables = [
            "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/FederatedWebIdentityRole",
            "AWS_ROLE_SESSION_NAME": "app1",
        ]
        let lookup = try await source(profile: nil, home: home, variables: variables, transport: transport).lookup()
        guard case .found(let credentials, let description) = lookup else {
            Issue.record("expected credentials, got \(lookup)")
            return
        }
        #expect(credentials.accessKeyID == "AKIAIOSFODNN7EXAMPLE")
        #expect(credentials.sessionToken == "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE")
        #expect(credentials.expiration == date("2014-10-24T23:00:23Z"))
        #expect(
            description
                == "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role arn:aws:iam::123456789012:role/FederatedWebIdentityRole)")

        let request = try #require(transport.requests.first)
        #expect(request.headers.first(name: "Authorization") == nil)
        #expect(!request.headers.contains { $0.name.lowercased().hasPrefix("x-amz-") })
        #expect(request.formFields == (try expectedWebIdentityForm(token: token)))
        #expect(
            request.bodyText.hasPrefix(
                "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FFederatedWebIdentityRole&RoleSessionName=app1&WebIdentityToken="
            ))
    }

    @Test func webIdentityFromTheProfile() async throws {
        let home = try TestHome()
        let tokenFile = try home.file("token", try CredentialFixtures.own("web-identity-token.jwt"))
        try home.config(text: "[profile webid]\nrole_arn = arn:aws:iam::111122223333:role/ci\nweb_identity_token_file = \(tokenFile)\n")
        let transport = sts([try CredentialFixtures.shared("AssumeRoleWithWebIdentity.response.xml")])
        // The runbook names the profile, so the environment's web identity variables are ignored.
        let variables = ["AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent", "AWS_ROLE_ARN": "arn:aws:iam::1:role/wrong"]
        let credentials = try await source(profile: "webid", home: home, variables: variables, transport: transport)
            .credentials()
        #expect(credentials.accessKeyID == "AKIAIOSFODNN7EXAMPLE")
        let fields = try #require(transport.requests.first).formFields
        #expect(fields["RoleArn"] == "arn:aws:iam::111122223333:role/ci")
        #expect(fields["RoleSessionName"] == "policy-change-1714564800")
    }

    @Test func webIdentityErrorsFromTheFixture() async throws {
        let home = try TestHome()
        let tokenFile = CredentialFixtures.ownURL("web-identity-token.jwt").path
        let transport = sts([try CredentialFixtures.shared("ErrorResponse.example.xml")], status: 400)
        let variables = ["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"]
        let error = await providerError {
            _ = try await source(profile: nil, home: home, variables: variables, transport: transport).credentials()
        }
        #expect(error?.code == .authentication)
        #expect(error?.serviceCode == "InvalidIdentityToken")
        #expect(
            error?.message
                == "STS AssumeRoleWithWebIdentity for arn:aws:iam::1:role/r failed: InvalidIdentityToken: "
                + "No OpenIDConnect provider found in your account for https://oidc.example.com")
        expectNoSecrets(error)
    }

    @Test func webIdentityTokenEchoedByTheServiceIsRedacted() async throws {
        let home = try TestHome()
        let tokenFile = CredentialFixtures.ownURL("web-identity-token.jwt").path
        let token = try CredentialFixtures.ownText("web-identity-token.jwt").trimmingCharacters(in: .newlines)
        let body = "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>bad token \(token)</Message></Error></ErrorResponse>"
        let transport = sts([Data(body.utf8)], status: 400)
        let variables = ["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"]
        let error = await providerError {
            _ = try await source(profile: nil, home: home, variables: variables, transport: transport).credentials()
        }
        #expect(error?.message.hasSuffix("InvalidIdentityToken: bad token <redacted>") == true)
        expectNoSecrets(error)
    }

    @Test func webIdentityMisconfiguration() async throws {
        let home = try TestHome()
        let noRole = await providerError {
            _ = try await source(
                profile: nil, home: home, variables: ["AWS_WEB_IDENTITY_TOKEN_FILE": "/x"], transport: .unused()
            ).credentials()
        }
        #expect(noRole?.message == "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not; set the role to assume")
        let noFile = await providerError {
            _ = try await source(
                profile: nil, home: home,
                variables: ["AWS_WEB_IDENTITY_TOKEN_FILE": home.path + "/missing", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"],
                transport: .unused()
            ).credentials()
        }
        #expect(noFile?.message == "the web identity token file \(home.path)/missing does not exist")
    }
}
