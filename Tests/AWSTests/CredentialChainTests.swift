import AWS
import Foundation
import HTTP
import PolicyChange
import SigV4
import Testing

/// The default chain: which source wins, and what it says when none does.
@Suite struct CredentialChainTests {
    static let stsEndpoint = URL(string: "https://sts.us-east-1.amazonaws.com")!
    static let envKeys = [
        "AWS_ACCESS_KEY_ID": "AKIAENVEXAMPLE", "AWS_SECRET_ACCESS_KEY": "envSecretEXAMPLEKEY",
    ]

    func chain(
        profile: String? = nil, home: TestHome, _ variables: [String: String] = [:],
        sts: FakeTransport = .unused(), metadata: FakeTransport = .unreachable()
    ) -> CredentialChain {
        defaultCredentialSources(
            profile: profile, environment: home.environment(variables), transport: sts, metadataTransport: metadata,
            region: "us-east-1", stsEndpoint: Self.stsEndpoint, logger: testLogger,
            clock: { date("2024-05-01T12:00:00Z") },
            containerPolicy: MetadataServicePolicy(timeout: .seconds(30), attempts: 1, pause: .zero),
            instanceMetadataPolicy: MetadataServicePolicy(timeout: .seconds(30), attempts: 1, pause: .zero))
    }

    func found(_ chain: CredentialChain) async throws -> (AWSCredentials, String)? {
        switch try await chain.lookup() {
        case .found(let credentials, let source): return (credentials, source)
        case .notFound(let note):
            Issue.record("expected credentials, looked in \(note)")
            return nil
        }
    }

    func homeWithSharedExamples() throws -> TestHome {
        let home = try TestHome()
        try home.config(try CredentialFixtures.shared("shared-config.example.ini"))
        try home.credentials(try CredentialFixtures.shared("shared-credentials.example.ini"))
        return home
    }

    // MARK: Order

    @Test func environmentWinsOverEverythingElse() async throws {
        let home = try homeWithSharedExamples()
        let variables = Self.envKeys.merging(
            ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/x", "AWS_PROFILE": "admin-static"]) { a, _ in a }
        let (credentials, source) = try #require(try await found(chain(home: home, variables, metadata: .unused())))
        #expect(credentials.accessKeyID == "AKIAENVEXAMPLE")
        #expect(credentials.sessionToken == nil)
        #expect(source == "the environment (AWS_ACCESS_KEY_ID)")
    }

    @Test func runbookProfileSwitchesTheEnvironmentOff() async throws {
        let home = try homeWithSharedExamples()
        let (credentials, source) = try #require(
            try await found(chain(profile: "admin-static", home: home, Self.envKeys)))
        #expect(credentials.accessKeyID == "ASIAIOSFODNN7EXAMPLE")
        #expect(credentials.sessionToken?.hasPrefix("IQoJb3JpZ2lu") == true)
        #expect(source == "profile 'admin-static' in \(home.credentialsPath):6")
    }

    @Test func awsProfileVariableSelectsTheProfileWhenNoEnvironmentKeys() async throws {
        let home = try homeWithSharedExamples()
        let (credentials, _) = try #require(
            try await found(chain(home: home, ["AWS_PROFILE": "admin-static"])))
        #expect(credentials.accessKeyID == "ASIAIOSFODNN7EXAMPLE")
        let (fallback, source) = try #require(try await found(chain(home: home)))
        #expect(fallback.accessKeyID == "AKIAIOSFODNN7EXAMPLE")
        #expect(source == "profile 'default' in \(home.credentialsPath):2")
    }

    @Test func credentialsFileBeforeProcessBeforeConfigFile() async throws {
        let home = try TestHome()
        let processOutput = CredentialFixtures.ownURL("credential_process.valid.json").path
        try home.config(
            text: """
                [default]
                credential_process = cat '\(processOutput)'
                aws_access_key_id = AKIACONFIGFILEEXAMPLE
                aws_secret_access_key = configFileSecret/K7MDENG/EXAMPLEKEY
                """)
        let fromProcess = try #require(try await found(chain(home: home)))
        #expect(fromProcess.0.accessKeyID == "ASIAPROCESSEXAMPLE")
        #expect(fromProcess.1 == "credential_process of profile 'default' (\(home.configPath):2)")

        try home.credentials(
            text: "[default]\naws_access_key_id = AKIABASEEXAMPLE\naws_secret_access_key = baseSecret/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
        #expect(try await found(chain(home: home))?.0.accessKeyID == "AKIABASEEXAMPLE")

        try home.config(
            text: "[default]\naws_access_key_id = AKIACONFIGFILEEXAMPLE\naws_secret_access_key = configFileSecret/K7MDENG/EXAMPLEKEY\n")
        try FileManager.default.removeItem(atPath: home.credentialsPath)
        let fromConfig = try #require(try await found(chain(home: home)))
        #expect(fromConfig.0.accessKeyID == "AKIACONFIGFILEEXAMPLE")
        #expect(fromConfig.1 == "profile 'default' in \(home.configPath):1")
    }

    @Test func containerBeforeInstanceMetadata() async throws {
        let home = try TestHome()
        let metadata = FakeTransport { request in
            #expect(request.url.host == "169.254.170.2")
            return .ok(try CredentialFixtures.shared("container-credentials.response.json"))
        }
        let (_, source) = try #require(
            try await found(chain(home: home, ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x"], metadata: metadata)))
        #expect(source == "the container credentials endpoint 169.254.170.2")
        #expect(metadata.requests.count == 1)
    }

    @Test func instanceMetadataLast() async throws {
        let home = try TestHome()
        let metadata = FakeTransport { request in
            switch (request.method, request.url.path(percentEncoded: false)) {
            case (.put, _): return .ok(text: "imdsSessionTokenEXAMPLE")
            case (.get, "/latest/meta-data/iam/security-credentials/"): return .ok(text: "role")
            default: return .ok(try CredentialFixtures.shared("imds-security-credentials.response.json"))
            }
        }
        let (credentials, source) = try #require(try await found(chain(home: home, metadata: metadata)))
        #expect(credentials.accessKeyID == "ASIAIOSFODNN7EXAMPLE")
        #expect(source == "EC2 instance metadata (role 'role')")
        #expect(metadata.requests.first?.url.absoluteString == "http://169.254.169.254/latest/api/token")
    }

    // MARK: Nothing found

    @Test func lookedInEverywhere() async throws {
        let home = try TestHome()
        let error = await providerError { _ = try await chain(home: home).credentials() }
        #expect(error?.code == .credentials)
        #expect(
            error?.message
                == "no AWS credentials: looked in the environment (AWS_ACCESS_KEY_ID unset), profile 'default' in "
                + "\(home.credentialsPath) (no such file), \(home.configPath) (no such file), web identity "
                + "(AWS_WEB_IDENTITY_TOKEN_FILE unset), container (AWS_CONTAINER_CREDENTIALS_* unset), EC2 instance "
                + "metadata (no answer from 169.254.169.254)")
    }

    @Test func lookedInWithFilesButNoKeysAndAnExplicitProfile() async throws {
        let home = try TestHome()
        try home.config(text: "[profile quiet]\nregion = us-east-1\n")
        try home.credentials(text: "[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = s3cr3tOtherEXAMPLE\n")
        let error = await providerError {
            _ = try await chain(profile: "quiet", home: home, Self.envKeys, metadata: .unreachable()).credentials()
        }
        #expect(
            error?.message
                == "no AWS credentials: looked in the environment (not read: target.aws.profile 'quiet' chooses the "
                + "credentials), profile 'quiet' in \(home.credentialsPath) (no [quiet] section), \(home.configPath) "
                + "(no aws_access_key_id in [profile quiet]), web identity (no web_identity_token_file in profile "
                + "'quiet'; AWS_WEB_IDENTITY_TOKEN_FILE is not read for target.aws.profile), container "
                + "(AWS_CONTAINER_CREDENTIALS_* unset), EC2 instance metadata (no answer from 169.254.169.254)")
        #expect(error?.message.contains("s3cr3tOther") == false)
    }

    // MARK: Configured but broken

    @Test func partialKeysAreErrorsNotFallThrough() async throws {
        let home = try TestHome()
        let envError = await providerError {
            _ = try await chain(home: home, ["AWS_ACCESS_KEY_ID": "AKIAENVEXAMPLE"]).credentials()
        }
        #expect(envError?.message.hasPrefix("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not") == true)

        try home.credentials(try CredentialFixtures.own("credentials.roles.ini"))
        let fileError = await providerError { _ = try await chain(profile: "partial", home: home).credentials() }
        #expect(
            fileError?.message
                == "\(home.credentialsPath):10: [partial] has aws_access_key_id but no aws_secret_access_key")
    }

    @Test func ssoProfilesAreRefusedWithAWayForward() async throws {
        let home = try homeWithSharedExamples()
        let error = await providerError { _ = try await chain(profile: "sso-dev", home: home).credentials() }
        #expect(error?.code == .credentials)
        #expect(error?.message.hasPrefix("profile 'sso-dev' uses IAM Identity Center (\(home.configPath):") == true)
        #expect(error?.message.contains("aws configure export-credentials --profile sso-dev --format env") == true)
    }

    @Test func malformedCredentialsFileIsAnError() async throws {
        let home = try TestHome()
        try home.credentials(try CredentialFixtures.own("malformed/no-equals.ini"))
        let error = await providerError { _ = try await chain(home: home).credentials() }
        #expect(error?.message == "\(home.credentialsPath):3: expected 'name = value' or '[section]'")
        expectNoSecrets(error)
    }

    // MARK: Environment details

    @Test func environmentTokenExpiryAndLegacyName() async throws {
        let home = try TestHome()
        var variables = Self.envKeys
        variables["AWS_SECURITY_TOKEN"] = "envSessionTokenEXAMPLE"
        variables["AWS_CREDENTIAL_EXPIRATION"] = "2024-05-01T13:00:00+00:00"
        let (credentials, _) = try #require(try await found(chain(home: home, variables)))
        #expect(credentials.sessionToken == "envSessionTokenEXAMPLE")
        #expect(credentials.expiration == date("2024-05-01T13:00:00Z"))

        variables["AWS_SESSION_TOKEN"] = "preferred"
        #expect(try await found(chain(home: home, variables))?.0.sessionToken == "preferred")

        variables["AWS_CREDENTIAL_EXPIRATION"] = "2024-05-01T11:59:59Z"
        let expired = await providerError { _ = try await chain(home: home, variables).credentials() }
        #expect(
            expired?.message
                == "the credentials in the environment expired at 2024-05-01T11:59:59Z (AWS_CREDENTIAL_EXPIRATION); "
                + "export fresh ones")
        variables["AWS_CREDENTIAL_EXPIRATION"] = "tomorrow"
        let unreadable = await providerError { _ = try await chain(home: home, variables).credentials() }
        #expect(unreadable?.message.hasPrefix("AWS_CREDENTIAL_EXPIRATION 'tomorrow' is not an ISO 8601 time") == true)
    }

    // MARK: credential_process

    @Test func credentialProcessFailuresQuoteStderrNeverStdout() async throws {
        let home = try TestHome()
        try home.config(
            text: """
                [profile failing]
                credential_process = echo '{"Version":1,"AccessKeyId":"A","SecretAccessKey":"processSecret/K7MDENG/bPxRfiCYEXAMPLEKEY"}'; echo 'token expired, run sso login' >&2; exit 3
                [profile not-json]
                credential_process = echo processSecret/K7MDENG/bPxRfiCYEXAMPLEKEY
                [profile shared-fixture]
                credential_process = cat '\(CredentialFixtures.sharedURL("credential_process.output.json").path)'
                [profile leaky]
                credential_process = echo processSecret/K7MDENG/bPxRfiCYEXAMPLEKEY; echo could not refresh processSecret/K7MDENG/bPxRfiCYEXAMPLEKEY >&2; exit 1
                [profile version-2]
                credential_process = echo '{"Version":2}'
                """)
        let failing = await providerError { _ = try await chain(profile: "failing", home: home).credentials() }
        #expect(
            failing?.message
                == "the credential_process of profile 'failing' (\(home.configPath):2) exited with status 3: "
                + "token expired, run sso login")
        expectNoSecrets(failing)

        let leaky = await providerError { _ = try await chain(profile: "leaky", home: home).credentials() }
        #expect(leaky?.message.hasSuffix("exited with status 1: could not refresh <redacted>") == true)
        expectNoSecrets(leaky)

        let notJSON = await providerError { _ = try await chain(profile: "not-json", home: home).credentials() }
        #expect(notJSON?.message.hasSuffix("printed no \"Version\": 1 JSON object") == true)
        expectNoSecrets(notJSON)

        // The shared fixture documents the fields; its Expiration is prose, not a time.
        let prose = await providerError { _ = try await chain(profile: "shared-fixture", home: home).credentials() }
        #expect(prose?.message.hasSuffix("printed unusable credentials: the answer's Expiration is not an ISO 8601 time") == true)
        expectNoSecrets(prose)

        let version = await providerError { _ = try await chain(profile: "version-2", home: home).credentials() }
        #expect(version?.message.hasSuffix("printed an unsupported Version; expected 1") == true)
    }

    @Test func credentialProcessFromTheFixture() async throws {
        let home = try TestHome()
        let output = CredentialFixtures.ownURL("credential_process.valid.json").path
        try home.config(text: "[profile proc]\ncredential_process = cat '\(output)'\n")
        let (credentials, _) = try #require(try await found(chain(profile: "proc", home: home)))
        #expect(credentials.accessKeyID == "ASIAPROCESSEXAMPLE")
        #expect(credentials.secretAccessKey == "processSecret/K7MDENG/bPxRfiCYEXAMPLEKEY")
        #expect(credentials.sessionToken == "processSessionTokenEXAMPLE")
        #expect(credentials.expiration == date("2030-01-01T00:00:00Z"))
    }

    // MARK: Secrets

    /// Every way a found credential can be printed stays redacted.
    @Test func foundCredentialsPrintRedacted() async throws {
        let home = try homeWithSharedExamples()
        let lookup = try await chain(profile: "admin-static", home: home).lookup()
        for text in [String(describing: lookup), String(reflecting: lookup), "\(lookup)"] {
            expectNoSecrets(text)
            #expect(!text.contains("ASIAIOSFODNN7EXAMPLE"))
        }
        var dumped = ""
        dump(lookup, to: &dumped)
        expectNoSecrets(dumped)
    }
}
