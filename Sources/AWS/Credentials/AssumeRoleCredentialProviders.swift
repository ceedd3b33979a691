import Foundation
import HTTP
import PolicyChange
import SigV4

/// Where STS is and how requests to it travel.
public struct STSAccess: Sendable {
    public var transport: any HTTPTransport
    /// `https://sts.<region>.amazonaws.com`, or the resolved override.
    public var endpoint: URL
    /// The SigV4 signing region.
    public var region: String

    public init(transport: any HTTPTransport, endpoint: URL, region: String) {
        self.transport = transport
        self.endpoint = endpoint
        self.region = region
    }
}

/// Asks for the current code of an MFA device (`mfa_serial` of a profile). Given the
/// device's serial number or ARN; returns the six-digit code. policy-change has no
/// prompt of its own in the credential chain: the CLI may pass one that asks on a TTY.
public typealias MFACodeProvider = @Sendable (_ serialNumber: String) async throws -> String

/// Temporary credentials for a role, from STS `AssumeRole` signed with the source
/// credentials (botocore's `AssumeRoleCredentialFetcher`).
public struct AssumeRoleCredentialProvider: AWSCredentialProvider {
    public struct Role: Sendable, Equatable {
        public var arn: String
        /// Default: `policy-change-<unix seconds>` (botocore: `botocore-session-<seconds>`).
        public var sessionName: String?
        public var externalID: String?
        /// 900…43200; nil lets STS choose (one hour).
        public var durationSeconds: Int?
        /// The MFA device the role's trust policy asks for.
        public var mfaSerial: String?

        public init(
            arn: String, sessionName: String? = nil, externalID: String? = nil, durationSeconds: Int? = nil,
            mfaSerial: String? = nil
        ) {
            self.arn = arn
            self.sessionName = sessionName
            self.externalID = externalID
            self.durationSeconds = durationSeconds
            self.mfaSerial = mfaSerial
        }
    }

    public let role: Role
    public let source: any AWSCredentialProvider
    public let sts: STSAccess
    public let clock: CredentialClock
    public let mfaCode: MFACodeProvider?

    public init(
        role: Role, source: any AWSCredentialProvider, sts: STSAccess, clock: @escaping CredentialClock = { Date() },
        mfaCode: MFACodeProvider? = nil
    ) {
        self.role = role
        self.source = source
        self.sts = sts
        self.clock = clock
        self.mfaCode = mfaCode
    }

    public func credentials() async throws -> AWSCredentials {
        let sourceCredentials = try await source.credentials()
        var code: String?
        if let serial = role.mfaSerial {
            guard let mfaCode else {
                throw ProviderError(
                    .credentials,
                    "assuming \(role.arn) needs a code from MFA device \(serial) (mfa_serial), and no prompt is "
                        + "available; assume the role yourself and export the credentials as AWS_ACCESS_KEY_ID, "
                        + "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN")
            }
            code = try await mfaCode(serial).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let exchange = STSCredentialExchange(
            transport: sts.transport, endpoint: sts.endpoint, region: sts.region, clock: clock)
        return try await exchange.assumeRole(
            .init(
                roleARN: role.arn, sessionName: role.sessionName ?? AssumeRoleCredentialProvider.defaultSessionName(clock),
                externalID: role.externalID, durationSeconds: role.durationSeconds, mfaSerial: role.mfaSerial,
                mfaCode: code),
            using: sourceCredentials)
    }
}

/// Temporary credentials for a role, from STS `AssumeRoleWithWebIdentity` with the OIDC
/// token in a file (EKS IRSA, GitHub Actions, …). The request is unsigned: the token is
/// the proof of identity. The file is read on every call because its token is rotated.
public struct WebIdentityCredentialProvider: AWSCredentialProvider {
    public let tokenFile: String
    public let roleARN: String
    public let sessionName: String?
    public let sts: STSAccess
    public let clock: CredentialClock

    public init(
        tokenFile: String, roleARN: String, sessionName: String? = nil, sts: STSAccess,
        clock: @escaping CredentialClock = { Date() }
    ) {
        self.tokenFile = tokenFile
        self.roleARN = roleARN
        self.sessionName = sessionName
        self.sts = sts
        self.clock = clock
    }

    public func credentials() async throws -> AWSCredentials {
        let token: String
        switch ConfigurationFileRead.read(at: tokenFile) {
        case .missing:
            throw ProviderError(.credentials, "the web identity token file \(tokenFile) does not exist")
        case .failed(let reason):
            throw ProviderError(.credentials, "cannot read the web identity token file \(tokenFile): \(reason)")
        case .contents(let data):
            // A JWT holds no whitespace; a trailing newline from `echo` is not part of it.
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !token.isEmpty else {
            throw ProviderError(.credentials, "the web identity token file \(tokenFile) is empty")
        }
        let exchange = STSCredentialExchange(
            transport: sts.transport, endpoint: sts.endpoint, region: sts.region, clock: clock)
        return try await exchange.assumeRoleWithWebIdentity(
            roleARN: roleARN, sessionName: sessionName ?? AssumeRoleCredentialProvider.defaultSessionName(clock), token: token)
    }
}

extension AssumeRoleCredentialProvider {
    /// `policy-change-<unix seconds>`, shown in CloudTrail as the session of every call.
    static func defaultSessionName(_ clock: CredentialClock) -> String {
        "policy-change-\(Int(clock().timeIntervalSince1970))"
    }
}
