import Dispatch
import Foundation
import HTTP
import PolicyChange

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Approval: `--yes`, a y/N prompt on a terminal, or a refusal without one.
struct TerminalApprover: Approver {
    let assumeYes: Bool
    let renderer: PlanRenderer
    let terminal: Terminal

    func approve(_ plan: RunPlan) async -> Approval {
        if assumeYes { return .approved(by: "--yes") }
        guard isatty(STDIN_FILENO) == 1 else {
            return .declined(reason: "no terminal to ask on; pass --yes to approve non-interactively")
        }
        terminal.write(renderer.text(plan))
        terminal.write("\nApply this change to \(plan.key)? Only 'yes' or 'y' approves. [y/N] ")
        let answer = await readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        if answer == "y" || answer == "yes" {
            return .approved(by: "\(ProcessInfo.processInfo.environment["USER"] ?? "operator") at the terminal")
        }
        return .declined(reason: "declined at the prompt")
    }

    /// Reads a line on its own thread: a blocking read must never hold one of
    /// Swift's cooperative threads.
    private func readLine() async -> String? {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: Swift.readLine(strippingNewline: true))
            }
        }
    }
}

/// Progress lines on standard error for a person watching.
struct TerminalObserver: RunObserver {
    let terminal: Terminal
    let steps: [Step]

    func progress(_ event: ProgressEvent) {
        let prefix = event.step.map { "[\($0 + 1)/\(steps.count)] " } ?? ""
        let text: String
        switch event.kind {
        case .stepStarted: text = terminal.styled("\(prefix)\(event.message)", .bold)
        case .stepFinished: text = "\(prefix)" + terminal.styled("✓ ", .green) + event.message
        case .success: text = terminal.styled("✓ ", .green) + event.message
        case .info: text = "\(prefix)  \(event.message)"
        case .waiting: text = "\(prefix)  " + terminal.styled("… ", .cyan) + event.message
        case .warning: text = "\(prefix)  " + terminal.styled("! ", .yellow) + event.message
        case .failure: text = "\(prefix)  " + terminal.styled("✗ ", .red) + event.message
        }
        terminal.line(text)
    }
}

/// SIGINT and SIGTERM become an `Interruption`; the engine decides what it
/// means (before apply: stop; after: roll back).
final class SignalTrap {
    let interruption = Interruption()
    private let sources: [DispatchSourceSignal]

    init(terminal: Terminal) {
        let interruption = self.interruption
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let name = number == SIGINT ? "SIGINT" : "SIGTERM"
                if interruption.reason == nil {
                    terminal.line("\n" + terminal.styled("! \(name) received: stopping safely (rolling back if the change was applied)", .yellow))
                    interruption.trigger(name)
                } else {
                    terminal.line(terminal.styled("! \(name) again: a safe stop is already under way; a rollback is never cut short", .yellow))
                }
            }
            source.resume()
            return source
        }
    }

    func restore() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// `http` and `command` checks and `command` steps.
struct LiveProbes: ExternalProbes {
    let transport: any HTTPTransport
    let workingDirectory: String
    let logPath: String?

    func http(_ check: HTTPCheck) async -> CheckOutcome {
        guard let url = URL(string: check.url), url.scheme != nil, url.host != nil else {
            return .failed("invalid URL in the http check")
        }
        var headers = HTTPHeaders()
        for (name, value) in check.headers.sorted(by: { $0.key < $1.key }) { headers.add(name: name, value: value) }
        let request = HTTPRequest(method: HTTPMethod(rawValue: check.method), url: url, headers: headers)
        let shown = "\(url.scheme!)://\(url.host!)\(url.path)"
        do {
            let response = try await withTimeout(check.timeout ?? .seconds(30)) { try await transport.send(request) }
            if (500..<600).contains(response.status) || response.status == 429 {
                return .inconclusive("\(shown) answered \(response.status)")
            }
            guard response.status == check.expectStatus else {
                return .failed("\(shown) answered \(response.status), expected \(check.expectStatus)")
            }
            if !check.expectJSON.isEmpty {
                guard let json = try? JSONParser.parse(response.body).root else {
                    return .failed("\(shown) did not answer JSON")
                }
                for (path, expected) in check.expectJSON.sorted(by: { $0.key < $1.key }) {
                    let actual = path.split(separator: ".").reduce(Optional(json)) { value, key in value?[String(key)] }
                    guard let actual, Self.matches(actual, expected) else {
                        return .failed("\(shown): \(path) is \(actual.map { $0.serialized() } ?? "missing"), expected \(expected)")
                    }
                }
            }
            return .passed("\(shown) answered \(response.status)")
        } catch is TimeoutError {
            return .inconclusive("\(shown) did not answer in time")
        } catch {
            return .inconclusive("\(shown): \(error)")
        }
    }

    static func matches(_ value: JSONValue, _ expected: JSONScalar) -> Bool {
        switch (value, expected) {
        case (.string(let a), .string(let b)): a == b
        case (.number(let a), .number(let b)): Double(a) == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        default: false
        }
    }

    func command(_ command: CommandSpec, environment: [String: String]) async -> CommandOutcome {
        await CommandRunner.run(
            command.run, in: workingDirectory, environment: environment.merging(command.environment) { $1 },
            timeout: command.timeout ?? .seconds(600), logPath: logPath)
    }
}

struct TimeoutError: Error {}

func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimeoutError() }
        return value
    }
}

/// Runs `/bin/sh -c` in the runbook's folder; output goes to the run's
/// `commands.log` (and its last line into messages), never to the journal.
enum CommandRunner {
    static func run(
        _ script: String, in directory: String, environment extra: [String: String], timeout: Duration, logPath: String?
    ) async -> CommandOutcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        let outputPath = NSTemporaryDirectory() + "policy-change-command-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil, attributes: [.posixPermissions: 0o600])
        guard let output = FileHandle(forWritingAtPath: outputPath) else { return .failedToStart("cannot create an output file") }
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let finished = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in finished.continuation.finish() }
        do {
            try process.run()
        } catch {
            return .failedToStart("\(error)")
        }
        let timedOut = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in finished.stream {}
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return !Task.isCancelled
            }
            let first = await group.next() ?? false
            if first || Task.isCancelled {
                // Timed out or the run was interrupted: stop the command, then be sure.
                process.terminate()
                try? await Task.sleep(for: .seconds(2))
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
            group.cancelAll()
            return first
        }
        process.waitUntilExit()
        try? output.close()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        if let logPath, let log = FileHandle(forWritingAtPath: logPath) ?? {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil, attributes: [.posixPermissions: 0o600])
            return FileHandle(forWritingAtPath: logPath)
        }() {
            log.seekToEndOfFile()
            log.write(Data("$ \(script)\n\(text)\n".utf8))
            try? log.close()
        }
        if timedOut { return .timedOut }
        return .exited(process.terminationStatus, output: text)
    }
}
