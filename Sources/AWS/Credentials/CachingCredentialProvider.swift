import Foundation
import Logging
import PolicyChange
import SigV4

/// Keeps the credentials of another provider and fetches new ones shortly before they
/// expire, so a 30-minute monitor never signs with credentials that lapse mid-request.
///
/// - Credentials without an expiry are fetched once and kept.
/// - Credentials are refreshed once fewer than `refreshBefore` (5 minutes) remain.
///   Concurrent callers share one refresh.
/// - If a refresh fails while the current credentials are still valid for more than
///   `mandatoryBefore` (1 minute), the failure is logged as a warning and the current
///   credentials are used; the next call tries again. Closer to the expiry the failure
///   is thrown. (botocore's advisory and mandatory refresh windows, shorter here because
///   a run's calls are minutes apart, not milliseconds.)
/// - Credentials that arrive already inside the refresh window (an instance role about
///   to rotate) are used, and refreshing is retried no more than every `retryInterval`.
public actor CachingCredentialProvider: AWSCredentialProvider {
    public nonisolated let wrapped: any AWSCredentialProvider
    public nonisolated let refreshBefore: Duration
    public nonisolated let mandatoryBefore: Duration
    public nonisolated let retryInterval: Duration
    private let clock: CredentialClock
    private let logger: Logger

    private var current: AWSCredentials?
    private var nextRefresh: Date?
    private var refreshing: Task<AWSCredentials, any Error>?

    public init(
        wrapping provider: any AWSCredentialProvider,
        refreshBefore: Duration = .seconds(300),
        mandatoryBefore: Duration = .seconds(60),
        retryInterval: Duration = .seconds(30),
        clock: @escaping CredentialClock = { Date() },
        logger: Logger
    ) {
        self.wrapped = provider
        self.refreshBefore = refreshBefore
        self.mandatoryBefore = mandatoryBefore
        self.retryInterval = retryInterval
        self.clock = clock
        self.logger = logger
    }

    public func credentials() async throws -> AWSCredentials {
        let now = clock()
        if let current {
            guard let nextRefresh else { return current }  // no expiry
            if now < nextRefresh { return current }
        }

        let task: Task<AWSCredentials, any Error>
        if let refreshing {
            task = refreshing
        } else {
            let wrapped = self.wrapped
            task = Task { try await wrapped.credentials() }
            refreshing = task
        }

        do {
            let fresh = try await task.value
            if let expiration = fresh.expiration, expiration <= clock() {
                throw ProviderError(
                    .credentials,
                    "the AWS credentials just fetched expired at \(expiration.formatted(.iso8601)); "
                        + "check the clock of this machine and the source of the credentials")
            }
            if refreshing == task {
                refreshing = nil
                accept(fresh, at: clock())
            }
            return current ?? fresh
        } catch {
            if refreshing == task { refreshing = nil }
            let now = clock()
            if let current, let expiration = current.expiration,
                now < expiration.addingTimeInterval(-mandatoryBefore.timeInterval), !(error is CancellationError)
            {
                logger.warning(
                    "refreshing AWS credentials failed; using the current ones until closer to their expiry",
                    metadata: [
                        "expiration": "\(expiration.formatted(.iso8601))", "error": "\(error)",
                    ])
                nextRefresh = min(now.addingTimeInterval(retryInterval.timeInterval), expiration)
                return current
            }
            throw error
        }
    }

    private func accept(_ credentials: AWSCredentials, at now: Date) {
        current = credentials
        guard let expiration = credentials.expiration else {
            nextRefresh = nil
            return
        }
        let planned = expiration.addingTimeInterval(-refreshBefore.timeInterval)
        nextRefresh = planned > now ? planned : min(now.addingTimeInterval(retryInterval.timeInterval), expiration)
        logger.debug(
            "AWS credentials cached",
            metadata: [
                "accessKeyID": "\(credentials.redactedAccessKeyID)",
                "expiration": "\(expiration.formatted(.iso8601))",
            ])
    }
}

extension Duration {
    fileprivate var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
