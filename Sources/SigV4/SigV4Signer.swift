import Crypto
import Foundation
import HTTP

/// Signs HTTP requests with AWS Signature Version 4 (`AWS4-HMAC-SHA256`).
///
/// Pure computation: no clock, no network, no files. The caller passes the signing
/// instant, so tests fix it and compare the exact `Authorization` header.
///
/// ```swift
/// let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "kms")
/// let signed = signer.sign(request, date: clock.now)
/// ```
///
/// Reproduces every case of AWS's signing test suites in `../shared/fixtures/sigv4`,
/// in header and in query mode, except three cases of the 2015 suite whose expected
/// files contradict each other or a newer case (listed with reasons in
/// `Tests/SigV4Tests/LegacySuiteTests.swift`).
///
/// Written for the JSON and query APIs this project calls (KMS, CloudTrail, IAM Access
/// Analyzer, STS); S3's variant (path encoded once, `UNSIGNED-PAYLOAD`, chunked
/// signing) is deliberately not offered.
public struct SigV4Signer: Sendable {
    /// Behaviour that differs between services.
    public struct Options: Sendable, Equatable {
        /// Whether `X-Amz-Security-Token` is part of the signature. AWS services other
        /// than the original S3 require it signed (suite case `post-sts-header-before`,
        /// the default); a few want it added after signing (`post-sts-header-after`,
        /// the suite's `omit_session_token`), which `false` does.
        public var signsSessionToken: Bool
        /// Whether to send and sign `X-Amz-Content-Sha256` with the payload hash, as S3
        /// and S3-like services require (the suite's `sign_body`). KMS, CloudTrail and
        /// Access Analyzer do not need it. The payload itself is always hashed.
        public var addsContentSHA256Header: Bool
        /// Whether to remove `.`, `..` and empty segments from the path before signing.
        /// Every service except S3 expects it; the suite's `normalize: false` cases turn
        /// it off.
        public var normalizesPath: Bool

        public init(
            signsSessionToken: Bool = true,
            addsContentSHA256Header: Bool = false,
            normalizesPath: Bool = true
        ) {
            self.signsSessionToken = signsSessionToken
            self.addsContentSHA256Header = addsContentSHA256Header
            self.normalizesPath = normalizesPath
        }
    }

    public static let algorithm = "AWS4-HMAC-SHA256"

    public let credentials: AWSCredentials
    public let region: String
    /// The signing name of the service: `kms`, `cloudtrail`, `access-analyzer`, `sts`.
    public let service: String
    public let options: Options

    public init(credentials: AWSCredentials, region: String, service: String, options: Options = Options()) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.options = options
    }

    // MARK: Header signing

    /// The request with `Host` (when missing), `X-Amz-Date`, `X-Amz-Security-Token`
    /// (when the credentials carry a session token), `X-Amz-Content-Sha256` (when
    /// `options.addsContentSHA256Header`) and `Authorization` set, in that order after
    /// the request's own headers. Signing an already signed request again replaces
    /// those headers rather than adding a second copy.
    public func sign(_ request: HTTPRequest, date: Date) -> HTTPRequest {
        var signed = request
        signed.headers = signature(for: SignableRequest(request), date: date).headers
        return signed
    }

    /// Everything computed while signing `request` for `Authorization`-header
    /// authentication: the headers to send and the intermediate products.
    public func signature(for request: HTTPRequest, date: Date) -> SigV4Signature {
        signature(for: SignableRequest(request), date: date)
    }

    /// Header signing of a request given as it goes on the wire; `sign(_:date:)` is
    /// this plus copying the headers back.
    public func signature(for request: SignableRequest, date: Date) -> SigV4Signature {
        let signingDate = SigningDate(date)
        let payloadHash = Self.payloadHash(request.body)

        var headers = request.headers
        headers.remove(name: "Authorization")
        headers.replaceOrAdd(name: "X-Amz-Date", value: signingDate.timestamp)
        if let token = credentials.sessionToken {
            headers.remove(name: "X-Amz-Security-Token")
            if options.signsSessionToken {
                headers.add(name: "X-Amz-Security-Token", value: token)
            }
        }
        if options.addsContentSHA256Header {
            headers.replaceOrAdd(name: "X-Amz-Content-Sha256", value: payloadHash)
        }

        var toSign = request
        toSign.headers = headers
        let canonical = canonicalRequest(toSign, extraQuery: [], payloadHash: payloadHash)
        let stringToSign = stringToSign(canonicalRequest: canonical.text, date: date)
        let signature = signature(stringToSign: stringToSign, date: date)
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(credentialScope(date: date)), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"

        if let token = credentials.sessionToken, !options.signsSessionToken {
            headers.add(name: "X-Amz-Security-Token", value: token)
        }
        headers.add(name: "Authorization", value: authorization)

        return SigV4Signature(
            headers: headers,
            canonicalRequest: canonical.text,
            stringToSign: stringToSign,
            signedHeaders: canonical.signedHeaders,
            signature: signature,
            authorization: authorization
        )
    }

    // MARK: Query signing (presigned URLs)

    /// The query parameters that carry a query-string signature. Any already in the
    /// request are replaced, so presigning a presigned URL again does not duplicate them.
    static let presignParameterNames: Set<String> = [
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders",
        "X-Amz-Expires", "X-Amz-Security-Token", "X-Amz-Signature",
    ]

    /// The request with the signature in its query string instead of a header (a
    /// presigned URL valid for `expiresIn` seconds; AWS accepts 1…604800). `Host` is
    /// added when missing; no other header is.
    public func presign(_ request: HTTPRequest, date: Date, expiresIn: Int) -> HTTPRequest {
        let signable = SignableRequest(request)
        let presignature = presignature(for: signable, date: date, expiresIn: expiresIn)
        var signed = request
        signed.headers = signable.headers
        if var components = URLComponents(url: request.url, resolvingAgainstBaseURL: false) {
            // Every byte of the new query is either from the URL's own (valid) query or
            // UriEncode output, so the setter's validation cannot fail.
            components.percentEncodedQuery = presignature.query
            if let url = components.url {
                signed.url = url
            }
        }
        return signed
    }

    /// Query signing of a request given as it goes on the wire.
    public func presignature(for request: SignableRequest, date: Date, expiresIn: Int) -> SigV4Presignature {
        let signingDate = SigningDate(date)
        let payloadHash = Self.payloadHash(request.body)

        var toSign = request
        toSign.headers.remove(name: "Authorization")
        let originalQuery = Self.removingPresignParameters(from: request.query)
        toSign.query = originalQuery

        let signedHeaders = Canonical.headers(toSign.headers).signedHeaders
        var parameters: [(name: String, value: String)] = [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(credentialScope(date: date))"),
            ("X-Amz-Date", signingDate.timestamp),
            ("X-Amz-SignedHeaders", signedHeaders),
            ("X-Amz-Expires", String(expiresIn)),
        ]
        let token = credentials.sessionToken
        if let token, options.signsSessionToken {
            parameters.append(("X-Amz-Security-Token", token))
        }

        let canonical = canonicalRequest(
            toSign,
            extraQuery: parameters.map { .init(name: Array($0.name.utf8), value: Array($0.value.utf8)) },
            payloadHash: payloadHash
        )
        let stringToSign = stringToSign(canonicalRequest: canonical.text, date: date)
        let signature = signature(stringToSign: stringToSign, date: date)

        // Appended after the request's own parameters in the order aws-c-auth uses
        // (the suites' query-signed-request.txt); a token the signature leaves out is
        // still sent.
        if let token, !options.signsSessionToken {
            parameters.append(("X-Amz-Security-Token", token))
        }
        parameters.append(("X-Amz-Signature", signature))
        let appended = parameters.map {
            Canonical.uriEncode($0.name.utf8, keepingSlash: false) + "="
                + Canonical.uriEncode($0.value.utf8, keepingSlash: false)
        }
        let query = ([originalQuery].compactMap { $0 }.filter { !$0.isEmpty } + appended).joined(separator: "&")

        return SigV4Presignature(
            query: query,
            canonicalRequest: canonical.text,
            stringToSign: stringToSign,
            signedHeaders: canonical.signedHeaders,
            signature: signature
        )
    }

    private static func removingPresignParameters(from query: String?) -> String? {
        guard let query else { return nil }
        let kept = query.split(separator: "&", omittingEmptySubsequences: false).filter { piece in
            let name = piece.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let decoded = String(decoding: Canonical.percentDecode(name.utf8), as: UTF8.self)
            return !presignParameterNames.contains(decoded)
        }
        return kept.joined(separator: "&")
    }

    // MARK: Building blocks

    /// The canonical request of `request` exactly as given: no header is added or
    /// removed first (`signature(for:date:)` adds `X-Amz-Date` and the rest before it
    /// calls this).
    ///
    /// ```
    /// METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n hex(SHA256(body))
    /// ```
    /// where CanonicalHeaders ends in its own `\n`, hence the blank line before SignedHeaders.
    public func canonicalRequest(_ request: SignableRequest) -> String {
        canonicalRequest(request, extraQuery: [], payloadHash: Self.payloadHash(request.body)).text
    }

    func canonicalRequest(
        _ request: SignableRequest,
        extraQuery: [Canonical.QueryParameter],
        payloadHash: String
    ) -> (text: String, signedHeaders: String) {
        let headers = Canonical.headers(request.headers)
        let query = Canonical.queryString(Canonical.queryParameters(request.query) + extraQuery)
        let text = [
            request.method.rawValue,
            Canonical.uri(path: request.path, normalize: options.normalizesPath),
            query,
            headers.block,
            headers.signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        return (text, headers.signedHeaders)
    }

    /// `date/region/service/aws4_request`.
    public func credentialScope(date: Date) -> String {
        "\(SigningDate(date).dateStamp)/\(region)/\(service)/aws4_request"
    }

    /// `AWS4-HMAC-SHA256 \n timestamp \n scope \n hex(SHA256(canonicalRequest))`.
    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        [
            Self.algorithm,
            SigningDate(date).timestamp,
            credentialScope(date: date),
            Canonical.lowercaseHex(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")
    }

    /// The lower-case hex HMAC-SHA256 of the string to sign under the signing key.
    public func signature(stringToSign: String, date: Date) -> String {
        Self.signature(stringToSign: stringToSign, signingKey: signingKey(date: date))
    }

    public static func signature(stringToSign: String, signingKey: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey)
        return Canonical.lowercaseHex(mac)
    }

    /// The signing key for these credentials, region and service on the day of `date`.
    public func signingKey(date: Date) -> SymmetricKey {
        Self.signingKey(
            secretAccessKey: credentials.secretAccessKey,
            dateStamp: SigningDate(date).dateStamp,
            region: region,
            service: service
        )
    }

    /// `HMAC("AWS4" + secret, date) → region → service → "aws4_request"`, each step an
    /// HMAC-SHA256 keyed with the previous result (AWS General Reference, "Derive a
    /// signing key").
    public static func signingKey(secretAccessKey: String, dateStamp: String, region: String, service: String)
        -> SymmetricKey
    {
        var key = SymmetricKey(data: Data(("AWS4" + secretAccessKey).utf8))
        for step in [dateStamp, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data(step.utf8), using: key))
        }
        return key
    }

    /// Lower-case hex SHA-256 of the body. Always the real hash: KMS, CloudTrail and
    /// Access Analyzer reject `UNSIGNED-PAYLOAD`, which only S3 accepts.
    public static func payloadHash(_ body: Data) -> String {
        Canonical.lowercaseHex(SHA256.hash(data: body))
    }
}

extension SigV4Signer: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "SigV4Signer(region: \(region), service: \(service), credentials: \(credentials))"
    }

    public var debugDescription: String { description }
}

/// What header signing produced for one request.
public struct SigV4Signature: Sendable, Equatable {
    /// The request's headers followed by the ones signing added, `Authorization` last.
    public var headers: HTTPHeaders
    public var canonicalRequest: String
    public var stringToSign: String
    /// The `;`-joined lower-case names of the signed headers.
    public var signedHeaders: String
    /// Lower-case hex.
    public var signature: String
    /// The value of the `Authorization` header.
    public var authorization: String
}

/// What query signing produced for one request.
public struct SigV4Presignature: Sendable, Equatable {
    /// The complete query to send: the request's own parameters, then `X-Amz-Algorithm`,
    /// `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-SignedHeaders`, `X-Amz-Expires`,
    /// `X-Amz-Security-Token` (with a session token) and `X-Amz-Signature`.
    public var query: String
    public var canonicalRequest: String
    public var stringToSign: String
    public var signedHeaders: String
    public var signature: String
}
