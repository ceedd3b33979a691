import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// File writes that survive a crash or power loss at any instant.
public enum DurableFile {
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var operation: String
        public var errno: Int32
        public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(errno)))" }
    }

    /// Writes `data` to `path` atomically: a temporary file in the same folder,
    /// fsync, rename over the target, fsync the folder. A reader sees the old
    /// file or the whole new one, never a part.
    public static func writeAtomically(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = "\(folder)/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure(path: temporary, operation: "create", errno: errno) }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        try writeAll(fd, data, path: temporary)
        // umask may have narrowed the mode; backups must be exactly 0600.
        guard fchmod(fd, mode) == 0 else { throw Failure(path: temporary, operation: "chmod", errno: errno) }
        guard fsync(fd) == 0 else { throw Failure(path: temporary, operation: "fsync", errno: errno) }
        closed = true
        guard close(fd) == 0 else { throw Failure(path: temporary, operation: "close", errno: errno) }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw Failure(path: path, operation: "rename into place", errno: code)
        }
        try syncDirectory(folder)
    }

    /// Makes a folder's entries (a rename, a new file) durable.
    public static func syncDirectory(_ folder: String) throws {
        let fd = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: folder, operation: "open", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure(path: folder, operation: "fsync", errno: errno) }
    }

    static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw Failure(path: path, operation: "write", errno: errno)
                }
                offset += written
            }
        }
    }

    /// Creates a folder and its parents, mode 0700, and makes it durable.
    public static func makeDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectory(parent) }
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            throw Failure(path: path, operation: "create the folder", errno: errno)
        }
        if !parent.isEmpty { try? syncDirectory(parent) }
    }

    public static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}

/// An append-only file whose every line is on disk before `append` returns.
final class AppendOnlyFile: @unchecked Sendable {
    // One writer per run; the lock makes concurrent appends from the engine's
    // tasks whole lines.
    private let lock = NSLock()
    private let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        let existed = FileManager.default.fileExists(atPath: path)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DurableFile.Failure(path: path, operation: "open", errno: errno) }
        if !existed { try DurableFile.syncDirectory((path as NSString).deletingLastPathComponent) }
    }

    deinit { close(fd) }

    /// Makes the file end with a whole line again after a crash mid-append.
    /// Appending after a torn line would glue the next line to it, and the
    /// file could no longer be read past it. A last line `isComplete` accepts
    /// (only its newline was lost) gets its newline; any other is cut off: its
    /// append never returned, so the action it announced was never taken.
    func repairTornLastLine(isComplete: (Data) -> Bool) throws {
        try lock.withLock {
            guard let data = FileManager.default.contents(atPath: path), let last = data.last,
                last != UInt8(ascii: "\n")
            else { return }
            let lineStart = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? data.startIndex
            if isComplete(data[lineStart...]) {
                try DurableFile.writeAll(fd, Data("\n".utf8), path: path)
            } else if ftruncate(fd, off_t(lineStart - data.startIndex)) != 0 {
                throw DurableFile.Failure(path: path, operation: "cut the torn last line of", errno: errno)
            }
            guard fsync(fd) == 0 else { throw DurableFile.Failure(path: path, operation: "fsync", errno: errno) }
        }
    }

    func append(_ line: Data) throws {
        try lock.withLock {
            try DurableFile.writeAll(fd, line, path: path)
            guard fsync(fd) == 0 else { throw DurableFile.Failure(path: path, operation: "fsync", errno: errno) }
        }
    }
}
