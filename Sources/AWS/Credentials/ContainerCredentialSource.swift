import Foundation
import HTTP
import Logging
import PolicyChange
import SigV4

/// Credentials from the ECS task role / EKS Pod Identity endpoint (botocore's
/// `ContainerProvider`).
///
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is appended to `http://169.254.170.2`;
/// otherwise `AWS_CONTAINER_CREDENTIALS_FULL_URI` is used as given, but only if it is
/// `https://`, or plain `http://` to loopback, `169.254.170.2`, `169.254.170.23` or
/// `fd00:ec2::23` — the credentials must not be fetched from anywhere a network could
/// redirect. The `Authorization` header is the contents of
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read on every fetch: EKS rotates it), else
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
///
/// The transport must allow plain `http://` to the link-local addresses; see
/// `AWSMetadataService`.
public struct ContainerCredentialSource: AWSCredentialSource {
    public let environment: AWSEnvironment
    public let transport: any HTTPTransport
    public let policy: MetadataServicePolicy
    public let logger: Logger

    public init(
        environment: AWSEnvironment, transport: any HTTPTransport, policy: MetadataServicePolicy = .container,
        logger: Logger
    ) {
        self.environment = environment
        self.transport = transport
        self.policy = policy
        self.logger = logger
    }

    static let allowedPlainHTTPHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"]

    public func lookup() async throws -> CredentialLookup {
        let url: URL
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            guard relative.hasPrefix("/"), let parsed = URL(string: AWSMetadataService.containerCredentialsBase + relative)
            else {
                throw ProviderError(
                    .credentials, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a path starting with '/'")
            }
            url = parsed
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
            url = try Self.checkedFullURI(full)
        } else {
            return .notFound("container (AWS_CONTAINER_CREDENTIALS_* unset)")
        }

        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: "application/json")
        if let token = try authorizationToken() { headers.add(name: "Authorization", value: token) }
        let request = HTTPRequest(method: .get, url: url, headers: headers)
        let host = AWSMetadataService.displayHost(url)

        var lastFailure = ""
        for attempt in 1...policy.attempts {
            if attempt > 1 { try await Task.sleep(for: policy.pause) }
            let response: HTTPResponse
            do {
                response = try await AWSMetadataService.send(request, over: transport, timeout: policy.timeout)
            } catch {
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                lastFailure = CredentialMessage.oneLine(String(describing: error))
                logger.debug("container credentials: attempt \(attempt) failed", metadata: ["host": "\(host)"])
                continue
            }
            if response.status >= 500 {
                lastFailure = "HTTP \(response.status)"
                continue
            }
            guard response.isSuccess else {
                throw ProviderError(
                    .credentials, "the container credentials endpoint \(host) answered HTTP \(response.status)",
                    httpStatus: response.status)
            }
            let document: CredentialsDocument
            do {
                document = try CredentialsDocument.parse(
                    response.body, tokenKey: "Token", requireToken: true, requireExpiration: true)
            } catch {
                throw ProviderError(
                    .invalidResponse, "the container credentials endpoint \(host): \(error.reason)")
            }
            return .found(document.credentials, source: "the container credentials endpoint \(host)")
        }
        throw ProviderError(
            .unavailable,
            "the container credentials endpoint \(host) did not answer after \(policy.attempts) attempts: \(lastFailure)")
    }

    private func authorizationToken() throws(ProviderError) -> String? {
        var token: String?
        if let path = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] {
            switch ConfigurationFileRead.read(at: path) {
            case .contents(let data):
                token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            case .missing:
                throw ProviderError(
                    .credentials, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names \(path), which does not exist")
            case .failed(let reason):
                throw ProviderError(
                    .credentials, "cannot read \(path) (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE): \(reason)")
            }
        } else {
            token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        }
        // A line break would let the token add headers of its own.
        if let token, token.contains(where: \.isNewline) {
            throw ProviderError(.credentials, "the container authorization token contains a line break")
        }
        return token.flatMap { $0.isEmpty ? nil : $0 }
    }

    static func checkedFullURI(_ text: String) throws(ProviderError) -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let rawHost = url.host,
            !rawHost.isEmpty
        else {
            throw ProviderError(.credentials, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL")
        }
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        switch scheme {
        case "https":
            return url
        case "http" where isLoopback(host) || allowedPlainHTTPHosts.contains(host):
            return url
        default:
            throw ProviderError(
                .credentials,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https://, or http:// to a loopback address, "
                    + "169.254.170.2, 169.254.170.23 or fd00:ec2::23; \(scheme)://\(AWSMetadataService.displayHost(url)) is neither")
        }
    }

    /// `localhost`, `127.0.0.0/8` in dotted decimal, `::1`.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber)
                && (Int(part) ?? 256) <= 255
        }
    }
}
