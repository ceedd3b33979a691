import Foundation
import HTTP
import Synchronization
import Testing

@Suite("BearerTokenCache")
struct BearerTokenCacheTests {
    final class Counter: Sendable {
        let count = Mutex(0)
        func next() -> Int { count.withLock { $0 += 1; return $0 } }
    }

    @Test("a token is reused until the margin before expiry, then fetched again; keys are separate")
    func reuseAndRefresh() async throws {
        let now = Mutex(Date(timeIntervalSince1970: 1_000_000))
        let cache = BearerTokenCache<String>(margin: 300, clock: { now.withLock { $0 } })
        let counter = Counter()
        let fetch: @Sendable () async throws -> BearerTokenCache<String>.Token = {
            let n = counter.next()
            return .init(value: "t\(n)", expiresAt: now.withLock { $0 }.addingTimeInterval(3600))
        }
        #expect(try await cache.token(for: "a", fetch: fetch).value == "t1")
        now.withLock { $0 += 3600 - 301 }
        #expect(try await cache.token(for: "a", fetch: fetch).value == "t1")
        now.withLock { $0 += 2 }
        #expect(try await cache.token(for: "a", fetch: fetch).value == "t2")
        #expect(try await cache.token(for: "b", fetch: fetch).value == "t3")
    }

    @Test("invalidate forgets only the token that was refused, not a fresher one")
    func invalidateOnlyTheRefusedToken() async throws {
        let cache = BearerTokenCache<String>()
        let counter = Counter()
        let fetch: @Sendable () async throws -> BearerTokenCache<String>.Token = {
            .init(value: "t\(counter.next())", expiresAt: Date().addingTimeInterval(3600))
        }
        _ = try await cache.token(for: "a", fetch: fetch)
        await cache.invalidate("a", value: "stale")
        #expect(try await cache.token(for: "a", fetch: fetch).value == "t1")
        await cache.invalidate("a", value: "t1")
        #expect(try await cache.token(for: "a", fetch: fetch).value == "t2")
    }
}
