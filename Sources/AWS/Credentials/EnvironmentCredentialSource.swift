import Foundation
import PolicyChange
import SigV4

/// Static keys from the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN` (or the legacy `AWS_SECURITY_TOKEN`) and
/// `AWS_CREDENTIAL_EXPIRATION` (botocore's `EnvProvider`).
///
/// Configured means `AWS_ACCESS_KEY_ID` is set; a key id without its secret is an error,
/// not a reason to look elsewhere. Credentials whose `AWS_CREDENTIAL_EXPIRATION` has
/// passed are refused with that explanation: the environment cannot refresh them.
public struct EnvironmentCredentialSource: AWSCredentialSource {
    public let environment: AWSEnvironment
    public let clock: CredentialClock

    public init(environment: AWSEnvironment, clock: @escaping CredentialClock = { Date() }) {
        self.environment = environment
        self.clock = clock
    }

    public func lookup() async throws -> CredentialLookup {
        guard let keyID = environment["AWS_ACCESS_KEY_ID"] else {
            return .notFound("the environment (AWS_ACCESS_KEY_ID unset)")
        }
        guard let secret = environment["AWS_SECRET_ACCESS_KEY"] else {
            throw ProviderError(
                .credentials,
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both, or unset AWS_ACCESS_KEY_ID "
                    + "to use a profile or another source")
        }
        let token = environment["AWS_SESSION_TOKEN"] ?? environment["AWS_SECURITY_TOKEN"]
        var expiration: Date?
        if let text = environment["AWS_CREDENTIAL_EXPIRATION"] {
            guard let parsed = CredentialTimestamp.parse(text) else {
                throw ProviderError(
                    .credentials,
                    "AWS_CREDENTIAL_EXPIRATION '\(text)' is not an ISO 8601 time (2024-05-01T12:00:00Z)")
            }
            guard parsed > clock() else {
                throw ProviderError(
                    .credentials,
                    "the credentials in the environment expired at \(text) (AWS_CREDENTIAL_EXPIRATION); "
                        + "export fresh ones")
            }
            expiration = parsed
        }
        let credentials = AWSCredentials(
            accessKeyID: keyID, secretAccessKey: secret, sessionToken: token, expiration: expiration)
        return .found(credentials, source: "the environment (AWS_ACCESS_KEY_ID)")
    }
}

/// A link of the chain that was switched off, and says why in the "looked in" error.
public struct SkippedCredentialSource: AWSCredentialSource {
    public let note: String

    public init(note: String) { self.note = note }

    public func lookup() async throws -> CredentialLookup { .notFound(note) }
}
