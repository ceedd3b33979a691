import Foundation
import HTTP
import PolicyChange

/// Application Default Credentials in Google's order:
/// `GOOGLE_APPLICATION_CREDENTIALS`, then gcloud's ADC file
/// (`$CLOUDSDK_CONFIG/application_default_credentials.json`, default
/// `~/.config/gcloud/…`), then the metadata server (`GCE_METADATA_HOST`,
/// default `metadata.google.internal`).
public enum ApplicationDefaultCredentials {
    public static let metadataHosts: Set<String> = ["metadata.google.internal", "169.254.169.254"]

    public static func resolve(
        environment: [String: String], transport: any HTTPTransport,
        metadataTransport: @Sendable (Set<String>) throws -> any HTTPTransport,
        readFile: @escaping @Sendable (String) -> Data? = { FileManager.default.contents(atPath: $0) }
    ) throws -> any GoogleTokenSource {
        if let path = environment["GOOGLE_APPLICATION_CREDENTIALS"], !path.isEmpty {
            guard let data = readFile(path) else {
                throw ProviderError(
                    .credentials, "GOOGLE_APPLICATION_CREDENTIALS names \(path), which does not exist or cannot be read")
            }
            return try source(for: data, label: "the credentials file \(path) (GOOGLE_APPLICATION_CREDENTIALS)", transport: transport, readFile: readFile)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let configDirectory = environment["CLOUDSDK_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.config/gcloud"
        let adcPath = "\(configDirectory)/application_default_credentials.json"
        if let data = readFile(adcPath) {
            return try source(for: data, label: "gcloud's ADC file \(adcPath)", transport: transport, readFile: readFile)
        }
        let override = (environment["GCE_METADATA_HOST"] ?? environment["GCE_METADATA_ROOT"]).flatMap { $0.isEmpty ? nil : $0 }
        let host = override ?? "metadata.google.internal"
        let bareHost = URL(string: "http://\(host)").flatMap { URLSafety.host(of: $0) } ?? host
        let metadata: any HTTPTransport =
            URLSafety.isLoopback(host: bareHost) ? transport : try metadataTransport(metadataHosts.union([bareHost]))
        let server = MetadataServerTokenSource(
            host: host, transport: metadata, probeTimeout: override == nil ? .seconds(3) : nil)
        return LastResortSource(
            inner: server,
            looked: "GOOGLE_APPLICATION_CREDENTIALS is not set; there is no gcloud ADC file at \(adcPath)")
    }

    static func source(
        for data: Data, label: String, transport: any HTTPTransport, readFile: @escaping @Sendable (String) -> Data?
    ) throws -> any GoogleTokenSource {
        switch try GoogleCredentialsFile.parse(data, source: label) {
        case .serviceAccount(let email, let pem, let keyID, let tokenURI):
            let signer = try ServiceAccountJWTSigner(privateKeyPEM: pem, keyID: keyID, source: label)
            return ServiceAccountTokenSource(email: email, signer: signer, tokenURI: tokenURI, transport: transport, label: label)
        case .authorizedUser(let clientID, let secret, let refresh, let tokenURI):
            return AuthorizedUserTokenSource(
                clientID: clientID, clientSecret: secret, refreshToken: refresh, tokenURI: tokenURI, transport: transport, label: label)
        case .externalAccount(let configuration):
            return ExternalAccountTokenSource(configuration: configuration, transport: transport, label: label, readFile: readFile)
        }
    }
}

/// The metadata server as the chain's last place: when it does not answer,
/// the error names every place the chain looked.
struct LastResortSource: GoogleTokenSource {
    let inner: MetadataServerTokenSource
    let looked: String
    var label: String { inner.label }

    func member() async throws -> String? { try await wrap { try await inner.member() } }
    func fetch() async throws -> GoogleAccessToken { try await wrap { try await inner.fetch() } }

    func wrap<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ProviderError where error.code == .credentials {
            throw ProviderError(
                .credentials,
                "no Google credentials found: \(looked); \(error.message). Set GOOGLE_APPLICATION_CREDENTIALS to a key file or run 'gcloud auth application-default login'")
        }
    }
}
