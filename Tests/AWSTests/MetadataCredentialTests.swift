import AWS
import Foundation
import HTTP
import PolicyChange
import SigV4
import Synchronization
import Testing

/// The container credentials endpoint and EC2 instance metadata, against fakes.
@Suite struct MetadataCredentialTests {
    static let quick = MetadataServicePolicy(timeout: .seconds(30), attempts: 3, pause: .zero)

    func container(_ variables: [String: String], _ transport: FakeTransport) -> ContainerCredentialSource {
        ContainerCredentialSource(
            environment: AWSEnvironment(environment: variables, homeDirectory: "/nonexistent"), transport: transport,
            policy: Self.quick, logger: testLogger)
    }

    func instance(
        _ variables: [String: String], _ transport: FakeTransport,
        policy: MetadataServicePolicy = MetadataServicePolicy(timeout: .seconds(30), attempts: 1, pause: .zero)
    ) -> InstanceMetadataCredentialSource {
        InstanceMetadataCredentialSource(
            environment: AWSEnvironment(environment: variables, homeDirectory: "/nonexistent"), transport: transport,
            policy: policy, logger: testLogger)
    }

    // MARK: Container

    @Test func relativeURIWithAuthorizationToken() async throws {
        let transport = FakeTransport { request in
            #expect(request.method == .get)
            #expect(request.url.absoluteString == "http://169.254.170.2/v2/credentials/5f4c-task")
            #expect(request.headers.first(name: "Authorization") == "containerAuthTokenEXAMPLE")
            #expect(request.headers.first(name: "Accept") == "application/json")
            return .ok(try CredentialFixtures.shared("container-credentials.response.json"))
        }
        let lookup = try await container(
            [
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/5f4c-task",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "containerAuthTokenEXAMPLE",
            ], transport
        ).lookup()
        guard case .found(let credentials, let description) = lookup else {
            Issue.record("expected credentials, got \(lookup)")
            return
        }
        #expect(credentials.accessKeyID == "ASIAIOSFODNN7EXAMPLE")
        #expect(credentials.secretAccessKey == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        #expect(credentials.sessionToken == "token")
        #expect(credentials.expiration == date("2017-05-17T15:09:54Z"))
        // The path identifies the task's credentials: it stays out of messages.
        #expect(description == "the container credentials endpoint 169.254.170.2")
        #expect(transport.requests.count == 1)
    }

    @Test func fullURIWithTokenFileWhichWinsOverTheVariable() async throws {
        let home = try TestHome()
        let tokenFile = try home.file("eks-token", Data("eksPodIdentityTokenEXAMPLE\n".utf8))
        let transport = FakeTransport { request in
            #expect(request.url.absoluteString == "http://169.254.170.23/v1/credentials")
            #expect(request.headers["Authorization"] == ["eksPodIdentityTokenEXAMPLE"])
            return .ok(try CredentialFixtures.shared("container-credentials.response.json"))
        }
        _ = try await container(
            [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "containerAuthTokenEXAMPLE",
            ], transport
        ).credentials()
        #expect(transport.requests.count == 1)
    }

    @Test(arguments: [
        ("https://creds.example.com/role", true),
        ("http://127.0.0.1:8080/creds", true),
        ("http://localhost/creds", true),
        ("http://[::1]:9000/creds", true),
        ("http://169.254.170.2/creds", true),
        ("http://169.254.170.23/creds", true),
        ("http://[fd00:ec2::23]/creds", true),
        ("http://169.254.169.254/latest/meta-data/", false),
        ("http://creds.example.com/role", false),
        ("http://127.0.0.1.evil.com/creds", false),
        ("file:///etc/passwd", false),
    ])
    func fullURIIsRestricted(uri: String, allowed: Bool) async throws {
        let transport = FakeTransport { _ in .ok(try CredentialFixtures.shared("container-credentials.response.json")) }
        let source = container(["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri], transport)
        if allowed {
            _ = try await source.credentials()
            #expect(transport.requests.first?.url.absoluteString == uri)
        } else {
            let error = await providerError { _ = try await source.credentials() }
            #expect(error?.message.hasPrefix("AWS_CONTAINER_CREDENTIALS_FULL_URI ") == true)
            #expect(transport.requests.isEmpty)
        }
    }

    @Test func serverErrorsAreRetriedClientErrorsAreNot() async throws {
        let calls = Mutex(0)
        let flaky = FakeTransport { _ in
            let call = calls.withLock { count -> Int in
                count += 1
                return count
            }
            if call == 1 { return HTTPResponse(status: 503) }
            if call == 2 { throw FakeTransportError.connectionRefused }
            return .ok(try CredentialFixtures.shared("container-credentials.response.json"))
        }
        let variables = ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"]
        _ = try await container(variables, flaky).credentials()
        #expect(flaky.requests.count == 3)

        let denied = FakeTransport { _ in HTTPResponse(status: 403, body: Data("{\"code\":\"x\"}".utf8)) }
        let error = await providerError { _ = try await container(variables, denied).credentials() }
        #expect(error?.message == "the container credentials endpoint 169.254.170.2 answered HTTP 403")
        #expect(denied.requests.count == 1)

        let down = FakeTransport { _ in HTTPResponse(status: 500) }
        let unavailable = await providerError { _ = try await container(variables, down).credentials() }
        #expect(unavailable?.code == .unavailable)
        #expect(unavailable?.message == "the container credentials endpoint 169.254.170.2 did not answer after 3 attempts: HTTP 500")
    }

    @Test func unusableContainerAnswer() async throws {
        let transport = FakeTransport { _ in
            .ok(text: "{\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}")
        }
        let error = await providerError {
            _ = try await container(["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/x"], transport).credentials()
        }
        #expect(error?.code == .invalidResponse)
        #expect(error?.message == "the container credentials endpoint 169.254.170.2: the answer has no Token, Expiration")
        expectNoSecrets(error)
    }

    @Test func containerNotConfigured() async throws {
        let lookup = try await container([:], .unused()).lookup()
        guard case .notFound(let note) = lookup else {
            Issue.record("expected notFound")
            return
        }
        #expect(note == "container (AWS_CONTAINER_CREDENTIALS_* unset)")
    }

    // MARK: IMDSv2

    /// A fake IMDS: token, role list, role credentials, in that order, each checked.
    func imds(roleBody: String = "KeyAdminInstanceRole\n", roleStatus: Int = 200) -> FakeTransport {
        FakeTransport { request in
            let path = request.url.path(percentEncoded: false)
            #expect(request.url.host == "127.0.0.1")
            #expect(request.url.port == 1338)
            switch (request.method, path) {
            case (.put, "/latest/api/token"):
                #expect(request.headers["X-aws-ec2-metadata-token-ttl-seconds"] == ["21600"])
                #expect(request.headers.first(name: "X-aws-ec2-metadata-token") == nil)
                return .ok(text: "imdsSessionTokenEXAMPLE")
            case (.get, "/latest/meta-data/iam/security-credentials/"):
                #expect(request.headers["X-aws-ec2-metadata-token"] == ["imdsSessionTokenEXAMPLE"])
                return HTTPResponse(status: roleStatus, body: Data(roleBody.utf8))
            case (.get, "/latest/meta-data/iam/security-credentials/KeyAdminInstanceRole"):
                #expect(request.headers["X-aws-ec2-metadata-token"] == ["imdsSessionTokenEXAMPLE"])
                return .ok(try CredentialFixtures.shared("imds-security-credentials.response.json"))
            default:
                Issue.record("unexpected \(request.method) \(path)")
                return HTTPResponse(status: 404)
            }
        }
    }

    static let fakeEndpoint = ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1338/"]

    @Test func imdsV2TokenThenRoleThenCredentials() async throws {
        let transport = imds()
        let lookup = try await instance(Self.fakeEndpoint, transport).lookup()
        guard case .found(let credentials, let description) = lookup else {
            Issue.record("expected credentials, got \(lookup)")
            return
        }
        #expect(credentials.accessKeyID == "ASIAIOSFODNN7EXAMPLE")
        #expect(credentials.sessionToken == "token")
        #expect(credentials.expiration == date("2017-05-17T15:09:54Z"))
        #expect(description == "EC2 instance metadata (role 'KeyAdminInstanceRole')")
        #expect(
            transport.requests.map { "\($0.method) \($0.url.absoluteString)" } == [
                "PUT http://127.0.0.1:1338/latest/api/token",
                "GET http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/",
                "GET http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/KeyAdminInstanceRole",
            ])
    }

    @Test func imdsDefaultAddressesAndDisabling() async throws {
        let v4 = FakeTransport { _ in throw FakeTransportError.connectionRefused }
        #expect(try await noteOf(instance([:], v4)) == "EC2 instance metadata (no answer from 169.254.169.254)")
        #expect(v4.requests.map(\.url.absoluteString) == ["http://169.254.169.254/latest/api/token"])

        let v6 = FakeTransport.unreachable()
        #expect(
            try await noteOf(instance(["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"], v6))
                == "EC2 instance metadata (no answer from [fd00:ec2::254])")
        #expect(v6.requests.map(\.url.absoluteString) == ["http://[fd00:ec2::254]/latest/api/token"])

        #expect(
            try await noteOf(instance(["AWS_EC2_METADATA_DISABLED": "True"], .unused()))
                == "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)")
    }

    @Test func imdsThatNeverAnswersTimesOut() async throws {
        let hanging = FakeTransport { _ in
            try await Task.sleep(for: .seconds(3600))
            return HTTPResponse(status: 200)
        }
        let policy = MetadataServicePolicy(timeout: .milliseconds(20), attempts: 2, pause: .zero)
        #expect(
            try await noteOf(instance(Self.fakeEndpoint, hanging, policy: policy))
                == "EC2 instance metadata (no answer from 127.0.0.1:1338)")
        #expect(hanging.requests.count == 2)
    }

    @Test func imdsRefusalsAndMissingRole() async throws {
        let refused = FakeTransport { _ in HTTPResponse(status: 403) }
        #expect(
            try await noteOf(instance(Self.fakeEndpoint, refused))
                == "EC2 instance metadata (127.0.0.1:1338 refused a session token: HTTP 403)")
        #expect(refused.requests.count == 1)

        #expect(
            try await noteOf(instance(Self.fakeEndpoint, imds(roleBody: "", roleStatus: 404)))
                == "EC2 instance metadata (no IAM role attached to the instance)")
    }

    @Test func imdsRoleNameMustLookLikeOne() async throws {
        let transport = FakeTransport { request in
            request.method == .put ? .ok(text: "imdsSessionTokenEXAMPLE") : .ok(text: "../../latest/user-data\n")
        }
        #expect(
            try await noteOf(instance(Self.fakeEndpoint, transport))
                == "EC2 instance metadata (127.0.0.1:1338 answered the role request with something that is not an "
                + "IAM role name)")
        #expect(transport.requests.count == 2)
    }

    @Test func imdsUnusableDocument() async throws {
        let transport = FakeTransport { request in
            switch request.method {
            case .put: return .ok(text: "imdsSessionTokenEXAMPLE")
            default:
                if request.url.path(percentEncoded: false).hasSuffix("/") { return .ok(text: "r") }
                return .ok(
                    text:
                        "{\"Code\":\"Failure\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\"Token\":\"t\",\"Expiration\":\"2017-05-17T15:09:54Z\"}"
                )
            }
        }
        let note = try await noteOf(instance(Self.fakeEndpoint, transport))
        #expect(note == "EC2 instance metadata (credentials of role 'r' not available: Code Failure)")
        expectNoSecrets(note ?? "")
    }

    func noteOf(_ source: some AWSCredentialSource) async throws -> String? {
        switch try await source.lookup() {
        case .found(_, let description):
            Issue.record("expected notFound, got credentials from \(description)")
            return nil
        case .notFound(let note):
            return note
        }
    }
}
