import Foundation
import PolicyChange
import SigV4

/// Gives the credentials to sign the next request with.
///
/// Every error a provider in this module throws is a `ProviderError` (code
/// `.credentials`, `.authentication`, `.accessDenied`, `.throttled`, `.unavailable` or
/// `.invalidResponse`) whose message names where it looked and never holds a secret, or
/// a `CancellationError`.
public protocol AWSCredentialProvider: Sendable {
    func credentials() async throws -> AWSCredentials
}

/// What one place in the chain had to say.
public enum CredentialLookup: Sendable {
    /// Credentials, and where they came from in words (`the environment`,
    /// `profile 'admin' (assumed role arn:aws:iam::111122223333:role/KeyAdmin)`).
    case found(AWSCredentials, source: String)
    /// Nothing configured here. The note says where it looked and why it found nothing
    /// (`the environment (AWS_ACCESS_KEY_ID unset)`), for the "looked in" error.
    case notFound(String)
}

/// One link of a `CredentialChain`: a provider that can also say "not configured here"
/// so the chain moves on. Configured but failing (a profile whose role cannot be
/// assumed, a container endpoint that answers 500) is an error that stops the chain, as
/// in botocore: falling through to other credentials would act as a different identity
/// than the one the user set up.
public protocol AWSCredentialSource: AWSCredentialProvider {
    func lookup() async throws -> CredentialLookup
}

extension AWSCredentialSource {
    public func credentials() async throws -> AWSCredentials {
        switch try await lookup() {
        case .found(let credentials, _): return credentials
        case .notFound(let note): throw ProviderError(.credentials, "no AWS credentials: looked in \(note)")
        }
    }
}

/// Fixed credentials: tests, and callers that already hold some.
public struct StaticCredentialProvider: AWSCredentialSource {
    public let fixed: AWSCredentials
    public let source: String

    public init(_ credentials: AWSCredentials, source: String = "static credentials") {
        self.fixed = credentials
        self.source = source
    }

    public func lookup() async throws -> CredentialLookup { .found(fixed, source: source) }
}

/// The wall clock, injectable for tests of expiry and signing dates.
public typealias CredentialClock = @Sendable () -> Date

/// Text from elsewhere on its way into an error message.
enum CredentialMessage {
    /// Strips every occurrence of the given secrets from a text that is about to reach a
    /// message: a service's error message or a process's stderr can echo what it was sent.
    static func redacting(_ text: String, secrets: [String?]) -> String {
        var result = text
        for case let secret? in secrets where secret.count >= 4 {
            result = result.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return result
    }

    /// At most `limit` characters of a one-line rendering of `text`.
    static func oneLine(_ text: String, limit: Int = 300) -> String {
        let flat = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }

    /// A transport or other failure below a credential fetch, as a `ProviderError`.
    /// `ProviderError`s and cancellation pass through unchanged.
    static func providerError(_ error: any Error, while doing: String) -> any Error {
        if error is ProviderError || error is CancellationError { return error }
        return ProviderError(.unavailable, "\(doing): \(oneLine(String(describing: error)))")
    }
}
