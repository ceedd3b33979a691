import AWS
import Foundation
import PolicyChange
import SigV4
import Synchronization
import Testing

/// Refresh before expiry, with a clock the test moves.
@Suite struct CachingCredentialProviderTests {
    /// Hands out numbered credentials that expire `lifetime` seconds after the clock's
    /// now, or fails while `failing` is set.
    final class CountingProvider: AWSCredentialProvider {
        let clock: TestClock
        let lifetime: TimeInterval?
        let state = Mutex((calls: 0, failing: false))

        init(clock: TestClock, lifetime: TimeInterval?) {
            self.clock = clock
            self.lifetime = lifetime
        }

        var calls: Int { state.withLock { $0.calls } }
        func fail(_ failing: Bool) { state.withLock { $0.failing = failing } }

        func credentials() async throws -> AWSCredentials {
            let (call, failing) = state.withLock { state -> (Int, Bool) in
                state.calls += 1
                return (state.calls, state.failing)
            }
            if failing { throw ProviderError(.unavailable, "STS is down") }
            return AWSCredentials(
                accessKeyID: "ASIACALL\(call)", secretAccessKey: "secret\(call)", sessionToken: "token\(call)",
                expiration: lifetime.map { clock.now.addingTimeInterval($0) })
        }
    }

    let clock = TestClock(iso: "2024-05-01T12:00:00Z")

    func cache(_ provider: CountingProvider) -> CachingCredentialProvider {
        CachingCredentialProvider(wrapping: provider, clock: clock.closure, logger: testLogger)
    }

    @Test func refreshesFiveMinutesBeforeExpiry() async throws {
        let provider = CountingProvider(clock: clock, lifetime: 3600)
        let cached = cache(provider)
        #expect(try await cached.credentials().accessKeyID == "ASIACALL1")
        clock.advance(by: 3600 - 301)  // 5 min 1 s left
        #expect(try await cached.credentials().accessKeyID == "ASIACALL1")
        #expect(provider.calls == 1)
        clock.advance(by: 2)  // 4 min 59 s left
        #expect(try await cached.credentials().accessKeyID == "ASIACALL2")
        #expect(try await cached.credentials().accessKeyID == "ASIACALL2")
        #expect(provider.calls == 2)
    }

    @Test func credentialsWithoutExpiryAreFetchedOnce() async throws {
        let provider = CountingProvider(clock: clock, lifetime: nil)
        let cached = cache(provider)
        for _ in 0..<5 {
            _ = try await cached.credentials()
            clock.advance(by: 86_400)
        }
        #expect(provider.calls == 1)
    }

    @Test func failedRefreshKeepsValidCredentialsUntilTheLastMinute() async throws {
        let provider = CountingProvider(clock: clock, lifetime: 3600)
        let cached = cache(provider)
        _ = try await cached.credentials()
        provider.fail(true)

        clock.advance(by: 3600 - 240)  // inside the refresh window, 4 min left
        #expect(try await cached.credentials().accessKeyID == "ASIACALL1")
        #expect(provider.calls == 2)
        // The next attempt waits for the retry interval (30 s).
        clock.advance(by: 10)
        #expect(try await cached.credentials().accessKeyID == "ASIACALL1")
        #expect(provider.calls == 2)
        clock.advance(by: 25)
        #expect(try await cached.credentials().accessKeyID == "ASIACALL1")
        #expect(provider.calls == 3)

        clock.advance(by: 3600)  // long expired
        let error = await providerError { _ = try await cached.credentials() }
        #expect(error?.message == "STS is down")

        provider.fail(false)
        #expect(try await cached.credentials().accessKeyID == "ASIACALL5")
    }

    @Test func alreadyExpiredCredentialsAreRefused() async throws {
        let provider = CountingProvider(clock: clock, lifetime: -1)
        let error = await providerError { _ = try await cache(provider).credentials() }
        #expect(error?.code == .credentials)
        #expect(error?.message.hasPrefix("the AWS credentials just fetched expired at 2024-05-01T11:59:59Z") == true)
    }

    @Test func shortLivedCredentialsAreNotRefetchedOnEveryCall() async throws {
        let provider = CountingProvider(clock: clock, lifetime: 120)  // already inside the window
        let cached = cache(provider)
        _ = try await cached.credentials()
        _ = try await cached.credentials()
        #expect(provider.calls == 1)
        clock.advance(by: 31)
        _ = try await cached.credentials()
        #expect(provider.calls == 2)
    }

    /// Many callers at once share one fetch.
    @Test func concurrentCallersShareOneRefresh() async throws {
        final class GatedProvider: AWSCredentialProvider {
            let calls = Mutex(0)
            let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
            let arrived = Mutex<CheckedContinuation<Void, Never>?>(nil)

            func credentials() async throws -> AWSCredentials {
                calls.withLock { $0 += 1 }
                await withCheckedContinuation { continuation in
                    gate.withLock { $0 = continuation }
                    arrived.withLock {
                        $0?.resume(); $0 = nil
                    }
                }
                return AWSCredentials(accessKeyID: "ASIASHARED", secretAccessKey: "s")
            }
        }
        let provider = GatedProvider()
        // Every call reads the clock first, on the actor: ten reads mean ten callers inside.
        let reads = Mutex(0)
        let start = clock.now
        let cached = CachingCredentialProvider(
            wrapping: provider,
            clock: {
                reads.withLock { $0 += 1 }
                return start
            }, logger: testLogger)
        try await withThrowingTaskGroup(of: String.self) { group in
            await withCheckedContinuation { (arrived: CheckedContinuation<Void, Never>) in
                provider.arrived.withLock { $0 = arrived }
                group.addTask { try await cached.credentials().accessKeyID }
            }
            // The first fetch is parked at the gate; these callers must join it.
            for _ in 0..<9 { group.addTask { try await cached.credentials().accessKeyID } }
            var polls = 0
            while reads.withLock({ $0 }) < 10, polls < 10_000 {
                polls += 1
                try await Task.sleep(for: .milliseconds(1))
            }
            #expect(reads.withLock { $0 } == 10)
            provider.gate.withLock {
                $0?.resume(); $0 = nil
            }
            var keys: [String] = []
            for try await key in group { keys.append(key) }
            #expect(keys == Array(repeating: "ASIASHARED", count: 10))
        }
        #expect(provider.calls.withLock { $0 } == 1)
    }

    @Test func cachedChainDescriptionsHoldNoSecrets() async throws {
        let provider = CountingProvider(clock: clock, lifetime: 3600)
        let cached = cache(provider)
        let credentials = try await cached.credentials()
        let texts = [String(describing: cached), String(describing: credentials), String(reflecting: credentials)]
        for text in texts {
            #expect(!text.contains("secret1"))
            #expect(!text.contains("token1"))
        }
    }
}
