import Foundation
import PolicyChange
import Synchronization

/// Virtual time: `sleep` moves the clock forward at once (and yields, so other
/// tasks get to run), so a 30-minute monitor takes no real time. The clock
/// stands still between sleeps.
final class VirtualClock: RunClock {
    private let current: Mutex<Date>
    private let slept = Mutex<[Duration]>([])

    init(start: Date = TestRunbooks.start) {
        current = Mutex(start)
    }

    func now() -> Date { current.withLock { $0 } }

    func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        slept.withLock { $0.append(duration) }
        current.withLock { $0 = $0.addingTimeInterval(duration.seconds) }
        await Task.yield()
    }

    func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.seconds) }
    }

    /// Every sleep asked for, in order.
    var sleeps: [Duration] { slept.withLock { $0 } }
}
