import Foundation
import PolicyChange

/// Custom role definitions over ARM, for the dialect's `prepare`.
public struct ARMRoleDefinitionResolver: AzureRoleDefinitionResolver {
    let arm: AzureAPI
    let management: URL
    let subscriptionID: String

    public init(arm: AzureAPI, management: URL, subscriptionID: String) {
        self.arm = arm
        self.management = management
        self.subscriptionID = subscriptionID
    }

    public func roleDefinition(named name: String) async throws -> AzureRoleDefinition? {
        let filter = "roleName eq '\(name.replacingOccurrences(of: "'", with: "''"))'"
        let encoded = filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? filter
        guard let url = AzureEndpoints.join(
            management, "/subscriptions/\(subscriptionID)/providers/Microsoft.Authorization/roleDefinitions",
            "api-version=\(AzureEndpoints.authorizationVersion)&$filter=\(encoded)")
        else { return nil }
        let answer = try await arm.json(.get, url, operation: "list role definitions")
        return answer["value"]?.arrayValue?.first.flatMap(Self.parse)
    }

    public func roleDefinition(guid: String) async throws -> AzureRoleDefinition? {
        guard let url = AzureEndpoints.join(
            management, "/subscriptions/\(subscriptionID)/providers/Microsoft.Authorization/roleDefinitions/\(guid)",
            "api-version=\(AzureEndpoints.authorizationVersion)")
        else { return nil }
        do {
            return Self.parse(try await arm.json(.get, url, operation: "get role definition"))
        } catch let error as ProviderError where error.code == .notFound {
            return nil
        }
    }

    static func parse(_ json: JSONValue) -> AzureRoleDefinition? {
        guard let name = json["name"]?.stringValue, let p = json["properties"] else { return nil }
        func list(_ key: String) -> [String] {
            (p["permissions"]?.arrayValue ?? []).flatMap { ($0[key]?.arrayValue ?? []).compactMap(\.stringValue) }
        }
        return AzureRoleDefinition(
            guid: name, name: p["roleName"]?.stringValue ?? name, actions: list("actions"), notActions: list("notActions"),
            dataActions: list("dataActions"), notDataActions: list("notDataActions"))
    }
}
