import Foundation
import PolicyChange

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The state directory (`--state-dir`, `POLICY_CHANGE_STATE_DIR`, default
/// `.policy-change/` beside the runbook): one folder per run under `runs/`,
/// lock files under `locks/`.
public struct StateDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = (path as NSString).standardizingPath
    }

    public var runsPath: String { "\(path)/runs" }

    public func runPath(_ runID: String) -> String { "\(runsPath)/\(runID)" }

    /// A new run folder and its storage.
    public func createRun(_ runID: String) throws -> FileRunStorage {
        try DurableFile.makeDirectory(runPath(runID))
        return try FileRunStorage(folder: runPath(runID))
    }

    /// The storage of an existing run, to resume or roll it back.
    public func openRun(_ runID: String) throws -> FileRunStorage {
        guard isValidRunID(runID), FileManager.default.fileExists(atPath: "\(runPath(runID))/journal.jsonl") else {
            throw RunStoreError("no run '\(runID)' in \(path) (see 'policy-change status')")
        }
        return try FileRunStorage(folder: runPath(runID))
    }

    /// Run ids, oldest first (ids start with their UTC start time).
    public func runIDs() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: runsPath)) ?? [])
            .filter { isValidRunID($0) && FileManager.default.fileExists(atPath: "\(runPath($0))/journal.jsonl") }
            .sorted()
    }

    public func journal(of runID: String) throws -> [JournalEvent] {
        try Journal.read(path: "\(runPath(runID))/journal.jsonl")
    }

    /// Takes the key's lock for this run, or says which run holds it.
    public func lock(key: String, runID: String) throws -> KeyLock {
        try DurableFile.makeDirectory("\(path)/locks")
        return try KeyLock(path: "\(path)/locks/\(DurableFile.sha256(Data(key.utf8)).prefix(16)).lock", key: key, runID: runID)
    }

    private func isValidRunID(_ id: String) -> Bool {
        !id.isEmpty && !id.hasPrefix(".") && !id.contains("/")
    }
}

public struct RunStoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `<UTC yyyymmddTHHMMSSZ>-<name>-<4 hex>` (DESIGN.md §6).
public enum RunID {
    public static func make(name: String, at date: Date) -> String {
        "\(timestamp(date))-\(name)-\(String(format: "%04x", UInt16.random(in: 0...UInt16.max)))"
    }

    /// `yyyymmddTHHMMSSZ` in UTC: sorts by time, safe in file names.
    public static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}

/// The journal file format: one JSON event per line.
public enum Journal {
    /// Reads a journal. A torn last line (a crash mid-append) is ignored: the
    /// action it would have announced was never taken.
    public static func read(path: String) throws -> [JournalEvent] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunStoreError("cannot read \(path)")
        }
        let decoder = JournalCoding.decoder()
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        var events: [JournalEvent] = []
        for (number, line) in lines.enumerated() {
            do {
                events.append(try decoder.decode(JournalEvent.self, from: Data(line)))
            } catch {
                if number == lines.count - 1 && data.last != UInt8(ascii: "\n") { break }
                throw RunStoreError("\(path):\(number + 1): unreadable journal line (\(error))")
            }
        }
        return events
    }
}

/// A run's folder: `journal.jsonl`, `proposed.json`, `plan.json`, `report.json`,
/// and (unless the backup step names another folder) the backups.
public final class FileRunStorage: RunStorage, @unchecked Sendable {
    public let folder: String
    private let journal: AppendOnlyFile
    private let encoder = JournalCoding.encoder()
    private let clock: @Sendable () -> Date

    public init(folder: String, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        self.folder = folder
        self.clock = clock
        journal = try AppendOnlyFile(path: "\(folder)/journal.jsonl")
        // A run reopened after a crash (resume, rollback) appends after what the crash left.
        let decoder = JournalCoding.decoder()
        try journal.repairTornLastLine { line in (try? decoder.decode(JournalEvent.self, from: Data(line))) != nil }
    }

    public var journalPath: String { journal.path }

    public func append(_ event: JournalEvent) throws {
        var line = try encoder.encode(event)
        line.append(UInt8(ascii: "\n"))
        try journal.append(line)
    }

    public func writeBackup(_ snapshot: PolicySnapshot, cloud: Cloud, key: String, directory: String?) throws -> StoredFile {
        let folder = directory ?? self.folder
        try DurableFile.makeDirectory(folder)
        let stamp = RunID.timestamp(clock())
        var path = "\(folder)/\(cloud.rawValue)-\(Self.shortName(of: key))-\(stamp).json"
        var counter = 1
        while FileManager.default.fileExists(atPath: path) {
            path = "\(folder)/\(cloud.rawValue)-\(Self.shortName(of: key))-\(stamp)-\(counter).json"
            counter += 1
        }
        try DurableFile.writeAtomically(snapshot.document, to: path)
        return StoredFile(path: path, sha256: DurableFile.sha256(snapshot.document), bytes: snapshot.document.count)
    }

    public func writeArtifact(named name: String, contents: Data) throws -> StoredFile {
        let path = "\(folder)/\(name)"
        try DurableFile.writeAtomically(contents, to: path)
        return StoredFile(path: path, sha256: DurableFile.sha256(contents), bytes: contents.count)
    }

    public func read(_ file: StoredFile) throws -> Data {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw RunStoreError("the run's file \(file.path) is missing")
        }
        let digest = DurableFile.sha256(data)
        guard digest == file.sha256 else {
            throw RunStoreError("\(file.path) changed since the run wrote it (sha256 \(digest.prefix(12))…, journal says \(file.sha256.prefix(12))…)")
        }
        return data
    }

    /// The key's last identifier part, safe in a file name: the key id of an
    /// ARN, the key name of a resource path.
    static func shortName(of key: String) -> String {
        let last = key.split(whereSeparator: { $0 == "/" || $0 == ":" }).last.map(String.init) ?? key
        let safe = String(last.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        // A UUID key id: its first group is enough to tell keys apart by eye.
        if safe.count == 36, safe.split(separator: "-").count == 5 { return String(safe.prefix(8)) }
        return String(safe.prefix(40))
    }
}

/// One run per key at a time. `flock` on a file per key: the kernel releases
/// it when the holder dies, so a SIGKILLed run never leaves a stale lock, and
/// the file names the holder for the refusal message.
public final class KeyLock: @unchecked Sendable {
    private var fd: Int32
    public let path: String

    init(path: String, key: String, runID: String) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DurableFile.Failure(path: path, operation: "open", errno: errno) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .split(separator: "\n").first.map(String.init) ?? "another run"
            close(fd)
            fd = -1
            throw RunStoreError(
                "the key \(key) is locked by run \(holder); wait for it to finish, or see 'policy-change status \(holder.split(separator: " ").first ?? "")'")
        }
        ftruncate(fd, 0)
        let text = Data("\(runID) (pid \(getpid()))\n".utf8)
        try? DurableFile.writeAll(fd, text, path: path)
    }

    public func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
