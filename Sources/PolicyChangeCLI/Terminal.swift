import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Standard output and error, with colour only on a terminal and never when
/// `NO_COLOR` is set (https://no-color.org).
struct Terminal: Sendable {
    let fd: Int32
    let colors: Bool

    static let standardOutput = Terminal(fd: STDOUT_FILENO)
    static let standardError = Terminal(fd: STDERR_FILENO)

    init(fd: Int32, forceNoColor: Bool = false) {
        self.fd = fd
        let environment = ProcessInfo.processInfo.environment
        colors = !forceNoColor && isatty(fd) == 1 && environment["NO_COLOR"].map(\.isEmpty) ?? true
            && environment["TERM"] != "dumb"
    }

    var isTTY: Bool { isatty(fd) == 1 }

    func write(_ text: String) {
        var data = Data(text.utf8)
        data.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }

    func line(_ text: String) { write(text + "\n") }

    enum Style: String {
        case bold = "1", dim = "2", red = "31", green = "32", yellow = "33", blue = "34", cyan = "36"
    }

    func styled(_ text: String, _ style: Style) -> String {
        colors ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
    }
}
