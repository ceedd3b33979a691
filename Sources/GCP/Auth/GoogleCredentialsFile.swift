import Foundation
import PolicyChange

/// An ADC JSON file (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
/// application_default_credentials.json): its type and the fields each type needs.
public enum GoogleCredentialsFile: Sendable {
    case serviceAccount(email: String, privateKeyPEM: String, privateKeyID: String?, tokenURI: String)
    case authorizedUser(clientID: String, clientSecret: String, refreshToken: String, tokenURI: String)
    case externalAccount(ExternalAccountConfiguration)

    public static let defaultTokenURI = "https://oauth2.googleapis.com/token"

    /// Parses the file; errors name the file and the field, never a value.
    public static func parse(_ data: Data, source: String) throws(ProviderError) -> GoogleCredentialsFile {
        guard let root = try? JSONParser.parse(data).root, case .object = root else {
            throw ProviderError(.credentials, "\(source) is not a JSON object (a Google credentials file)")
        }
        func field(_ name: String) throws(ProviderError) -> String {
            guard let value = root[name]?.stringValue, !value.isEmpty else {
                throw ProviderError(.credentials, "\(source): '\(name)' is missing or not a string")
            }
            return value
        }
        let type = root["type"]?.stringValue ?? ""
        switch type {
        case "service_account":
            return .serviceAccount(
                email: try field("client_email"), privateKeyPEM: try field("private_key"),
                privateKeyID: root["private_key_id"]?.stringValue,
                tokenURI: root["token_uri"]?.stringValue ?? defaultTokenURI)
        case "authorized_user":
            return .authorizedUser(
                clientID: try field("client_id"), clientSecret: try field("client_secret"),
                refreshToken: try field("refresh_token"), tokenURI: root["token_uri"]?.stringValue ?? defaultTokenURI)
        case "external_account":
            return .externalAccount(try ExternalAccountConfiguration(root, source: source))
        default:
            throw ProviderError(
                .credentials,
                "\(source): credential type '\(type.prefix(40))' is not supported (service_account, authorized_user, external_account)")
        }
    }
}

/// Workload identity federation (`type: external_account`) with a file- or URL-sourced subject token.
public struct ExternalAccountConfiguration: Sendable {
    public var audience: String
    public var subjectTokenType: String
    public var tokenURL: String
    public var impersonationURL: String?
    public var credentialFile: String?
    public var credentialURL: String?
    public var credentialHeaders: [String: String]
    /// `format: {type: json, subject_token_field_name: …}`; nil for text.
    public var jsonField: String?

    init(_ root: JSONValue, source: String) throws(ProviderError) {
        guard let audience = root["audience"]?.stringValue, let type = root["subject_token_type"]?.stringValue else {
            throw ProviderError(.credentials, "\(source): 'audience' and 'subject_token_type' are required")
        }
        self.audience = audience
        subjectTokenType = type
        tokenURL = root["token_url"]?.stringValue ?? "https://sts.googleapis.com/v1/token"
        impersonationURL = root["service_account_impersonation_url"]?.stringValue
        let credentialSource = root["credential_source"]
        credentialFile = credentialSource?["file"]?.stringValue
        credentialURL = credentialSource?["url"]?.stringValue
        var headers: [String: String] = [:]
        for member in credentialSource?["headers"]?.objectValue ?? [] {
            if let value = member.value.stringValue { headers[member.key] = value }
        }
        credentialHeaders = headers
        if credentialSource?["format"]?["type"]?.stringValue == "json" {
            jsonField = credentialSource?["format"]?["subject_token_field_name"]?.stringValue ?? "access_token"
        }
        guard credentialFile != nil || credentialURL != nil else {
            throw ProviderError(
                .credentials, "\(source): credential_source needs 'file' or 'url' (executable and AWS sources are not supported)")
        }
    }

    /// `serviceAccount:EMAIL` from the impersonation URL.
    var impersonatedMember: String? {
        guard let url = impersonationURL, let range = url.range(of: "serviceAccounts/") else { return nil }
        let rest = url[range.upperBound...]
        let email = rest.split(separator: ":").first.map(String.init) ?? ""
        return email.isEmpty ? nil : "serviceAccount:\(email)"
    }
}
