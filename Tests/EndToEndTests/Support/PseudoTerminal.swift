import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pseudo-terminal to give a child as its standard output, so colour
/// decisions (`isatty`) are exercised as on a real terminal.
final class PseudoTerminal: Sendable {
    /// The child's end; hand it to the child, then call `closeChildEnd()`.
    let childEnd: FileHandle
    private let master: Int32
    private let collected = Collected()

    final class Collected: Sendable {
        let data = Mutex(Data())
    }
    private let drained: AsyncStream<Void>

    init() throws {
        // posix_openpt/grantpt/unlockpt are not in Swift's Glibc module; their
        // Linux insides are /dev/ptmx and two ioctls (<asm-generic/ioctls.h>).
        let TIOCGPTN: UInt = 0x8004_5430
        let TIOCSPTLCK: UInt = 0x4004_5431
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var number: CInt = 0
        var unlock: CInt = 0
        guard master >= 0, ioctl(master, TIOCSPTLCK, &unlock) == 0, ioctl(master, TIOCGPTN, &number) == 0 else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // Raw output: no "\n" → "\r\n" translation in what we read back.
        var settings = termios()
        tcgetattr(slave, &settings)
        settings.c_oflag &= ~tcflag_t(OPOST)
        tcsetattr(slave, TCSANOW, &settings)
        childEnd = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        drained = stream
        let master = self.master
        let collected = self.collected
        // A blocking read loop on its own thread (never a cooperative one);
        // it ends with EIO once the last holder of the child end closes it.
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(master, &buffer, buffer.count)
                if n > 0 {
                    collected.data.withLock { $0.append(contentsOf: buffer[0..<n]) }
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            continuation.finish()
        }
    }

    func closeChildEnd() { try? childEnd.close() }

    /// Everything written, once every holder of the child end has closed it.
    func output() async -> String {
        for await _ in drained {}
        return String(decoding: collected.data.withLock { $0 }, as: UTF8.self)
    }

    deinit { close(master) }
}
