import Foundation
import HTTP
import PolicyChange

/// The environment variables azure-identity reads (`_constants.py`) and the
/// endpoints this tool talks to.
public struct AzureEnvironment: Sendable {
    public var variables: [String: String]

    public init(_ variables: [String: String]) { self.variables = variables }

    func value(_ name: String) -> String? {
        guard let v = variables[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        return v
    }

    /// `AZURE_AUTHORITY_HOST`, default `https://login.microsoftonline.com/`.
    public func authority() throws(ProviderError) -> URL {
        let text = value("AZURE_AUTHORITY_HOST") ?? "https://login.microsoftonline.com/"
        let withScheme = text.contains("://") ? text : "https://\(text)"
        guard let url = URL(string: withScheme), URLSafety.isAllowed(url) else {
            throw ProviderError(.credentials, "AZURE_AUTHORITY_HOST '\(text)' is not an https URL (plain http only on loopback)")
        }
        return url
    }

    /// Picks the token source as `DefaultAzureCredential` does for the
    /// environment, workload identity and managed identity: the first one whose
    /// variables are set. A half-configured one is an error naming what is
    /// missing; none at all falls through to IMDS, whose failure names every
    /// place looked.
    public func tokenSource(transport: any HTTPTransport, metadataTransport: any HTTPTransport) throws(ProviderError)
        -> any AzureTokenSource
    {
        let tenant = value("AZURE_TENANT_ID"), client = value("AZURE_CLIENT_ID")
        if let secret = value("AZURE_CLIENT_SECRET") {
            guard let tenant, let client else {
                throw ProviderError(
                    .credentials, "AZURE_CLIENT_SECRET is set but \(tenant == nil ? "AZURE_TENANT_ID" : "AZURE_CLIENT_ID") is not; set both")
            }
            try checkTenant(tenant)
            return ClientCredentialSource(
                authority: try authority(), tenantID: tenant, clientID: client, secret: .clientSecret(secret), transport: transport)
        }
        if let file = value("AZURE_FEDERATED_TOKEN_FILE") {
            guard let tenant, let client else {
                throw ProviderError(
                    .credentials,
                    "AZURE_FEDERATED_TOKEN_FILE is set but \(tenant == nil ? "AZURE_TENANT_ID" : "AZURE_CLIENT_ID") is not; set both")
            }
            try checkTenant(tenant)
            return ClientCredentialSource(
                authority: try authority(), tenantID: tenant, clientID: client, secret: .assertionFile(file), transport: transport)
        }
        if let endpoint = value("IDENTITY_ENDPOINT"), let header = value("IDENTITY_HEADER") {
            guard let url = URL(string: endpoint), URLSafety.isAllowed(url, plainHTTPHosts: URLSafety.cloudMetadataHosts) else {
                throw ProviderError(.credentials, "IDENTITY_ENDPOINT '\(endpoint)' is not a usable URL")
            }
            return ManagedIdentitySource(kind: .appService(endpoint: url, header: header), clientID: client, transport: metadataTransport)
        }
        let base = value("IMDS_ENDPOINT") ?? "http://169.254.169.254"
        guard let url = URL(string: base) else { throw ProviderError(.credentials, "IMDS_ENDPOINT '\(base)' is not a URL") }
        return LastResort(inner: ManagedIdentitySource(kind: .imds(base: url), clientID: client, transport: metadataTransport))
    }

    func checkTenant(_ tenant: String) throws(ProviderError) {
        guard tenant.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
            throw ProviderError(.credentials, "AZURE_TENANT_ID must be a tenant id or domain (letters, digits, '-', '.')")
        }
    }

    /// IMDS when nothing else is configured: a failure there means "no credentials anywhere".
    struct LastResort: AzureTokenSource {
        let inner: ManagedIdentitySource
        var name: String { inner.name }
        func fetchToken(for audience: AzureAudience) async throws -> AzureAccessToken {
            do {
                return try await inner.fetchToken(for: audience)
            } catch let error as ProviderError where error.code == .credentials {
                throw ProviderError(
                    .credentials,
                    "no Azure credentials: looked in the environment (AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET unset), "
                        + "workload identity (AZURE_FEDERATED_TOKEN_FILE unset), App Service managed identity (IDENTITY_ENDPOINT/IDENTITY_HEADER unset), "
                        + "\(inner.name) (\(error.message))")
            }
        }
    }
}
