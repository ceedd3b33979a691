import AWS
import Foundation
import HTTP
import Logging
import PolicyChange
import SigV4
import Synchronization
import Testing

// MARK: Fixtures

/// The fixtures: this target's own (`Fixtures/Credentials`, a bundle resource) and the
/// shared ones beside the repository (`../shared/fixtures`, read in place like the SigV4
/// tests do). A missing fixture fails the test; it is never a reason to skip.
enum CredentialFixtures {
    static var own: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/Credentials")
    }

    static let shared: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/AWSTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // <repo>
        .appendingPathComponent("../shared/fixtures/aws/sts")
        .standardizedFileURL

    static func ownURL(_ name: String) -> URL { own.appendingPathComponent(name) }
    static func sharedURL(_ name: String) -> URL { shared.appendingPathComponent(name) }

    static func own(_ name: String) throws -> Data { try Data(contentsOf: ownURL(name)) }
    static func shared(_ name: String) throws -> Data { try Data(contentsOf: sharedURL(name)) }
    static func ownText(_ name: String) throws -> String { String(decoding: try own(name), as: UTF8.self) }
    static func sharedText(_ name: String) throws -> String { String(decoding: try shared(name), as: UTF8.self) }
}

// MARK: A machine in a folder

/// A temporary home directory with `.aws/config` and `.aws/credentials` copied from
/// fixtures, and the environment that goes with it. Removed when the test ends.
final class TestHome {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("policy-change-aws-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: url.appendingPathComponent(".aws"), withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    var configPath: String { path + "/.aws/config" }
    var credentialsPath: String { path + "/.aws/credentials" }

    func config(_ data: Data) throws { try data.write(to: URL(fileURLWithPath: configPath)) }
    func credentials(_ data: Data) throws { try data.write(to: URL(fileURLWithPath: credentialsPath)) }
    func config(text: String) throws { try config(Data(text.utf8)) }
    func credentials(text: String) throws { try credentials(Data(text.utf8)) }

    /// Writes a file under the home and returns its path.
    @discardableResult
    func file(_ name: String, _ data: Data) throws -> String {
        let fileURL = url.appendingPathComponent(name)
        try data.write(to: fileURL)
        return fileURL.path
    }

    /// The given variables and this process's `PATH` (for `credential_process` commands),
    /// nothing else of the real environment.
    func environment(_ variables: [String: String] = [:]) -> AWSEnvironment {
        var all = variables
        if all["PATH"] == nil { all["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin" }
        return AWSEnvironment(environment: all, homeDirectory: path)
    }
}

// MARK: HTTP

/// An `HTTPTransport` that records every request and answers from a handler.
final class FakeTransport: HTTPTransport {
    typealias Handler = @Sendable (HTTPRequest) async throws -> HTTPResponse
    private let handler: Handler
    private let recorded = Mutex<[HTTPRequest]>([])

    init(_ handler: @escaping Handler) { self.handler = handler }

    /// A transport nothing may reach: any request fails the test.
    static func unused() -> FakeTransport {
        FakeTransport { request in
            Issue.record("unexpected request \(request.method) \(request.url)")
            throw FakeTransportError.unexpected
        }
    }

    /// Nothing answers (off EC2, no container agent).
    static func unreachable() -> FakeTransport {
        FakeTransport { _ in throw FakeTransportError.connectionRefused }
    }

    var requests: [HTTPRequest] { recorded.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        recorded.withLock { $0.append(request) }
        return try await handler(request)
    }
}

enum FakeTransportError: Error, CustomStringConvertible {
    case unexpected, connectionRefused
    var description: String {
        switch self {
        case .unexpected: "unexpected request"
        case .connectionRefused: "connection refused"
        }
    }
}

extension HTTPResponse {
    static func ok(_ body: Data) -> HTTPResponse { HTTPResponse(status: 200, body: body) }
    static func ok(text: String) -> HTTPResponse { HTTPResponse(status: 200, body: Data(text.utf8)) }
}

extension HTTPRequest {
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The form body as name → percent-decoded value; a repeated name fails.
    var formFields: [String: String] {
        Self.formFields(bodyText)
    }

    static func formFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            #expect(fields[name] == nil, "form field \(name) repeated")
            fields[name] = value
        }
        return fields
    }
}

// MARK: Time

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date) { current = Mutex(start) }

    convenience init(iso: String) { self.init(ISO8601DateFormatter().date(from: iso)!) }

    var now: Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    func set(_ date: Date) { current.withLock { $0 = date } }

    var closure: @Sendable () -> Date { { [self] in self.now } }
}

func date(_ iso: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: iso) ?? ISO8601DateFormatter().date(from: iso)!
}

// MARK: Errors

let testLogger = Logger(label: "policy-change.aws-tests")

/// Runs `body` and returns the `ProviderError` it throws; records an issue otherwise.
func providerError(_ body: () async throws -> Void, sourceLocation: Testing.SourceLocation = #_sourceLocation) async
    -> ProviderError?
{
    do {
        try await body()
        Issue.record("expected a ProviderError, got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as ProviderError {
        return error
    } catch {
        Issue.record("expected a ProviderError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Every secret string the fixtures contain. None may appear in any message.
let fixtureSecrets: [String] = [
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    "IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZVERYLONGSTRINGEXAMPLE",
    "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE",
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeo",
    "baseSecret/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "selfSecret/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "configFileSecret/K7MDENG/EXAMPLEKEY",
    "secondHopSecret/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    "secondHopSessionToken",
    "processSecret/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "processSessionTokenEXAMPLE",
    "eyJhbGciOiJSUzI1NiJ9",
    "envSecretEXAMPLEKEY",
    "envSessionTokenEXAMPLE",
    "containerAuthTokenEXAMPLE",
    "imdsSessionTokenEXAMPLE",
]

/// Fails the test if `text` holds any fixture secret.
func expectNoSecrets(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    for secret in fixtureSecrets {
        #expect(!text.contains(secret), "a secret leaked into: \(text)", sourceLocation: sourceLocation)
    }
}

func expectNoSecrets(_ error: ProviderError?, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    guard let error else { return }
    expectNoSecrets(error.message, sourceLocation: sourceLocation)
    expectNoSecrets(String(describing: error), sourceLocation: sourceLocation)
    expectNoSecrets(String(reflecting: error), sourceLocation: sourceLocation)
}
