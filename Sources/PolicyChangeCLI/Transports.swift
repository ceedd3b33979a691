import CurlTransport
import Foundation
import HTTP
import Logging

/// The libcurl transports a command uses, created on first use (an offline
/// command never starts curl's thread).
final class Transports: @unchecked Sendable {
    private let lock = NSLock()
    private var cache: [Set<String>: CurlTransport] = [:]
    let caBundle: String?
    let environment: [String: String]
    let logger: Logger

    init(caBundle: String?, environment: [String: String], logger: Logger) {
        self.caBundle = caBundle
        self.environment = environment
        self.logger = logger
    }

    /// HTTPS anywhere, plain HTTP to loopback, and to `plainHTTPHosts` (the
    /// clouds' link-local metadata services, for the credential providers only).
    func transport(plainHTTPHosts: Set<String> = []) throws -> any HTTPTransport {
        try lock.withLock {
            if let existing = cache[plainHTTPHosts] { return existing }
            let transport: CurlTransport
            do {
                transport = try CurlTransport(
                    configuration: CurlTransport.Configuration(
                        userAgent: "policy-change/\(PolicyChangeCommand.version)",
                        caBundle: CurlTransport.Configuration.caBundlePath(explicit: caBundle, environment: environment),
                        environment: environment, plainHTTPHosts: plainHTTPHosts),
                    logger: logger)
            } catch {
                throw Failure(.internalError, "cannot start the HTTP transport: \(error)")
            }
            cache[plainHTTPHosts] = transport
            return transport
        }
    }
}
