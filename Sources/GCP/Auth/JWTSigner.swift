import Crypto
import Foundation
import HTTP
import PolicyChange
import _CryptoExtras

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) compact JWS for the OAuth 2.0
/// JWT-bearer grant of a service-account key. RS256 is deterministic, so the
/// same header, claims and key give the same assertion byte for byte.
public struct ServiceAccountJWTSigner: Sendable {
    let key: _RSA.Signing.PrivateKey
    public let keyID: String?

    /// Fails with a `.credentials` error (never the key's text) when the PEM does not parse.
    public init(privateKeyPEM: String, keyID: String?, source: String) throws(ProviderError) {
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw ProviderError(
                .credentials, "\(source): 'private_key' is not a PEM RSA private key of 2048 bits or more; download a new key")
        }
        self.keyID = keyID
    }

    /// `base64url(header).base64url(claims).base64url(signature)` for exactly these JSON texts.
    public func sign(headerJSON: String, claimsJSON: String) throws(ProviderError) -> String {
        let input = Base64URL.encode(Data(headerJSON.utf8)) + "." + Base64URL.encode(Data(claimsJSON.utf8))
        do {
            let signature = try key.signature(for: SHA256.hash(data: Data(input.utf8)), padding: .insecurePKCS1v1_5)
            return input + "." + Base64URL.encode(signature.rawRepresentation)
        } catch {
            throw ProviderError(.credentials, "cannot sign the service-account assertion with the key file's private key")
        }
    }

    /// The header Google expects: `{"alg":"RS256","typ":"JWT","kid":…}`.
    public var headerJSON: String {
        var header = #"{"alg":"RS256","typ":"JWT""#
        if let keyID { header += #","kid":"# + Self.quoted(keyID) }
        return header + "}"
    }

    /// Claims in the order Google's libraries write them: iss, scope, aud, iat, exp.
    public static func claimsJSON(issuer: String, scope: String, audience: String, issuedAt: Int, expiresAt: Int) -> String {
        #"{"iss":"# + quoted(issuer) + #","scope":"# + quoted(scope) + #","aud":"#
            + quoted(audience) + #","iat":\#(issuedAt),"exp":\#(expiresAt)}"#
    }

    /// A JSON string literal, escaped as the run files' JSON is (no slash escaping, as Python's json does not either).
    static func quoted(_ s: String) -> String { JSONValue.string(s).serialized() }

    public func assertion(issuer: String, scope: String, audience: String, now: Date) throws(ProviderError) -> String {
        let iat = Int(now.timeIntervalSince1970)
        return try sign(
            headerJSON: headerJSON,
            claimsJSON: Self.claimsJSON(issuer: issuer, scope: scope, audience: audience, issuedAt: iat, expiresAt: iat + 3600))
    }
}
