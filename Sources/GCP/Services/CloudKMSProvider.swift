import Foundation
import Logging
import PolicyChange

/// A Cloud KMS crypto key's IAM policy through the Cloud KMS API.
public struct CloudKMSProvider: KeyPolicyProvider {
    public let target: Target
    let key: String
    let kms: GoogleAPIClient
    let tokens: CachingTokenProvider
    let logger: Logger
    let dialect = CloudKMSIAMDialect()

    public init(target: GCPTarget, kms: GoogleAPIClient, tokens: CachingTokenProvider, logger: Logger) {
        self.target = .gcp(target)
        self.key = target.key
        self.kms = kms
        self.tokens = tokens
        self.logger = logger
    }

    /// The key must exist, be ENCRYPT_DECRYPT, and have an enabled primary version.
    public func describeKey() async throws -> KeyDescription {
        let data = try await kms.get(key, operation: "cryptoKeys.get")
        guard let root = try? JSONParser.parse(data).root, case .object = root else {
            throw ProviderError(.invalidResponse, "Cloud KMS cryptoKeys.get: the answer is not a JSON object")
        }
        let purpose = root["purpose"]?.stringValue ?? "unknown"
        guard purpose == "ENCRYPT_DECRYPT" else {
            throw ProviderError(.invalidState, "the key \(key) has purpose \(purpose), not ENCRYPT_DECRYPT")
        }
        let state = root["primary"]?["state"]?.stringValue ?? "NO_PRIMARY_VERSION"
        let parts = key.split(separator: "/").map(String.init)
        return KeyDescription(
            identifier: root["name"]?.stringValue ?? key, enabled: state == "ENABLED", state: state,
            region: parts.count > 3 ? parts[3] : nil, owner: parts.count > 1 ? parts[1] : nil)
    }

    /// The policy exactly as getIamPolicy (version 3) returned it, etag included.
    public func readPolicy() async throws -> PolicySnapshot {
        let data = try await kms.get("\(key):getIamPolicy", query: "options.requestedPolicyVersion=3", operation: "getIamPolicy")
        guard let policy = IAMPolicy.parse(data) else {
            throw ProviderError(.invalidResponse, "Cloud KMS getIamPolicy: the answer is not an IAM policy object")
        }
        return PolicySnapshot(document: data, etag: policy.etag)
    }

    /// setIamPolicy carrying `expectedCurrent`'s etag: the service refuses it
    /// (409 ABORTED) when the policy moved. A 409 after a retried attempt may
    /// mean the first attempt landed, so the live policy is re-read and, when
    /// it already is the proposal, the write counts as done.
    public func writePolicy(_ proposed: PolicySnapshot, replacing expectedCurrent: PolicySnapshot) async throws {
        guard let etag = expectedCurrent.etag ?? IAMPolicy.parse(expectedCurrent.document)?.etag else {
            throw ProviderError(.invalidResponse, "the policy read from Cloud KMS has no etag; refusing an unconditional write")
        }
        let body = try Self.setIamPolicyBody(proposed, etag: etag)
        do {
            _ = try await kms.post("\(key):setIamPolicy", body: body, operation: "setIamPolicy", idempotent: true)
        } catch let error as ProviderError where error.code == .concurrentModification {
            let live = try await readPolicy()
            if dialect.isEquivalent(live, proposed) {
                logger.info("setIamPolicy answered ABORTED but the live policy already is the proposal (an earlier attempt landed)")
                return
            }
            throw ProviderError(
                .concurrentModification,
                "the key's IAM policy changed since it was read (etag \(etag) is stale); nothing was written",
                serviceCode: error.serviceCode, httpStatus: error.httpStatus)
        }
    }

    /// `{"policy":{version, etag, bindings},"updateMask":"bindings,etag"}`;
    /// version 3 when any binding has a condition, else as read.
    static func setIamPolicyBody(_ proposed: PolicySnapshot, etag: String) throws(ProviderError) -> Data {
        guard let policy = IAMPolicy.parse(proposed.document) else {
            throw ProviderError(.malformedPolicy, "the proposed policy is not an IAM policy object")
        }
        let version = policy.hasConditions ? 3 : (policy.version ?? 1)
        var written = IAMPolicy(version: version, etag: etag, bindings: policy.bindings.filter { !$0.members.isEmpty })
        written.versionText = nil
        let body = JSONValue.object([JSONMember("policy", written.json), JSONMember("updateMask", .string("bindings,etag"))])
        return Data(body.serialized().utf8)
    }

    public func callerIdentity() async throws -> String? {
        try await tokens.member()
    }
}

/// IAM `roles.get` for the dialect's custom roles.
public struct IAMRolesClient: IAMRoleResolver {
    let iam: GoogleAPIClient

    public init(iam: GoogleAPIClient) { self.iam = iam }

    public func role(named name: String) async throws -> IAMRoleDefinition {
        let data = try await iam.get(name, operation: "roles.get")
        guard let root = try? JSONParser.parse(data).root, let role = IAMRoleDefinition(json: root) else {
            throw ProviderError(.invalidResponse, "IAM roles.get \(name): the answer is not a Role with includedPermissions")
        }
        return role
    }
}
