import Foundation
import PolicyChange
import Testing

@testable import RunStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One run per key at a time (DESIGN.md §3): a `flock` per key, released by
/// the kernel when its holder dies, and a refusal that names the holder.
@Suite("RunStore: key locks")
struct KeyLockTests {
    static let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    static let first = "20261128T023000Z-add-confluent-0a1b"
    static let second = "20261128T023500Z-add-confluent-c3d4"

    @Test("a second lock on the same key is refused, naming the run that holds it; after release it can be taken")
    func secondLockRefused() async throws {
        try await withTemporaryDirectory { folder in
            let state = StateDirectory(path: folder)
            let held = try state.lock(key: Self.key, runID: Self.first)

            #expect {
                try state.lock(key: Self.key, runID: Self.second)
            } throws: { error in
                let message = "\(error)"
                return message.contains("locked by run \(Self.first)") && message.contains(Self.key)
                    && message.contains("policy-change status \(Self.first)")
            }

            held.release()
            let next = try state.lock(key: Self.key, runID: Self.second)
            let holder = try String(contentsOfFile: next.path, encoding: .utf8)
            #expect(holder.hasPrefix("\(Self.second) (pid \(getpid()))"))
            next.release()
            next.release()  // twice: harmless
        }
    }

    @Test("locks on different keys do not conflict")
    func differentKeys() async throws {
        try await withTemporaryDirectory { folder in
            let state = StateDirectory(path: folder)
            let a = try state.lock(key: Self.key, runID: Self.first)
            let b = try state.lock(key: Self.key.replacingOccurrences(of: "1234abcd", with: "9999ffff"), runID: Self.second)
            #expect(a.path != b.path)
            a.release()
            b.release()
        }
    }

    @Test("the lock goes when its holder goes away (the file descriptor closes)")
    func releasedWhenDropped() async throws {
        try await withTemporaryDirectory { folder in
            let state = StateDirectory(path: folder)
            do {
                let lock = try state.lock(key: Self.key, runID: Self.first)
                _ = lock.path
            }
            let again = try state.lock(key: Self.key, runID: Self.second)
            again.release()
        }
    }

    @Test("a lock held by another process is refused, and released by the kernel when that process is killed")
    func lockHeldByKilledProcess() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/flock") else { return }
        try await withTemporaryDirectory { folder in
            let state = StateDirectory(path: folder)
            // Where the lock lives: take it once to learn the path.
            let probe = try state.lock(key: Self.key, runID: Self.first)
            let path = probe.path
            probe.release()

            // A child holds the lock and says so, then waits (as a SIGKILLed run would have left it).
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/bin/sh")
            child.arguments = ["-c", "exec 9<>\"$0\"; /usr/bin/flock -x 9; echo locked; exec sleep 600", path]
            let pipe = Pipe()
            child.standardOutput = pipe
            try child.run()
            defer {
                if child.isRunning { kill(child.processIdentifier, SIGKILL) }
            }
            let line = pipe.fileHandleForReading.availableData
            #expect(String(decoding: line, as: UTF8.self).hasPrefix("locked"))

            #expect(throws: RunStoreError.self) {
                try state.lock(key: Self.key, runID: Self.second)
            }

            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal)

            let taken = try state.lock(key: Self.key, runID: Self.second)
            taken.release()
        }
    }
}

/// Run ids and the state directory's layout (DESIGN.md §6).
@Suite("RunStore: run ids and the state directory")
struct StateDirectoryTests {
    @Test("run ids are <UTC yyyymmddTHHMMSSZ>-<name>-<4 hex>")
    func runIDFormat() throws {
        let date = Date(timeIntervalSince1970: 1_795_833_007)  // 2026-11-28T02:30:07Z
        let pattern = try Regex(#"^\d{8}T\d{6}Z-add-confluent-[0-9a-f]{4}$"#)
        for _ in 0..<50 {
            let id = RunID.make(name: "add-confluent", at: date)
            #expect(id.wholeMatch(of: pattern) != nil, "\(id)")
            #expect(id.hasPrefix("20261128T023007Z-add-confluent-"))
        }
    }

    @Test("run id timestamps are UTC whatever the local time zone")
    func timestampIsUTC() {
        #expect(RunID.timestamp(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(RunID.timestamp(Date(timeIntervalSince1970: 1_795_838_399.9)) == "20261128T035959Z")
    }

    @Test("runs are created, listed oldest first, and opened by id; unknown or unsafe ids are refused")
    func runs() async throws {
        try await withTemporaryDirectory { folder in
            let state = StateDirectory(path: folder)
            let later = "20261128T040000Z-add-confluent-0002"
            let earlier = "20261128T023000Z-add-confluent-0001"
            for id in [later, earlier] {
                let storage = try state.createRun(id)
                try storage.append(JournalEvent(.resumed, time: Date(timeIntervalSince1970: 0)))
            }
            try DurableFile.makeDirectory("\(state.runsPath)/20261128T050000Z-no-journal-0003")

            #expect(state.runIDs() == [earlier, later])
            #expect(try state.journal(of: earlier).map(\.event) == [.resumed])
            _ = try state.openRun(later)
            for bad in ["20261128T060000Z-unknown-0004", "../runs/\(earlier)", ".hidden", ""] {
                #expect(throws: RunStoreError.self, "\(bad)") { try state.openRun(bad) }
            }
            #expect(permissions(of: state.runPath(earlier)) == 0o700)
        }
    }
}
