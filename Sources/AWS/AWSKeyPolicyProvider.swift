import Foundation
import PolicyChange

/// A KMS key's policy through the KMS API.
public struct AWSKeyPolicyProvider: KeyPolicyProvider {
    public let target: Target
    let keyID: String
    let region: String
    let kms: KMSClient
    let sts: STSClient
    let dialect = AWSKeyPolicyDialect()

    public init(target: AWSTarget, region: String, kms: KMSClient, sts: STSClient) {
        self.target = .aws(target)
        self.keyID = target.key
        self.region = region
        self.kms = kms
        self.sts = sts
    }

    /// The key must exist, be enabled, and live in the runbook's region.
    public func describeKey() async throws -> KeyDescription {
        let metadata = try await kms.describeKey(keyID)
        let arnRegion = metadata.Arn.flatMap { $0.split(separator: ":", omittingEmptySubsequences: false).dropFirst(3).first }
            .map(String.init)
        if let arnRegion, arnRegion != region {
            throw ProviderError(
                .notFound, "the key \(metadata.Arn ?? keyID) is in \(arnRegion), not in the runbook's region \(region)")
        }
        // KMS keys have exactly one policy, "default"; anything else means this
        // is not the key (or the API) this tool understands.
        let policies = try await kms.listKeyPolicies(keyID)
        guard policies.contains("default") else {
            throw ProviderError(
                .invalidResponse,
                "the key \(metadata.Arn ?? keyID) has no 'default' key policy (ListKeyPolicies: \(policies.joined(separator: ", ")))")
        }
        let state = metadata.KeyState ?? (metadata.Enabled == true ? "Enabled" : "Unknown")
        return KeyDescription(
            identifier: metadata.Arn ?? metadata.KeyId, enabled: state == "Enabled", state: state, region: arnRegion,
            owner: metadata.AWSAccountId)
    }

    public func readPolicy() async throws -> PolicySnapshot {
        PolicySnapshot(text: try await kms.getKeyPolicy(keyID))
    }

    /// KMS has no conditional write: re-read immediately before PutKeyPolicy
    /// and refuse if the policy moved (the drift guard, DESIGN §3).
    public func writePolicy(_ proposed: PolicySnapshot, replacing expectedCurrent: PolicySnapshot) async throws {
        let live = try await readPolicy()
        guard dialect.isEquivalent(live, expectedCurrent) else {
            throw ProviderError.concurrentModification(
                "the key's policy changed between the last read and the write; nothing was written")
        }
        try await kms.putKeyPolicy(keyID, policy: proposed.text)
    }

    public func callerIdentity() async throws -> String? {
        try await sts.callerARN()
    }
}
