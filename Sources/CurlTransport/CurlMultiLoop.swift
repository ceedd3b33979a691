import CCurl
import Foundation
import HTTP
import Logging

/// Runs every transfer of one ``CurlTransport`` on one dedicated thread.
///
/// Why a thread of our own: libcurl's calls block (`curl_easy_perform` for a
/// whole transfer, `curl_multi_poll` until there is something to do), and a
/// blocked thread of Swift's cooperative pool is a thread no task can use — on
/// a two-core machine, two stuck requests would stall the whole program. So
/// the only libcurl calls made from async code are the non-blocking ones
/// (building an easy handle, `curl_multi_wakeup`); everything else happens
/// here.
///
/// Hand-over: `submit` and `remove` put work in a locked inbox and call
/// `curl_multi_wakeup`, the one multi-handle function libcurl allows from
/// another thread. The loop drains the inbox, drives the transfers with
/// `curl_multi_perform`, collects finished ones with `curl_multi_info_read`,
/// and sleeps in `curl_multi_poll` until a socket is ready, a libcurl timer
/// expires, or a wakeup arrives.
final class CurlMultiLoop: Sendable {
    private struct Inbox {
        var additions: [CurlTransfer] = []
        var removals: [CurlTransfer] = []
        var shuttingDown = false
    }

    /// `CURLM *`. Used from other threads only through `curl_multi_wakeup`.
    private nonisolated(unsafe) let multi: UnsafeMutableRawPointer
    private let inbox = Locked(Inbox())
    private let logger: Logger

    init(logger: Logger) throws(HTTPError) {
        guard let multi = curl_multi_init() else {
            throw HTTPError.other.with(
                message: "cannot start the HTTP client: curl_multi_init failed")
        }
        self.multi = multi
        self.logger = logger
        let thread = Thread { [self] in run() }
        thread.name = "policy-change.curl"
        thread.start()
    }

    /// Starts a transfer. The loop checks for cancellation before adding it.
    func submit(_ transfer: CurlTransfer) {
        inbox.withLock { $0.additions.append(transfer) }
        curl_multi_wakeup(multi)
    }

    /// Stops a transfer whose caller has gone away (cancelled).
    func remove(_ transfer: CurlTransfer) {
        inbox.withLock { $0.removals.append(transfer) }
        curl_multi_wakeup(multi)
    }

    /// Ends the loop: running transfers fail with ``HTTPError/cancelled`` and
    /// the thread exits. Called once, when the transport goes away.
    func shutdown() {
        inbox.withLock { $0.shuttingDown = true }
        curl_multi_wakeup(multi)
    }

    // MARK: - The loop thread

    private func run() {
        // Transfers whose handle is in the multi handle, by easy handle. This
        // dictionary keeps them alive while libcurl holds pointers to them.
        var running: [UnsafeMutableRawPointer: CurlTransfer] = [:]
        logger.trace("HTTP client thread started", metadata: ["curl.version": "\(String(cString: curl_version()))"])

        while true {
            let work = inbox.withLock { inbox in
                defer {
                    inbox.additions.removeAll()
                    inbox.removals.removeAll()
                }
                return inbox
            }

            for transfer in work.additions {
                // Cancelled between `submit` and now: never start it.
                if transfer.isCancelled { continue }
                let code = curl_multi_add_handle(multi, transfer.handle)
                if code == CURLM_OK {
                    running[transfer.handle] = transfer
                } else {
                    let reason = String(cString: curl_multi_strerror(code))
                    transfer.finish(
                        .failure(
                            HTTPError.other.with(
                                message: "cannot start the request to \(transfer.shownURL): \(reason)",
                                url: transfer.shownURL)))
                }
            }
            for transfer in work.removals where running.removeValue(forKey: transfer.handle) != nil {
                curl_multi_remove_handle(multi, transfer.handle)
                logger.trace("HTTP transfer cancelled", metadata: ["http.url": "\(transfer.shownURL)"])
            }

            if work.shuttingDown {
                for transfer in running.values {
                    curl_multi_remove_handle(multi, transfer.handle)
                    transfer.finish(
                        .failure(
                            HTTPError.cancelled.with(
                                message: "the request to \(transfer.shownURL) was abandoned: the HTTP client shut down",
                                url: transfer.shownURL)))
                }
                running.removeAll()
                break
            }

            var stillRunning: Int32 = 0
            curl_multi_perform(multi, &stillRunning)

            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                // `message` points into libcurl's memory and is invalid after
                // `curl_multi_remove_handle`: read everything first.
                guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
                let code = pc_curl_msg_result(message)
                guard let transfer = running.removeValue(forKey: handle) else { continue }
                let result = transfer.result(for: code)
                logCompletion(transfer, result)
                curl_multi_remove_handle(multi, handle)
                transfer.finish(result.mapError { $0 })
            }

            // Sleeps until a socket is ready, libcurl's next timeout (it
            // shortens the wait to its own timers), or `curl_multi_wakeup`.
            var readyDescriptors: Int32 = 0
            curl_multi_poll(multi, nil, 0, 10_000, &readyDescriptors)
        }

        curl_multi_cleanup(multi)
        logger.trace("HTTP client thread stopped")
    }

    private func logCompletion(_ transfer: CurlTransfer, _ result: Result<HTTPResponse, HTTPError>) {
        guard logger.logLevel <= .trace else { return }
        let timings = transfer.timings()
        let outcome: String
        switch result {
        case .success(let response): outcome = response.redactedDescription
        case .failure(let error): outcome = error.kind
        }
        logger.trace(
            "HTTP transfer finished: \(transfer.request.method) \(transfer.shownURL) -> \(outcome)",
            metadata: [
                "curl.time.total": "\(timings.total)",
                "curl.time.connect": "\(timings.connect)",
                "curl.time.firstByte": "\(timings.firstByte)",
            ])
    }
}
