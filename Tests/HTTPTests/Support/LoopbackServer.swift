import Foundation
import HTTP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A request as the loopback server received it, byte for byte.
struct ReceivedRequest: Sendable {
    var method: String
    /// The request target: path and query as sent.
    var target: String
    var version: String
    /// Header fields in the order they arrived.
    var headers: [HTTPHeaders.Field]
    var body: Data

    func header(_ name: String) -> [String] {
        headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }
}

/// What the server does with one request.
indirect enum ServerAction: Sendable {
    /// Answers with this status, headers and body (plus `Content-Length`
    /// and `Connection: close`).
    case respond(status: Int, headers: [HTTPHeaders.Field] = [], body: Data = Data())
    /// Waits until the gate opens, then does the next action.
    case hold(Gate, then: ServerAction)
    /// Writes these bytes as they are, then closes: for interim responses,
    /// folded headers and other wire-level cases.
    case raw(String)
    /// Closes the connection after reading the request, answering nothing.
    case closeWithoutAnswer
    /// Keeps the connection open and never answers (until the client or the
    /// server closes it).
    case neverAnswer

    static func respond(_ status: Int, _ body: String = "", headers: [(String, String)] = []) -> ServerAction {
        .respond(
            status: status, headers: headers.map { HTTPHeaders.Field(name: $0.0, value: $0.1) },
            body: Data(body.utf8))
    }
}

/// A one-shot latch the server's connection threads wait on. Opening it never
/// blocks, so a Swift task may do it.
final class Gate: Sendable {
    private let condition = NSCondition()
    private nonisolated(unsafe) var isOpen = false

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks the calling (server) thread until `open`.
    func wait() {
        condition.lock()
        while !isOpen { condition.wait() }
        condition.unlock()
    }
}

/// A small HTTP/1.1 server on 127.0.0.1, port chosen by the kernel, for tests
/// that need real sockets under `CurlTransport`. One thread accepts, one
/// thread per connection answers, so a held request never blocks another.
/// Every response closes its connection (`Connection: close`), which keeps the
/// behaviour of each request independent of the others.
final class LoopbackServer: Sendable {
    let port: Int
    private let listener: Int32
    private let handler: @Sendable (ReceivedRequest, Int) -> ServerAction
    private let state = LockedBox(State())

    private struct State {
        var requests: [ReceivedRequest] = []
        var openConnections: Set<Int32> = []
        var gates: [Gate] = []
        var stopped = false
    }

    /// - Parameter handler: the action for a request and its index (0 for the first).
    init(handler: @escaping @Sendable (ReceivedRequest, Int) -> ServerAction) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXFailure("socket") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            close(fd)
            throw POSIXFailure("bind/listen")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = fd

        let thread = Thread { [self] in acceptLoop() }
        thread.name = "loopback-server.accept"
        thread.start()
    }

    /// Answers request number `n` with `script[n]`, and every later one with
    /// the script's last action.
    convenience init(script: [ServerAction]) throws {
        precondition(!script.isEmpty)
        try self.init { _, index in script[min(index, script.count - 1)] }
    }

    deinit { stop() }

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    func url(_ pathAndQuery: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(pathAndQuery)")! }

    var requests: [ReceivedRequest] { state.withLock { $0.requests } }
    var requestCount: Int { state.withLock { $0.requests.count } }

    /// Stops accepting, wakes every connection thread, opens every gate.
    func stop() {
        let (connections, gates, alreadyStopped) = state.withLock { state in
            defer { state.stopped = true }
            return (state.openConnections, state.gates, state.stopped)
        }
        guard !alreadyStopped else { return }
        // shutdown() wakes a thread blocked in accept()/recv() on Linux;
        // close() alone would not.
        shutdown(listener, Int32(SHUT_RDWR))
        for connection in connections { shutdown(connection, Int32(SHUT_RDWR)) }
        for gate in gates { gate.open() }
    }

    /// Waits (without blocking a thread) until `count` requests have arrived.
    func waitForRequests(_ count: Int) async throws {
        while requestCount < count {
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    // MARK: - Threads

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                break
            }
            let accepted = state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.openConnections.insert(connection)
                return true
            }
            guard accepted else {
                close(connection)
                break
            }
            let thread = Thread { [self] in serve(connection) }
            thread.name = "loopback-server.connection"
            thread.start()
        }
        close(listener)
    }

    private func serve(_ connection: Int32) {
        defer {
            state.withLock { _ = $0.openConnections.remove(connection) }
            close(connection)
        }
        var reader = RequestReader(fd: connection)
        guard let request = reader.readRequest() else { return }
        let index = state.withLock { state -> Int in
            state.requests.append(request)
            return state.requests.count - 1
        }
        perform(handler(request, index), on: connection, reader: &reader)
    }

    private func perform(_ action: ServerAction, on connection: Int32, reader: inout RequestReader) {
        switch action {
        case .respond(let status, let headers, let body):
            var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
            for field in headers { head += "\(field.name): \(field.value)\r\n" }
            head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            sendAll(Data(head.utf8) + body, on: connection)
        case .hold(let gate, let next):
            let stopped = state.withLock { state -> Bool in
                state.gates.append(gate)
                return state.stopped
            }
            if !stopped { gate.wait() }
            perform(next, on: connection, reader: &reader)
        case .raw(let text):
            sendAll(Data(text.utf8), on: connection)
        case .closeWithoutAnswer:
            return
        case .neverAnswer:
            // Until the client gives up (EOF) or the server stops.
            reader.drainUntilClosed()
        }
    }

    private func sendAll(_ data: Data, on connection: Int32) {
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let sent = send(connection, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent <= 0 { return }
                offset += sent
            }
        }
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status"
        }
    }
}

/// Reads one HTTP/1.1 request (head plus `Content-Length` body) from a socket.
private struct RequestReader {
    let fd: Int32
    var buffer: [UInt8] = []

    mutating func readRequest() -> ReceivedRequest? {
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        guard fill() else { return nil }
        if buffer.first == 0x16 {
            // A TLS ClientHello (record type 22): a client speaking https to
            // this plain-HTTP server. Report it instead of waiting for a
            // request head that never comes.
            return ReceivedRequest(method: "TLS", target: "", version: "", headers: [], body: Data())
        }
        var headEnd = buffer.firstRange(of: terminator)?.lowerBound
        while headEnd == nil {
            guard fill() else { return nil }
            headEnd = buffer.firstRange(of: terminator)?.lowerBound
        }
        let head = String(decoding: buffer[..<headEnd!], as: UTF8.self)
        buffer.removeFirst(headEnd! + terminator.count)

        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ", maxSplits: 2).map(String.init)
        guard requestLine.count == 3 else { return nil }
        var headers: [HTTPHeaders.Field] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                HTTPHeaders.Field(
                    name: String(line[..<colon]),
                    value: String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        let length =
            headers.first { $0.name.caseInsensitiveCompare("Content-Length") == .orderedSame }
            .flatMap { Int($0.value) } ?? 0
        while buffer.count < length {
            guard fill() else { return nil }
        }
        let body = Data(buffer.prefix(length))
        buffer.removeFirst(length)
        return ReceivedRequest(
            method: requestLine[0], target: requestLine[1], version: requestLine[2], headers: headers, body: body)
    }

    mutating func drainUntilClosed() {
        while fill() { buffer.removeAll() }
    }

    /// Reads more bytes; false at EOF or on error.
    private mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0, errno == EINTR { return fill() }
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[..<count])
        return true
    }
}

struct POSIXFailure: Error, CustomStringConvertible {
    let call: String
    let code: Int32
    init(_ call: String) {
        self.call = call
        self.code = errno
    }
    var description: String { "\(call) failed: \(String(cString: strerror(code)))" }
}

/// A value behind a lock, for test support types.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A loopback port where nothing listens, and nothing can start listening
/// while the test runs: the socket stays bound (without `listen`), so the
/// kernel refuses connections to it and no other process can take the port.
/// It closes when the value is released; keep it alive until the last request.
final class ClosedLoopbackPort {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXFailure("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw POSIXFailure("bind")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
