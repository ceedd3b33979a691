import Foundation

/// OAuth bearer tokens (Entra ID, Google), one per key (an audience, a scope),
/// reused until `margin` before they expire. Callers that ask for the same key
/// at the same time share one fetch; after a 401 the caller invalidates the
/// token it used, and only that one, so a fresher token fetched meanwhile stays.
public actor BearerTokenCache<Key: Hashable & Sendable> {
    public struct Token: Sendable, Equatable {
        public var value: String
        public var expiresAt: Date
        public init(value: String, expiresAt: Date) {
            self.value = value
            self.expiresAt = expiresAt
        }
    }

    public let margin: TimeInterval
    let clock: @Sendable () -> Date
    private var tokens: [Key: Token] = [:]
    private var inFlight: [Key: Task<Token, any Error>] = [:]

    public init(margin: TimeInterval = 300, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.margin = margin
        self.clock = clock
    }

    public func token(for key: Key, fetch: @escaping @Sendable () async throws -> Token) async throws -> Token {
        if let cached = tokens[key], cached.expiresAt.timeIntervalSince(clock()) > margin { return cached }
        if let task = inFlight[key] { return try await task.value }
        let task = Task { try await fetch() }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        let token = try await task.value
        tokens[key] = token
        return token
    }

    /// Forgets the key's token if it still is `value` (the one a 401 refused).
    public func invalidate(_ key: Key, value: String) {
        if tokens[key]?.value == value { tokens[key] = nil }
    }
}
