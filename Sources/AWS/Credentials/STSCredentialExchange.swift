import Foundation
import HTTP
import PolicyChange
import SigV4

/// The two STS calls that turn one identity into temporary credentials for a role:
/// `AssumeRole` (signed with the source credentials) and `AssumeRoleWithWebIdentity`
/// (unsigned: the web identity token is the proof). Query protocol: a form-encoded
/// `POST /` with `Action` and `Version=2011-06-15`, answered in XML
/// (`../shared/fixtures/aws/sts`).
struct STSCredentialExchange: Sendable {
    let transport: any HTTPTransport
    /// `https://sts.<region>.amazonaws.com` or an override.
    let endpoint: URL
    /// The signing region.
    let region: String
    let clock: CredentialClock

    static let version = "2011-06-15"

    struct AssumeRoleParameters: Sendable {
        var roleARN: String
        var sessionName: String
        var externalID: String?
        var durationSeconds: Int?
        var mfaSerial: String?
        var mfaCode: String?
    }

    func assumeRole(_ parameters: AssumeRoleParameters, using source: AWSCredentials) async throws -> AWSCredentials {
        var form: [(String, String)] = [
            ("Action", "AssumeRole"), ("Version", Self.version),
            ("RoleArn", parameters.roleARN), ("RoleSessionName", parameters.sessionName),
        ]
        if let seconds = parameters.durationSeconds { form.append(("DurationSeconds", String(seconds))) }
        if let externalID = parameters.externalID { form.append(("ExternalId", externalID)) }
        if let serial = parameters.mfaSerial, let code = parameters.mfaCode {
            form.append(("SerialNumber", serial))
            form.append(("TokenCode", code))
        }
        let request = SigV4Signer(credentials: source, region: region, service: AWSService.sts.signingName)
            .sign(formRequest(form), date: clock())
        return try await exchange(
            request, action: "AssumeRole", role: parameters.roleARN,
            secrets: [source.secretAccessKey, source.sessionToken, parameters.externalID, parameters.mfaCode])
    }

    func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, token: String) async throws
        -> AWSCredentials
    {
        let request = formRequest([
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", Self.version),
            ("RoleArn", roleARN), ("RoleSessionName", sessionName), ("WebIdentityToken", token),
        ])
        return try await exchange(request, action: "AssumeRoleWithWebIdentity", role: roleARN, secrets: [token])
    }

    private func formRequest(_ form: [(String, String)]) -> HTTPRequest {
        let body = form.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
        // Retrying an AssumeRole only starts a second session; nothing changes twice.
        return HTTPRequest(method: .post, url: endpoint, headers: headers, body: Data(body.utf8), isIdempotent: true)
    }

    /// RFC 3986 percent-encoding: every byte except `A-Z a-z 0-9 - . _ ~` becomes `%XX`,
    /// as the fixture's `RoleArn=arn%3Aaws%3Aiam%3A%3A…%3Arole%2F…` shows.
    static func formEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }

    private func exchange(_ request: HTTPRequest, action: String, role: String, secrets: [String?]) async throws
        -> AWSCredentials
    {
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch {
            throw CredentialMessage.providerError(error, while: "STS \(action) for \(role) at \(endpoint.absoluteString)")
        }
        guard response.isSuccess else {
            throw Self.error(from: response, action: action, role: role, secrets: secrets)
        }
        return try Self.credentials(from: response.body, action: action, role: role)
    }

    /// `<ActionResponse><ActionResult><Credentials>{AccessKeyId, SecretAccessKey,
    /// SessionToken, Expiration}`.
    static func credentials(from body: Data, action: String, role: String) throws(ProviderError) -> AWSCredentials {
        let root: QueryXMLElement
        do {
            root = try QueryXML.parse(body)
        } catch {
            throw ProviderError(.invalidResponse, "STS \(action) for \(role) answered with \(error.description)")
        }
        guard root.name == "\(action)Response", let credentials = root.descendant(["\(action)Result", "Credentials"])
        else {
            throw ProviderError(
                .invalidResponse, "STS \(action) for \(role) answered without \(action)Result/Credentials")
        }
        var missing: [String] = []
        func field(_ name: String) -> String {
            guard let value = credentials.childText(name), !value.isEmpty else {
                missing.append(name)
                return ""
            }
            return value
        }
        let keyID = field("AccessKeyId")
        let secret = field("SecretAccessKey")
        let token = field("SessionToken")
        let expirationText = field("Expiration")
        guard missing.isEmpty else {
            throw ProviderError(
                .invalidResponse,
                "STS \(action) for \(role) answered without \(missing.joined(separator: ", "))")
        }
        guard let expiration = CredentialTimestamp.parse(expirationText) else {
            throw ProviderError(
                .invalidResponse, "STS \(action) for \(role) answered with an unreadable Expiration '\(expirationText)'")
        }
        return AWSCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token, expiration: expiration)
    }

    /// An `ErrorResponse` (`<Error><Type/><Code/><Message/></Error>`) as a
    /// `ProviderError` that keeps STS's code and the HTTP status.
    static func error(from response: HTTPResponse, action: String, role: String, secrets: [String?]) -> ProviderError {
        let prefix = "STS \(action) for \(role) failed"
        guard let root = try? QueryXML.parse(response.body),
            let element = root.child("Error") ?? root.descendant(["Errors", "Error"]),
            let serviceCode = element.childText("Code"), !serviceCode.isEmpty
        else {
            let body = String(decoding: response.body.prefix(512), as: UTF8.self)
            let snippet = CredentialMessage.oneLine(CredentialMessage.redacting(body, secrets: secrets), limit: 200)
            return ProviderError(
                code(forStatus: response.status, serviceCode: nil),
                "\(prefix): HTTP \(response.status)" + (snippet.isEmpty ? "" : " (\(snippet))"),
                httpStatus: response.status)
        }
        let message =
            element.childText("Message").map { CredentialMessage.oneLine(CredentialMessage.redacting($0, secrets: secrets)) } ?? ""
        return ProviderError(
            code(forStatus: response.status, serviceCode: serviceCode),
            "\(prefix): \(serviceCode)" + (message.isEmpty ? "" : ": \(message)"),
            serviceCode: serviceCode, httpStatus: response.status)
    }

    static func code(forStatus status: Int, serviceCode: String?) -> ProviderError.Code {
        switch serviceCode {
        case "AccessDenied", "AccessDeniedException": return .accessDenied
        case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException": return .throttled
        case "IDPCommunicationError", "ServiceUnavailable", "InternalFailure": return .unavailable
        default: break
        }
        if status == 429 { return .throttled }
        if status >= 500 { return .unavailable }
        return .authentication
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
