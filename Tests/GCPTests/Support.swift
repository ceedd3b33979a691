import Foundation
import HTTP
import Logging
import PolicyChange

@testable import GCP

enum Fixtures {
    static func data(_ name: String) -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"),
            let data = try? Data(contentsOf: url)
        else { fatalError("no fixture \(name)") }
        return data
    }
    static func json(_ name: String) -> JSONValue {
        guard let root = try? JSONParser.parse(data(name)).root else { fatalError("fixture \(name) is not JSON") }
        return root
    }
    static func names(in folder: String) -> [String] {
        guard let url = Bundle.module.url(forResource: folder, withExtension: nil, subdirectory: "Fixtures"),
            let names = try? FileManager.default.contentsOfDirectory(atPath: url.path)
        else { return [] }
        return names.sorted().map { "\(folder)/\($0)" }
    }
}

/// Answers requests from a closure and records them.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [HTTPRequest] = []
    let handler: @Sendable (HTTPRequest, Int) throws -> HTTPResponse

    init(_ handler: @escaping @Sendable (HTTPRequest, Int) throws -> HTTPResponse) { self.handler = handler }

    var requests: [HTTPRequest] { lock.withLock { log } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let n = lock.withLock { () -> Int in
            log.append(request)
            return log.count
        }
        return try handler(request, n)
    }
}

struct FixedToken: GoogleTokenSource {
    var label: String { "test token" }
    func member() async throws -> String? { "serviceAccount:sa@example.com" }
    func fetch() async throws -> GoogleAccessToken { GoogleAccessToken(token: "ya29.test", expiresAt: Date().addingTimeInterval(3600)) }
}

func json(_ status: Int, _ text: String) -> HTTPResponse {
    HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Data(text.utf8))
}

func client(_ transport: any HTTPTransport, service: String = "Cloud KMS") -> GoogleAPIClient {
    GoogleAPIClient(
        service: service, base: URL(string: "https://cloudkms.googleapis.com/v1/")!, transport: transport,
        tokens: CachingTokenProvider(source: FixedToken()))
}

let testKey = "projects/my-project/locations/us-east1/keyRings/my-ring/cryptoKeys/my-key"
