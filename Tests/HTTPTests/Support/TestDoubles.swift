import Foundation
import HTTP
import Logging

// MARK: - Logs

/// Collects every log line (message, metadata, error) as text.
final class LogCapture: Sendable {
    private let lines = LockedBox<[String]>([])

    var all: [String] { lines.withLock { $0 } }
    var joined: String { all.joined(separator: "\n") }

    func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "policy-change.test") { _ in CapturingLogHandler(capture: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }
}

private struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        for (key, value) in event.metadata ?? [:] { merged[key] = value }
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let error = event.error.map { " error=\($0)" } ?? ""
        capture.append("\(event.level) \(event.message) \(fields)\(error)")
    }
}

// MARK: - Time

/// A clock that only moves when the transport sleeps: retries run instantly,
/// and every requested delay is recorded.
final class FakeTime: Sendable {
    private struct State {
        var now: Duration = .zero
        var sleeps: [Duration] = []
        var randoms: [Double] = []
    }
    private let state = LockedBox(State())
    let wallClockStart: Date

    /// - Parameter randoms: the jitter source's answers in order; 0.5 when used up.
    init(randoms: [Double] = [], wallClock: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        self.wallClockStart = wallClock
        state.withLock { $0.randoms = randoms }
    }

    var sleeps: [Duration] { state.withLock { $0.sleeps } }
    var now: Duration { state.withLock { $0.now } }

    /// Moves the clock as if an attempt took this long.
    func advance(_ duration: Duration) { state.withLock { $0.now += duration } }

    var environment: RetryEnvironment {
        RetryEnvironment(
            uptime: { self.now },
            wallClock: { self.wallClockStart + self.now.timeInterval },
            sleep: { duration in
                try Task.checkCancellation()
                self.state.withLock {
                    $0.sleeps.append(duration)
                    $0.now += duration
                }
            },
            random: {
                self.state.withLock { state in state.randoms.isEmpty ? 0.5 : state.randoms.removeFirst() }
            })
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

// MARK: - Transport

/// Answers from a script, one entry per attempt, and records what it was sent.
final class ScriptedTransport: HTTPTransport {
    enum Step: Sendable {
        case response(HTTPResponse)
        case failure(HTTPError)
        /// Lets time pass (on the fake clock), then answers.
        case slow(Duration, HTTPResponse)

        static func status(_ status: Int, headers: HTTPHeaders = HTTPHeaders(), body: String = "") -> Step {
            .response(HTTPResponse(status: status, headers: headers, body: Data(body.utf8)))
        }
    }

    private let steps: LockedBox<[Step]>
    private let received = LockedBox<[HTTPRequest]>([])
    private let time: FakeTime?

    init(_ steps: [Step], time: FakeTime? = nil) {
        self.steps = LockedBox(steps)
        self.time = time
    }

    var requests: [HTTPRequest] { received.withLock { $0 } }
    var attempts: Int { requests.count }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        received.withLock { $0.append(request) }
        let step = steps.withLock { steps -> Step in
            // The last step repeats forever.
            steps.count > 1 ? steps.removeFirst() : steps[0]
        }
        switch step {
        case .response(let response): return response
        case .failure(let error): throw error
        case .slow(let duration, let response):
            time?.advance(duration)
            return response
        }
    }

    static func status(_ status: Int, headers: HTTPHeaders = HTTPHeaders(), body: String = "") -> Step {
        Step.status(status, headers: headers, body: body)
    }
}

// MARK: - Watchdog

/// Fires an action from a plain thread after a delay unless disarmed. Used
/// where a hang is the failure being tested: a test that blocks Swift's
/// cooperative pool cannot time itself out with `Task.sleep`.
final class Watchdog: Sendable {
    private let state = LockedBox((armed: true, fired: false))
    private let condition = NSCondition()

    init(after seconds: Double, action: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            let deadline = Date(timeIntervalSinceNow: seconds)
            condition.lock()
            while state.withLock({ $0.armed }), Date() < deadline {
                _ = condition.wait(until: deadline)
            }
            condition.unlock()
            let fire = state.withLock { state -> Bool in
                guard state.armed else { return false }
                state.fired = true
                return true
            }
            if fire { action() }
        }
        thread.start()
    }

    var fired: Bool { state.withLock { $0.fired } }

    func disarm() {
        state.withLock { $0.armed = false }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }
}
