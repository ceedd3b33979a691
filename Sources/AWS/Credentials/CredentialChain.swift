import Foundation
import Logging
import PolicyChange
import SigV4

/// Tries its sources in order and returns the first credentials found. A source that
/// is configured but fails stops the chain with its error. When no source has any, the
/// error names every place it looked, in one line:
///
/// ```
/// no AWS credentials: looked in the environment (AWS_ACCESS_KEY_ID unset), profile 'default' in
/// /root/.aws/credentials (no such file), /root/.aws/config (no such file), web identity
/// (AWS_WEB_IDENTITY_TOKEN_FILE unset), container (AWS_CONTAINER_CREDENTIALS_* unset), EC2 instance
/// metadata (no answer from 169.254.169.254)
/// ```
public struct CredentialChain: AWSCredentialSource {
    public let sources: [any AWSCredentialSource]
    public let logger: Logger

    public init(_ sources: [any AWSCredentialSource], logger: Logger) {
        self.sources = sources
        self.logger = logger
    }

    public func lookup() async throws -> CredentialLookup {
        var notes: [String] = []
        for source in sources {
            switch try await source.lookup() {
            case .found(let credentials, let description):
                logger.debug(
                    "found AWS credentials",
                    metadata: ["source": "\(description)", "accessKeyID": "\(credentials.redactedAccessKeyID)"])
                return .found(credentials, source: description)
            case .notFound(let note):
                logger.trace("no AWS credentials here", metadata: ["looked in": "\(note)"])
                notes.append(note)
            }
        }
        return .notFound(notes.joined(separator: ", "))
    }
}
