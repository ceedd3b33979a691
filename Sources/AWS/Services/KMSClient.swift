import Foundation
import PolicyChange

/// AWS KMS (JSON 1.1, target prefix `TrentService`), the four operations a key
/// policy change needs. Shapes from shared/fixtures/aws/kms and the botocore model.
public struct KMSClient: Sendable {
    let client: AWSServiceClient
    static let target = "TrentService"

    public init(client: AWSServiceClient) { self.client = client }

    public struct KeyMetadata: Sendable, Decodable, Equatable {
        public var KeyId: String
        public var Arn: String?
        public var AWSAccountId: String?
        public var KeyState: String?
        public var Enabled: Bool?
        public var KeyManager: String?
        public var KeySpec: String?
        public var KeyUsage: String?
        public var Origin: String?
        public var MultiRegion: Bool?
    }

    public func describeKey(_ keyID: String) async throws -> KeyMetadata {
        struct Output: Decodable { var KeyMetadata: KeyMetadata }
        let data = try await client.json11(target: Self.target, operation: "DescribeKey", body: try encode(["KeyId": keyID]))
        return try decode(Output.self, data, operation: "DescribeKey").KeyMetadata
    }

    /// The policy document exactly as KMS stores it.
    public func getKeyPolicy(_ keyID: String) async throws -> String {
        struct Output: Decodable { var Policy: String }
        let data = try await client.json11(
            target: Self.target, operation: "GetKeyPolicy", body: try encode(["KeyId": keyID, "PolicyName": "default"]))
        return try decode(Output.self, data, operation: "GetKeyPolicy").Policy
    }

    /// Never sends `BypassPolicyLockoutSafetyCheck`: KMS's own lockout check
    /// stays on, whatever a runbook asks.
    public func putKeyPolicy(_ keyID: String, policy: String) async throws {
        _ = try await client.json11(
            target: Self.target, operation: "PutKeyPolicy",
            body: try encode(["KeyId": keyID, "PolicyName": "default", "Policy": policy]))
    }

    public func listKeyPolicies(_ keyID: String) async throws -> [String] {
        struct Output: Decodable {
            var PolicyNames: [String]?
            var NextMarker: String?
            var Truncated: Bool?
        }
        var names: [String] = []
        var marker: String?
        repeat {
            var input = ["KeyId": keyID]
            if let marker { input["Marker"] = marker }
            let data = try await client.json11(target: Self.target, operation: "ListKeyPolicies", body: try encode(input))
            let page = try decode(Output.self, data, operation: "ListKeyPolicies")
            names += page.PolicyNames ?? []
            marker = page.Truncated == true ? page.NextMarker : nil
        } while marker != nil
        return names
    }

    private func encode(_ input: [String: String]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(input)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data, operation: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw ProviderError(.invalidResponse, "KMS \(operation): unexpected answer (\(data.count) bytes): \(error)")
        }
    }
}

/// STS GetCallerIdentity (query protocol): who is making the change.
public struct STSClient: Sendable {
    let client: AWSServiceClient
    public init(client: AWSServiceClient) { self.client = client }

    public func callerARN() async throws -> String {
        let xml = try await client.query(action: "GetCallerIdentity", version: "2011-06-15")
        guard let root = try? QueryXML.parse(Data(xml.utf8)), let arn = root.first(named: "GetCallerIdentityResult")?.childText("Arn")
        else {
            throw ProviderError(.invalidResponse, "STS GetCallerIdentity: no Arn in the answer")
        }
        return arn
    }
}
