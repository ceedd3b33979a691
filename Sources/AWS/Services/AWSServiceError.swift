import Foundation
import HTTP
import PolicyChange

/// An AWS error response, normalised (shared/fixtures/aws/kms/errors/
/// _parser-normalization-cases.json): the code from `__type`, `code` or the
/// `X-Amzn-ErrorType` header, with any namespace before `#` and anything
/// after `:` cut off; the message from `message` or `Message`.
struct AWSErrorResponse: Sendable, Equatable {
    var code: String
    var message: String
    var status: Int

    init(code: String, message: String, status: Int) {
        self.code = code
        self.message = message
        self.status = status
    }

    init(_ response: HTTPResponse) {
        status = response.status
        var code = response.headers.first(name: "X-Amzn-ErrorType") ?? ""
        var message = ""
        if let json = try? JSONParser.parse(response.body).root {
            code = json["__type"]?.stringValue ?? json["code"]?.stringValue ?? json["Code"]?.stringValue ?? code
            message = json["message"]?.stringValue ?? json["Message"]?.stringValue ?? ""
        } else if let root = try? QueryXML.parse(response.body), let error = root.first(named: "Error") {
            // Query-protocol services (STS), and moto's signature errors, answer in XML.
            code = error.childText("Code") ?? code
            message = error.childText("Message") ?? ""
        }
        if let hash = code.lastIndex(of: "#") { code = String(code[code.index(after: hash)...]) }
        if let colon = code.firstIndex(of: ":") { code = String(code[..<colon]) }
        self.code = code.isEmpty ? "HTTP\(response.status)" : code
        self.message = message.isEmpty ? "HTTP status \(response.status)" : CloudText.oneLine(message, limit: 400)
    }

    /// Throttling codes botocore retries (botocore/retries/standard.py), less
    /// `LimitExceededException`: from KMS PutKeyPolicy it means "policy too
    /// large", and retrying cannot help.
    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException",
    ]

    static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalFailure", "ServiceUnavailable",
        "KMSInternalException", "DependencyTimeoutException", "InternalServerException",
    ]

    var isRetryable: Bool {
        Self.throttlingCodes.contains(code) || Self.transientCodes.contains(code) || [500, 502, 503, 504].contains(status)
            || status == 429
    }

    /// The error in words an SRE can act on, as a `ProviderError`.
    func providerError(service: String, operation: String) -> ProviderError {
        let what = "\(service) \(operation)"
        switch code {
        case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
            return ProviderError(
                .accessDenied,
                "\(what) was denied: \(message) (grant the caller this permission in IAM and in the key policy)",
                serviceCode: code, httpStatus: status)
        case "UnrecognizedClientException", "InvalidClientTokenId":
            return ProviderError(
                .authentication, "\(what): AWS does not recognise the access key (\(code)); check the credentials",
                serviceCode: code, httpStatus: status)
        case "InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignatureException":
            return ProviderError(
                .authentication,
                "\(what): the request signature was rejected (\(code)); the secret access key is probably wrong",
                serviceCode: code, httpStatus: status)
        case "ExpiredTokenException", "ExpiredToken", "RequestExpired":
            return ProviderError(
                .authentication, "\(what): the credentials have expired (\(code)); refresh them", serviceCode: code,
                httpStatus: status)
        case "NotFoundException":
            return ProviderError(.notFound, "\(what): \(message) (check the key ARN and region)", serviceCode: code, httpStatus: status)
        case "InvalidArnException":
            return ProviderError(.notFound, "\(what): invalid key ARN: \(message)", serviceCode: code, httpStatus: status)
        case "MalformedPolicyDocumentException":
            return ProviderError(
                .malformedPolicy, "\(what): KMS rejected the policy: \(message)", serviceCode: code, httpStatus: status)
        case "KMSInvalidStateException":
            return ProviderError(
                .invalidState, "\(what): the key is not in a usable state: \(message)", serviceCode: code, httpStatus: status)
        case "LimitExceededException":
            return ProviderError(
                .policyTooLarge,
                "\(what): \(message) (for PutKeyPolicy this means the policy exceeds 32 KB; shorten it — retrying cannot help)",
                serviceCode: code, httpStatus: status)
        default:
            if isRetryable {
                return ProviderError(
                    Self.throttlingCodes.contains(code) || status == 429 ? .throttled : .unavailable,
                    "\(what): \(code): \(message) (still failing after retries)", serviceCode: code, httpStatus: status)
            }
            return ProviderError(.other, "\(what): \(code): \(message)", serviceCode: code, httpStatus: status)
        }
    }
}

extension QueryXMLElement {
    /// This element or the first descendant with the name, depth first
    /// (`<ErrorResponse><Error>` and `<ErrorResponse><Errors><Error>` both occur).
    func first(named name: String) -> QueryXMLElement? {
        if self.name == name { return self }
        for child in children {
            if let found = child.first(named: name) { return found }
        }
        return nil
    }
}
