import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The loader's only file I/O: read a whole file, refusing more than a limit
/// without reading it all (the limit guards memory), and name the reason in
/// words a user can act on.
enum FileAccess {
    enum Failure: Error, Equatable {
        case notFound
        case isDirectory
        case tooLarge
        case unreadable(String)
    }

    static func contents(of path: String, limit: Int) -> Result<Data, Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            return .failure(code == ENOENT || code == ENOTDIR ? .notFound : .unreadable(String(cString: strerror(code))))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.unreadable(String(cString: strerror(errno)))) }
        if info.st_mode & S_IFMT == S_IFDIR { return .failure(.isDirectory) }
        // Regular files announce their size: refuse before reading a byte.
        if info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) > limit { return .failure(.tooLarge) }

        // Pipes (`<(…)`, /dev/stdin) do not: read at most one byte past the limit.
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while data.count <= limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.unreadable(String(cString: strerror(errno))))
            }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        return data.count > limit ? .failure(.tooLarge) : .success(data)
    }

    /// `path` made absolute against `folder` (or the working directory),
    /// with `.` and `..` removed.
    static func absolute(_ path: String, in folder: String) -> String {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : URL(fileURLWithPath: folder).appendingPathComponent(path)
        return url.standardizedFileURL.path
    }

    static var currentDirectory: String { FileManager.default.currentDirectoryPath }
}
