import Foundation
import HTTP
import Logging
import PolicyChange

/// Everything a run needs from Azure for one key: the Key Vault provider,
/// Log Analytics as the audit log, and the dialect with a resolver for custom roles.
public struct AzureConnection: Sendable {
    public var provider: AzureKeyVaultProvider
    public var auditLog: LogAnalyticsAuditLog
    public var dialect: AzureKeyVaultDialect

    /// Picks the token source and endpoints; nothing is sent until the first call.
    public static func make(
        target: AzureTarget, environment: AzureEnvironment, transport: any HTTPTransport, metadataTransport: any HTTPTransport,
        logger: Logger
    ) throws(ProviderError) -> AzureConnection {
        let endpoints = try AzureEndpoints(overrides: target.endpoints)
        guard let subscription = AzureVaultSnapshot(.object([JSONMember("id", .string(target.vault))])).subscriptionID,
            target.vault.lowercased().contains("/providers/microsoft.keyvault/vaults/")
        else {
            throw ProviderError(
                .invalidState,
                "target.azure.vault must be the vault's ARM resource id (/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>)")
        }
        let retrying = RetryingTransport(wrapping: transport, policy: RetryPolicy(), logger: logger)
        var environment = environment
        if let login = target.endpoints["login"] { environment.variables["AZURE_AUTHORITY_HOST"] = login }
        let source = try environment.tokenSource(transport: retrying, metadataTransport: metadataTransport)
        let tokens = AzureTokenCache(source: source)
        let arm = AzureAPI(service: "ARM", audience: .management, transport: retrying, tokens: tokens)
        let dataPlane = AzureAPI(service: "Key Vault", audience: .vault, transport: retrying, tokens: tokens)
        let logs = AzureAPI(service: "Log Analytics", audience: .logAnalytics, transport: retrying, tokens: tokens)
        let dialect = AzureKeyVaultDialect(
            pinnedModel: target.model, keyName: target.key,
            resolver: ARMRoleDefinitionResolver(arm: arm, management: endpoints.management, subscriptionID: subscription))
        let provider = AzureKeyVaultProvider(
            target: target, endpoints: endpoints, arm: arm, dataPlane: dataPlane, tokens: tokens, dialect: dialect)
        return AzureConnection(
            provider: provider,
            auditLog: LogAnalyticsAuditLog(api: logs, base: endpoints.logAnalytics, vaultID: target.vault, keyName: target.key),
            dialect: dialect)
    }
}
