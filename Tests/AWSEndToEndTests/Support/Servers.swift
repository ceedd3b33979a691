import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A loopback server (moto_server, aws_fakes.py, fault_proxy.py) in a process
/// group of its own, under scripts/aws/process_group.py: `stop()` kills the
/// group, and if this test process dies first, the closed stdin pipe makes
/// process_group.py kill it.
final class ServerProcess: @unchecked Sendable {
    let name: String
    let log: URL
    private let process: Process
    private let stdin = Pipe()

    init(name: String, _ command: [String], environment: [String: String], log: URL) throws {
        let toolchain = try Toolchain.get()
        self.name = name
        self.log = log
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        process = Process()
        process.executableURL = URL(fileURLWithPath: toolchain.python)
        process.arguments = [Toolchain.script("process_group.py")] + command
        process.environment = environment
        process.standardInput = stdin
        process.standardOutput = output
        process.standardError = output
        try process.run()
        try? output.close()
        ServerGroups.shared.add(process.processIdentifier)
    }

    var isRunning: Bool { process.isRunning }
    var groupID: Int32 { process.processIdentifier }

    /// Kills the whole group and reaps the leader. Idempotent.
    func stop() {
        let pid = process.processIdentifier
        kill(-pid, SIGKILL)
        process.waitUntilExit()
        ServerGroups.shared.remove(pid)
        try? stdin.fileHandleForWriting.close()
    }

    /// The end of the server's log, for failure messages.
    func logTail(_ count: Int = 2_000) -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return "--- \(name) log (\(log.path))\n" + String(text.suffix(count))
    }

    /// Waits for the file a server writes its port into (atomically) once it
    /// listens. Fails if the server ends first or the safety bound passes.
    func waitForPortFile(_ file: URL, bound: Duration = .seconds(60)) async throws -> Int {
        if let port = await Fake.port(in: file, bound: bound, while: { isRunning }) { return port }
        guard isRunning else { throw ServerError("\(name) ended before it listened\n\(logTail())") }
        throw ServerError("\(name) did not write \(file.path) in \(bound)\n\(logTail())")
    }

    deinit { if process.isRunning { stop() } }
}

struct ServerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Every server group still running, killed when the test process exits.
final class ServerGroups: Sendable {
    static let shared = ServerGroups()
    private let groups = Mutex(Set<Int32>())

    private init() {
        atexit {
            for group in ServerGroups.shared.groups.withLock({ $0 }) { kill(-group, SIGKILL) }
        }
    }

    func add(_ group: Int32) { _ = groups.withLock { $0.insert(group) } }
    func remove(_ group: Int32) { _ = groups.withLock { $0.remove(group) } }
}

/// A loopback TCP port nobody listens on right now (bind port 0, read it back,
/// close). Another process may take it before moto binds it: callers retry.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ServerError("socket() failed: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw ServerError("bind(127.0.0.1:0) failed: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw ServerError("getsockname failed: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The test process's environment for the Python servers and tools, without
/// anything that could steer boto3 elsewhere (a developer's AWS_PROFILE, a
/// real AWS_ENDPOINT_URL).
func toolEnvironment(_ extra: [String: String] = [:]) throws -> [String: String] {
    var environment = ProcessInfo.processInfo.environment.filter { name, _ in
        !name.hasPrefix("AWS_") && !name.hasPrefix("POLICY_CHANGE_")
    }
    environment["PATH"] = try Toolchain.get().path
    environment["PYTHONUNBUFFERED"] = "1"
    environment["AWS_EC2_METADATA_DISABLED"] = "true"
    for (name, value) in extra { environment[name] = value }
    return environment
}

/// Runs a short Python tool to its end (bounded) and returns what it printed.
func runTool(_ arguments: [String], environment: [String: String], in folder: URL, bound: Duration = .seconds(120))
    async throws -> ChildResult
{
    let toolchain = try Toolchain.get()
    let child = try Child(URL(fileURLWithPath: toolchain.python), arguments, environment: environment, directory: folder)
    return await child.wait(bound: bound)
}

// MARK: - The servers

/// moto_server on a free loopback port, prepared by moto_setup.py: an IAM user
/// with an access key and a policy, authentication on from then on.
struct Moto: Sendable {
    let server: ServerProcess
    let endpoint: String
    let setup: Setup

    struct Setup: Sendable, Decodable {
        var access_key_id: String
        var secret_access_key: String
        var key_arn: String
        var user_arn: String
    }

    static func start(in folder: URL, denyPut: Bool) async throws -> Moto {
        let toolchain = try Toolchain.get()
        var failures: [String] = []
        for attempt in 1...5 {
            let port = try freeLoopbackPort()
            let endpoint = "http://127.0.0.1:\(port)"
            let server = try ServerProcess(
                name: "moto_server :\(port)", [toolchain.motoServer, "-H", "127.0.0.1", "-p", String(port)],
                environment: try toolEnvironment(["INITIAL_NO_AUTH_ACTION_COUNT": "4"]),
                log: folder.appendingPathComponent("moto-\(attempt).log"))
            var arguments = [
                Toolchain.script("moto_setup.py"), endpoint, "--wait", "60",
                "--policy", Toolchain.repository.appendingPathComponent("examples/policies/current-key-policy.json").path,
            ]
            if denyPut { arguments.append("--deny-put") }
            let setup = try await runTool(arguments, environment: try toolEnvironment(), in: folder)
            if setup.exitedNormally, setup.status == 0, server.isRunning,
                let parsed = try? JSONDecoder().decode(Setup.self, from: Data(setup.stdout.utf8))
            {
                return Moto(server: server, endpoint: endpoint, setup: parsed)
            }
            // The port was taken in between (moto exits), or moto is broken: try another port.
            failures.append("attempt \(attempt) on \(endpoint): moto_setup.py \(setup.status): \(setup.stderr.suffix(800))\n\(server.logTail(800))")
            server.stop()
        }
        throw ServerError("moto_server did not come up: \n" + failures.joined(separator: "\n"))
    }
}

/// scripts/aws/aws_fakes.py: CloudTrail LookupEvents and Access Analyzer
/// ValidatePolicy, checking every SigV4 signature.
struct Fakes: Sendable {
    let server: ServerProcess
    let endpoint: String
    let events: URL
    let findings: URL
    let log: URL

    static func start(in folder: URL, accessKeyID: String, secretAccessKey: String) async throws -> Fakes {
        let events = folder.appendingPathComponent("events.json")
        let findings = folder.appendingPathComponent("findings.json")
        let log = folder.appendingPathComponent("fakes-requests.jsonl")
        let portFile = folder.appendingPathComponent("fakes.port")
        try Data("[]".utf8).write(to: events)
        try Data("[]".utf8).write(to: findings)
        let server = try ServerProcess(
            name: "aws_fakes.py",
            [
                try Toolchain.get().python, Toolchain.script("aws_fakes.py"), "--port-file", portFile.path, "--access-key-id", accessKeyID,
                "--secret-access-key", secretAccessKey, "--events", events.path, "--findings", findings.path, "--log", log.path,
            ],
            environment: try toolEnvironment(), log: folder.appendingPathComponent("fakes.log"))
        let port = try await server.waitForPortFile(portFile)
        return Fakes(server: server, endpoint: "http://127.0.0.1:\(port)", events: events, findings: findings, log: log)
    }
}

/// scripts/aws/fault_proxy.py in front of one endpoint.
struct FaultProxy: Sendable {
    let server: ServerProcess
    let endpoint: String
    let log: URL

    /// One forwarded or answered request, from the proxy's log.
    struct Request: Sendable, Decodable {
        var operation: String
        var target: String?
        var status: Int?
        var injected: String?
    }

    /// `faults`: `OPERATION=KIND:COUNT` (see fault_proxy.py); none = pass-through.
    static func start(in folder: URL, name: String, upstream: String, faults: [String] = []) async throws -> FaultProxy {
        let log = folder.appendingPathComponent("\(name)-requests.jsonl")
        let portFile = folder.appendingPathComponent("\(name).port")
        let server = try ServerProcess(
            name: "fault_proxy.py (\(name))",
            [try Toolchain.get().python, Toolchain.script("fault_proxy.py"), "--upstream", upstream, "--port-file", portFile.path, "--log", log.path]
                + faults.flatMap { ["--fault", $0] },
            environment: try toolEnvironment(), log: folder.appendingPathComponent("\(name).log"))
        let port = try await server.waitForPortFile(portFile)
        return FaultProxy(server: server, endpoint: "http://127.0.0.1:\(port)", log: log)
    }

    func requests() -> [Request] {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    func count(_ operation: String) -> Int { requests().filter { $0.operation == operation }.count }
}
