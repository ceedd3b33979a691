import Foundation

/// An AWS access key pair, optionally temporary (with a session token and an expiry).
///
/// Credentials must never reach logs, journals, reports or backups (DESIGN §3, safety
/// invariants), and values end up in logs through string interpolation, `dump`, or a
/// debugger far more often than through deliberate printing. So every textual
/// representation — `description`, `debugDescription` and the reflection `customMirror`
/// that `dump` and the default description of enclosing types use — shows only the
/// first four characters of the access key id and never the secret or the token.
public struct AWSCredentials: Sendable, Equatable {
    /// The access key id, e.g. `AKIDEXAMPLE`. Not secret, but still abbreviated in output.
    public let accessKeyID: String
    /// The secret access key. Only the signing key derivation reads it.
    public let secretAccessKey: String
    /// The session token of temporary credentials (STS, IMDS, container, SSO).
    public let sessionToken: String?
    /// When temporary credentials stop working; `nil` for long-term keys.
    public let expiration: Date?

    public init(
        accessKeyID: String,
        secretAccessKey: String,
        sessionToken: String? = nil,
        expiration: Date? = nil
    ) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// The access key id as it may appear in output: its first four characters and `…`
    /// (`AKIDEXAMPLE` → `AKID…`).
    public var redactedAccessKeyID: String {
        String(accessKeyID.prefix(4)) + "…"
    }

    static let redacted = "<redacted>"
}

extension AWSCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        var parts = [
            "accessKeyID: \(redactedAccessKeyID)",
            "secretAccessKey: \(Self.redacted)",
            "sessionToken: \(sessionToken == nil ? "nil" : Self.redacted)",
        ]
        if let expiration {
            parts.append("expiration: \(expiration.formatted(.iso8601))")
        }
        return "AWSCredentials(\(parts.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }

    /// What `dump`, `Mirror` and the default description of a type holding credentials
    /// see: the same redacted fields as `description`, never the stored secret.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyID": redactedAccessKeyID,
                "secretAccessKey": Self.redacted,
                "sessionToken": sessionToken == nil ? "nil" : Self.redacted,
                "expiration": expiration.map { $0.formatted(.iso8601) } ?? "nil",
            ],
            displayStyle: .struct
        )
    }
}
