import Foundation
import PolicyChange
import Synchronization

/// Answers the approve step with a script, and remembers the plans it saw.
final class ScriptedApprover: Approver {
    typealias Answer = @Sendable (RunPlan) async -> Approval
    private let answer: Answer
    private let seen = Mutex<[RunPlan]>([])

    init(_ answer: @escaping Answer = { _ in .approved(by: "tester (--yes)") }) {
        self.answer = answer
    }

    static func declining(_ reason: String = "answered no") -> ScriptedApprover {
        ScriptedApprover { _ in .declined(reason: reason) }
    }

    var plans: [RunPlan] { seen.withLock { $0 } }

    func approve(_ plan: RunPlan) async -> Approval {
        seen.withLock { $0.append(plan) }
        return await answer(plan)
    }
}

/// HTTP and command outcomes scripted per call (1-based call number).
final class ScriptedProbes: ExternalProbes {
    typealias HTTPScript = @Sendable (_ call: Int, _ check: HTTPCheck) async -> CheckOutcome
    typealias CommandScript = @Sendable (_ call: Int, _ command: CommandSpec, _ environment: [String: String]) async -> CommandOutcome

    private struct Calls {
        var http: [HTTPCheck] = []
        var commands: [(CommandSpec, [String: String])] = []
    }
    private let calls = Mutex(Calls())
    private let httpScript: HTTPScript
    private let commandScript: CommandScript

    init(
        http: @escaping HTTPScript = { _, _ in .passed("HTTP 200") },
        command: @escaping CommandScript = { _, _, _ in .exited(0, output: "") }
    ) {
        httpScript = http
        commandScript = command
    }

    /// Outcomes in order; the last one repeats.
    convenience init(http outcomes: [CheckOutcome]) {
        self.init(http: { call, _ in outcomes[min(call, outcomes.count) - 1] })
    }

    convenience init(commands outcomes: [CommandOutcome]) {
        self.init(command: { call, _, _ in outcomes[min(call, outcomes.count) - 1] })
    }

    var httpCalls: Int { calls.withLock { $0.http.count } }
    var commandCalls: Int { calls.withLock { $0.commands.count } }
    var commandEnvironments: [[String: String]] { calls.withLock { $0.commands.map(\.1) } }

    func http(_ check: HTTPCheck) async -> CheckOutcome {
        let call = calls.withLock { calls in
            calls.http.append(check)
            return calls.http.count
        }
        return await httpScript(call, check)
    }

    func command(_ command: CommandSpec, environment: [String: String]) async -> CommandOutcome {
        let call = calls.withLock { calls in
            calls.commands.append((command, environment))
            return calls.commands.count
        }
        return await commandScript(call, command, environment)
    }
}

/// An audit log that holds access-denied events and answers queries for a
/// time range (both ends included, as CloudTrail's StartTime/EndTime are).
final class FakeAuditLog: AuditLogSource {
    private struct State {
        var events: [AuditEvent] = []
        var queries: [(since: Date, until: Date)] = []
    }
    private let state = Mutex(State())

    init(_ events: [AuditEvent] = []) {
        state.withLock { $0.events = events }
    }

    func record(_ event: AuditEvent) { state.withLock { $0.events.append(event) } }

    var queries: [(since: Date, until: Date)] { state.withLock { $0.queries } }

    func accessDeniedEvents(since: Date, until: Date, check: AuditLogCheck) async throws -> [AuditEvent] {
        state.withLock { state in
            state.queries.append((since, until))
            return state.events.filter { $0.time >= since && $0.time <= until }
        }
    }
}

/// Keeps every progress event.
final class RecordingObserver: RunObserver {
    private let seen = Mutex<[ProgressEvent]>([])
    var events: [ProgressEvent] { seen.withLock { $0 } }
    func progress(_ event: ProgressEvent) { seen.withLock { $0.append(event) } }
}

/// A value closures can share and change.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    func set(_ value: Value) { mutex.withLock { $0 = value } }
    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
