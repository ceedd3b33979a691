import HTTP
import Logging

/// The HTTP transport commands use.
enum Transports {
    static func make(caBundle: String?, logger: Logger, version: String) -> any HTTPTransport {
        PendingTransport()
    }
}

/// Replaced by the libcurl transport when it lands.
struct PendingTransport: HTTPTransport {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        throw PendingTransportError()
    }
}
struct PendingTransportError: Error, CustomStringConvertible {
    var description: String { "HTTP is not available in this build" }
}
