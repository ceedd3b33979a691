import Foundation
import PolicyChange
import Testing

@testable import RunStore

/// `journal.jsonl`: one complete JSON event per line, fsynced before the
/// action it announces; a torn last line (a crash mid-append) is ignored
/// (DESIGN.md §6).
@Suite("RunStore: the journal file")
struct JournalFileTests {
    static let start = Date(timeIntervalSince1970: 1_795_833_000)

    static func events() -> [JournalEvent] {
        let file = StoredFile(path: "/state/runs/r/aws-1234abcd-20261128T023000Z.json", sha256: String(repeating: "a", count: 64), bytes: 283)
        return [
            JournalEvent(
                .runStarted, time: start,
                start: RunStart(
                    runID: "20261128T023000Z-add-confluent-0a1b", runbook: "/runbooks/add-confluent.yaml",
                    runbookSHA256: String(repeating: "b", count: 64), name: "add-confluent", changeTicket: "CHG-1234",
                    target: .aws(AWSTarget(key: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")),
                    caller: nil, toolVersion: "0.0.0-test")),
            JournalEvent(.backupWritten, time: start.addingTimeInterval(0.25), message: "sha256 aaaa", file: file),
            JournalEvent(
                .validated, time: start.addingTimeInterval(1), verdict: .fail,
                findings: [Finding(code: "REQUIRED_PERMISSION_MISSING", severity: .error, message: "needs \"kms:Decrypt\"\nnow",
                                   path: "Statement[1].Action", line: 3, column: 7)]),
            JournalEvent(.applyIntent, time: start.addingTimeInterval(2), file: file),
            JournalEvent(.runFinished, time: start.addingTimeInterval(3), message: "done", outcome: "succeeded", exitCode: 0),
        ]
    }

    @Test("every appended event is one complete, strict JSON line, and reads back as written")
    func linesAreCompleteJSON() async throws {
        try await withTemporaryDirectory { folder in
            let storage = try FileRunStorage(folder: folder)
            for event in Self.events() { try storage.append(event) }

            let data = try #require(FileManager.default.contents(atPath: storage.journalPath))
            #expect(data.last == UInt8(ascii: "\n"))
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
            #expect(lines.count == Self.events().count)
            for line in lines {
                let document = try JSONParser.parse(Data(line))
                #expect(document.duplicateKeys.isEmpty)
                #expect(document.root["v"] == .number("1"))
                #expect(document.root["event"]?.stringValue != nil)
            }
            #expect(permissions(of: storage.journalPath) == 0o600)

            let read = try Journal.read(path: storage.journalPath)
            #expect(read.map(\.event) == Self.events().map(\.event))
            #expect(read.map(\.message) == Self.events().map(\.message))
            #expect(read.map(\.file) == Self.events().map(\.file))
            #expect(read.map(\.findings) == Self.events().map(\.findings))
            #expect(read.first?.start == Self.events().first?.start)
            #expect(zip(read, Self.events()).allSatisfy { abs($0.time.timeIntervalSince($1.time)) < 0.001 })
        }
    }

    @Test("times are UTC ISO 8601 with milliseconds")
    func timeFormat() async throws {
        try await withTemporaryDirectory { folder in
            let storage = try FileRunStorage(folder: folder)
            try storage.append(Self.events()[1])
            let text = try String(contentsOfFile: storage.journalPath, encoding: .utf8)
            #expect(text.contains(#""time":"2026-11-28T02:30:00.250Z""#))
        }
    }

    @Test("a torn last line is ignored: the action it announced was never taken")
    func tornLastLine() async throws {
        try await withTemporaryDirectory { folder in
            let storage = try FileRunStorage(folder: folder)
            for event in Self.events().prefix(3) { try storage.append(event) }
            let handle = try #require(FileHandle(forWritingAtPath: storage.journalPath))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"event":"apply-intent","time":"2026-11-28T02:3"#.utf8))
            try handle.close()

            let read = try Journal.read(path: storage.journalPath)
            #expect(read.map(\.event) == [.runStarted, .backupWritten, .validated])
        }
    }

    @Test("a damaged line that is not the last one is an error naming the file and line")
    func damagedMiddleLine() async throws {
        try await withTemporaryDirectory { folder in
            let path = "\(folder)/journal.jsonl"
            let encoder = JournalCoding.encoder()
            var data = Data()
            for event in Self.events().prefix(2) { data += try encoder.encode(event) + Data("\n".utf8) }
            data += Data("{\"event\": \"appl\n".utf8)
            data += try encoder.encode(Self.events()[3]) + Data("\n".utf8)
            try data.write(to: URL(fileURLWithPath: path))
            #expect {
                try Journal.read(path: path)
            } throws: { error in
                "\(error)".contains("\(path):3:")
            }
        }
    }

    @Test("a complete last line without its newline still counts")
    func lastLineWithoutNewline() async throws {
        try await withTemporaryDirectory { folder in
            let path = "\(folder)/journal.jsonl"
            let encoder = JournalCoding.encoder()
            let data = try encoder.encode(Self.events()[0]) + Data("\n".utf8) + encoder.encode(Self.events()[1])
            try data.write(to: URL(fileURLWithPath: path))
            #expect(try Journal.read(path: path).map(\.event) == [.runStarted, .backupWritten])
        }
    }

    @Test("appending after a torn last line (a resume after a crash) keeps the journal readable")
    func appendAfterTornLine() async throws {
        try await withTemporaryDirectory { folder in
            let storage = try FileRunStorage(folder: folder)
            for event in Self.events().prefix(3) { try storage.append(event) }
            let handle = try #require(FileHandle(forWritingAtPath: storage.journalPath))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"event":"apply-intent","ti"#.utf8))
            try handle.close()

            // The process restarts: `resume` opens the run and appends.
            let reopened = try FileRunStorage(folder: folder)
            try reopened.append(JournalEvent(.resumed, time: Self.start.addingTimeInterval(60), message: "resumed from the journal"))
            try reopened.append(Self.events()[4])

            let read = try Journal.read(path: reopened.journalPath)
            #expect(read.map(\.event) == [.runStarted, .backupWritten, .validated, .resumed, .runFinished])
        }
    }

    @Test("appending after a complete last line that lost only its newline keeps that line")
    func appendAfterMissingNewline() async throws {
        try await withTemporaryDirectory { folder in
            let path = "\(folder)/journal.jsonl"
            let encoder = JournalCoding.encoder()
            let data = try encoder.encode(Self.events()[0]) + Data("\n".utf8) + encoder.encode(Self.events()[1])
            try data.write(to: URL(fileURLWithPath: path))

            let reopened = try FileRunStorage(folder: folder)
            try reopened.append(JournalEvent(.resumed, time: Self.start.addingTimeInterval(60)))

            #expect(try Journal.read(path: path).map(\.event) == [.runStarted, .backupWritten, .resumed])
        }
    }

    @Test("a journal that is not there is an error naming it")
    func missingJournal() async throws {
        #expect {
            try Journal.read(path: "/nonexistent/journal.jsonl")
        } throws: { error in
            "\(error)".contains("/nonexistent/journal.jsonl")
        }
    }
}
