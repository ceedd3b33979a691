import Foundation

/// A value behind a lock. `Synchronization.Mutex` would do, but needs macOS 15
/// while the package still declares macOS 13; `NSLock` works everywhere.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
