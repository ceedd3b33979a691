import CCurl
import Foundation
import HTTP
import Logging

/// The production ``HTTPTransport``: libcurl, as every SRE's other tools use
/// it (DESIGN.md §2).
///
/// - **Threads.** All transfers run on one dedicated thread driving a
///   `curl_multi` handle (see `CurlMultiLoop`); `send` suspends on a
///   continuation and never blocks a thread of Swift's cooperative pool.
///   Connections are reused between requests of the same transport.
/// - **Security.** Plain `http://` is refused for anything but loopback
///   hosts before a connection is opened (``URLSafety``). Certificates and
///   host names are always verified (`CURLOPT_SSL_VERIFYPEER=1`,
///   `CURLOPT_SSL_VERIFYHOST=2`). Redirects are not followed. Nothing is ever
///   traced by libcurl (`CURLOPT_VERBOSE` off): signed headers stay private.
/// - **CA bundle.** `Configuration.caBundlePath`: the explicit `--ca-bundle`
///   value, else `SSL_CERT_FILE`, else `CURL_CA_BUNDLE`, else libcurl's
///   built-in default.
/// - **Proxies.** libcurl reads the proxy environment itself, and nothing here
///   overrides it: `https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy`
///   (lowercase only — libcurl ignores `HTTP_PROXY`, see "httpoxy") for http,
///   `all_proxy`/`ALL_PROXY` for both, and `no_proxy`/`NO_PROXY` for
///   exceptions. Loopback URLs (and `plainHTTPHosts`) never use a proxy.
/// - **Headers.** Exactly the request's headers are sent, plus `Host`,
///   `Content-Length` and `User-Agent` (`Configuration.userAgent` unless the
///   request sets one). libcurl's own `Expect: 100-continue`, `Accept: */*`
///   and form `Content-Type` are suppressed.
/// - **Timeouts.** `connectTimeout` for the connection, `timeout` for a whole
///   attempt (cut further by `HTTPRequest.timeout`).
/// - **Cancellation.** Cancelling the calling task removes the transfer and
///   throws `CancellationError` at once.
public final class CurlTransport: HTTPTransport {
    public struct Configuration: Sendable {
        /// Sent as `User-Agent`: `policy-change/<version>`.
        public var userAgent: String
        /// The longest wait for a connection (TCP, proxy and TLS handshake).
        public var connectTimeout: Duration
        /// The longest one attempt may take, from start to the last byte.
        public var timeout: Duration
        /// The CA certificates file (PEM) that verifies servers; `nil` for
        /// libcurl's default.
        public var caBundlePath: String?
        /// Hosts besides loopback that may be reached over plain `http://`:
        /// empty unless the caller needs a metadata service
        /// (`URLSafety.cloudMetadataHosts`). Requests to them never use a proxy.
        public var plainHTTPHosts: Set<String>
        /// Responses larger than this fail: the APIs this tool calls answer in
        /// kilobytes, so anything huge is a wrong endpoint.
        public var maxResponseBodyBytes: Int

        /// - Parameters:
        ///   - caBundle: the `--ca-bundle` option's value, if given.
        ///   - environment: where `SSL_CERT_FILE` and `CURL_CA_BUNDLE` are read.
        public init(
            userAgent: String,
            connectTimeout: Duration = .seconds(10),
            timeout: Duration = .seconds(60),
            caBundle: String? = nil,
            environment: [String: String] = ProcessInfo.processInfo.environment,
            plainHTTPHosts: Set<String> = [],
            maxResponseBodyBytes: Int = 64 << 20
        ) {
            self.plainHTTPHosts = plainHTTPHosts
            self.userAgent = userAgent
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.caBundlePath = Self.caBundlePath(explicit: caBundle, environment: environment)
            self.maxResponseBodyBytes = maxResponseBodyBytes
        }

        /// The explicit path, else `SSL_CERT_FILE`, else `CURL_CA_BUNDLE`
        /// (what the curl tool reads), else `nil` (libcurl's default).
        public static func caBundlePath(explicit: String?, environment: [String: String]) -> String? {
            for candidate in [explicit, environment["SSL_CERT_FILE"], environment["CURL_CA_BUNDLE"]] {
                if let candidate, !candidate.isEmpty { return candidate }
            }
            return nil
        }
    }

    public let configuration: Configuration
    private let loop: CurlMultiLoop

    /// `curl_global_init` must run once per process, before any other libcurl
    /// call and not concurrently with one; a `static let` initialiser runs
    /// exactly once, thread-safely (swift_once).
    private static let globalInit: CURLcode = pc_curl_global_init_default()

    /// Starts the transport's thread. Throws when libcurl cannot be initialised.
    public init(configuration: Configuration, logger: Logger) throws(HTTPError) {
        let initCode = Self.globalInit
        guard initCode == CURLE_OK else {
            throw HTTPError.other.with(
                message: "cannot initialise libcurl: \(String(cString: curl_easy_strerror(initCode)))",
                hint: "check the libcurl installation (libcurl4-openssl-dev)")
        }
        self.configuration = configuration
        self.loop = try CurlMultiLoop(logger: logger)
    }

    deinit {
        loop.shutdown()
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        // Before anything touches the network: no plain http:// to remote hosts.
        try URLSafety.check(request.url, plainHTTPHosts: configuration.plainHTTPHosts)
        try Task.checkCancellation()

        let transfer = try CurlTransfer(request: request, configuration: configuration)
        let loop = self.loop
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if transfer.start(continuation) {
                    loop.submit(transfer)
                }
            }
        } onCancel: {
            if transfer.cancel() {
                loop.remove(transfer)
            }
        }
    }
}
