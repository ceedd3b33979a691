import Foundation
import PolicyChange
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// DESIGN.md §6: a run SIGKILLed while monitoring a real (moto) key is
/// finished by `resume RUN` or undone by `rollback RUN`.
@Suite("AWS end to end: SIGKILL during monitor, then resume or rollback")
struct AWSCrashTests {
    func world() async throws -> AWSWorld { try await AWSWorld.shared("crash") }

    enum Recovery: String, Sendable, CaseIterable, CustomTestStringConvertible {
        case resume, rollback
        var testDescription: String { rawValue }
    }

    /// Long enough that the kill lands inside the monitor whatever the load.
    static let timing = ["SETTLE": "1s", "MONITOR": "8s", "INTERVAL": "1s"]

    @Test(arguments: Recovery.allCases)
    func killedDuringMonitor(_ recovery: Recovery) async throws {
        try await Scenario.with(try await world()) { s in
            let child = try s.start(s.runArguments("aws-update.yaml", Self.timing))
            let monitoring = await s.waitForJournal(of: child) { events in events.contains { $0.event == .monitorRound } }
            child.signal(SIGKILL)
            let first = await child.wait()
            s.record(["run"], first)
            try #require(monitoring, "the run never reached a monitor round: \(first)")
            try #require(first.diedOfSIGKILL, "the run should have died of SIGKILL: \(first)")

            let (id, before) = try s.lastRun()
            #expect(before.last?.event != .runFinished)
            try s.expectBackup(before)
            #expect(Inspect.sameJSON(try await s.livePolicy(), try s.proposedPolicy()), "killed after apply: the change is live")

            switch recovery {
            case .resume:
                // Variables are never journaled: resume takes them again.
                let resumed = try await s.product(
                    ["resume", id, "--yes", "--state-dir", s.state.path, "--set", "KEY_ARN=\(s.keyARN)"]
                        + Self.timing.sorted { $0.key < $1.key }.flatMap { ["--set", "\($0.key)=\($0.value)"] })
                #expect(resumed.exitedNormally && resumed.status == 0, "resume: \(resumed)")
                #expect(Inspect.sameJSON(try await s.livePolicy(), try s.proposedPolicy()))
                let after = try s.journal(id)
                #expect(after.contains { $0.event == .resumed })
                #expect(!after.contains { $0.event == .rollbackIntent }, "a healthy run must not roll back")
                let last = try #require(after.last)
                #expect(last.event == .runFinished && last.exitCode == 0, "\(last)")

            case .rollback:
                // The emergency path needs nothing but the run id: no --set.
                let rolledBack = try await s.product(["rollback", id, "--state-dir", s.state.path])
                #expect(rolledBack.exitedNormally && rolledBack.status == 0, "rollback: \(rolledBack)")
                #expect(try await s.livePolicy() == s.original, "rollback must restore the backup byte for byte")
                let after = try s.journal(id)
                #expect(after.contains { $0.event == .rollbackVerified }, "\(after.map(\.event.rawValue))")
            }
        }
    }
}
