import CCurl
import Foundation
import HTTP

/// One request: its libcurl easy handle and everything libcurl writes back.
///
/// Ownership: built on the caller's thread; once handed to the
/// ``CurlMultiLoop`` only the loop thread touches the handle and the response
/// buffers (libcurl calls the header and write callbacks from inside
/// `curl_multi_perform`, on that thread). The one piece of state shared
/// across threads is `phase`, behind a lock: it decides who resumes the
/// caller's continuation, exactly once.
final class CurlTransfer: @unchecked Sendable {
    enum Phase {
        /// Built, not yet waiting for a result.
        case created
        /// The caller awaits this continuation; the loop may run the transfer.
        case waiting(CheckedContinuation<HTTPResponse, any Error>)
        /// The caller's task was cancelled; the continuation (if any) has been resumed.
        case cancelled
        /// The result was delivered.
        case finished
    }

    /// `CURL *` (libcurl declares `typedef void CURL`).
    let handle: UnsafeMutableRawPointer
    let request: HTTPRequest
    /// The URL as it may appear in logs and errors.
    let shownURL: String
    /// The per-attempt timeout actually configured, for error messages.
    let timeout: Duration

    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let maxBodyBytes: Int

    // Filled by the callbacks, on the loop thread only.
    private var responseFields: [HTTPHeaders.Field] = []
    private var body = Data()
    private(set) var bodyLimitExceeded = false

    private let phase = Locked<Phase>(.created)

    init(request: HTTPRequest, configuration: CurlTransport.Configuration) throws(HTTPError) {
        let shownURL = request.redactedURL
        self.request = request
        self.shownURL = shownURL
        self.maxBodyBytes = configuration.maxResponseBodyBytes

        var timeout = configuration.timeout
        if let requestTimeout = request.timeout { timeout = min(timeout, requestTimeout) }
        self.timeout = max(timeout, .milliseconds(1))

        guard let handle = curl_easy_init() else {
            throw HTTPError.other.with(
                message: "cannot start a request to \(shownURL): curl_easy_init failed", url: shownURL)
        }
        self.handle = handle
        let errorSize = pc_curl_error_size()
        errorBuffer = .allocate(capacity: errorSize)
        errorBuffer.initialize(repeating: 0, count: errorSize)
        // From here on `deinit` releases the handle, list and buffer if `configure` throws.
        try configure(configuration)
    }

    deinit {
        // The loop removes the handle from the multi handle before it lets go
        // of the transfer, so cleaning up here never touches a running transfer.
        curl_easy_cleanup(handle)
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }

    // MARK: - Options

    private func configure(_ configuration: CurlTransport.Configuration) throws(HTTPError) {
        let url = request.url.absoluteString
        try set(CURLOPT_URL, url)
        // Refuse every protocol but HTTP(S) inside libcurl too, in case a URL
        // slipped past `URLSafety` (CURLOPT_PROTOCOLS_STR needs libcurl 7.85).
        _ = pc_curl_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")

        // libcurl otherwise uses signals (SIGALRM) for DNS timeouts, which is
        // not safe in a multi-threaded process.
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_SSL_VERIFYPEER, 1)
        try set(CURLOPT_SSL_VERIFYHOST, 2)
        // Never follow redirects: a signed request must not be replayed to
        // another host, and the cloud APIs used here do not redirect.
        try set(CURLOPT_FOLLOWLOCATION, 0)
        // CURLOPT_VERBOSE stays off: it would print signed headers to stderr.
        try set(CURLOPT_VERBOSE, 0)
        try set(CURLOPT_TCP_KEEPALIVE, 1)
        // Headers of a proxy's CONNECT response are not the server's.
        try set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)

        let totalMilliseconds = Self.milliseconds(timeout)
        try set(CURLOPT_TIMEOUT_MS, totalMilliseconds)
        try set(CURLOPT_CONNECTTIMEOUT_MS, min(Self.milliseconds(configuration.connectTimeout), totalMilliseconds))

        if let caBundle = configuration.caBundlePath {
            try set(CURLOPT_CAINFO, caBundle)
        }

        // Proxies: nothing here sets CURLOPT_PROXY or CURLOPT_NOPROXY for
        // remote hosts, so libcurl reads https_proxy / HTTPS_PROXY, http_proxy,
        // all_proxy / ALL_PROXY and no_proxy / NO_PROXY from the environment,
        // like the curl and aws command-line tools. Loopback requests (tests,
        // emulators) never go through a proxy: a proxy could not reach this
        // machine's loopback interface anyway.
        // The metadata services live on link-local addresses, which no proxy can reach either.
        if let host = URLSafety.host(of: request.url),
            URLSafety.isLoopback(host: host) || URLSafety.isListed(host, in: configuration.plainHTTPHosts)
        {
            try set(CURLOPT_NOPROXY, "*")
        }

        try set(CURLOPT_USERAGENT, configuration.userAgent)
        try configureMethodAndBody()
        try configureHeaders()

        let me = Unmanaged.passUnretained(self).toOpaque()
        try check(pc_curl_easy_setopt_write_callback(handle, curlWriteCallback), "CURLOPT_WRITEFUNCTION")
        try check(pc_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, me), "CURLOPT_WRITEDATA")
        try check(pc_curl_easy_setopt_header_callback(handle, curlHeaderCallback), "CURLOPT_HEADERFUNCTION")
        try check(pc_curl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, me), "CURLOPT_HEADERDATA")
        try check(pc_curl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), "CURLOPT_ERRORBUFFER")
    }

    private func configureMethodAndBody() throws(HTTPError) {
        let method = request.method.rawValue
        guard !method.isEmpty, method.utf8.allSatisfy(Self.isTokenByte) else {
            throw invalidRequest("the method '\(method)' is not a valid HTTP token")
        }
        switch method {
        case "GET" where request.body.isEmpty:
            try set(CURLOPT_HTTPGET, 1)
        case "HEAD":
            guard request.body.isEmpty else { throw invalidRequest("a HEAD request cannot have a body") }
            // NOBODY turns the request into HEAD; without it libcurl would
            // wait for a body that a HEAD response announces but never sends.
            try set(CURLOPT_NOBODY, 1)
        case _ where !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(method):
            // The size goes first: COPYPOSTFIELDS copies that many bytes, so a
            // body may contain NUL bytes. COPY (not POSTFIELDS) because the
            // Data buffer does not outlive this call.
            try check(
                pc_curl_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)),
                "CURLOPT_POSTFIELDSIZE_LARGE")
            let code: CURLcode =
                request.body.isEmpty
                ? "".withCString { pc_curl_easy_setopt_bytes(handle, CURLOPT_COPYPOSTFIELDS, $0) }
                : request.body.withUnsafeBytes {
                    pc_curl_easy_setopt_bytes(handle, CURLOPT_COPYPOSTFIELDS, $0.baseAddress)
                }
            try check(code, "CURLOPT_COPYPOSTFIELDS")
            // POSTFIELDS makes the request a POST; CUSTOMREQUEST only renames
            // the method on the request line, which is what PUT/PATCH/DELETE
            // with a body need.
            if method != "POST" { try set(CURLOPT_CUSTOMREQUEST, method) }
        default:
            // DELETE, OPTIONS, GET-like custom methods without a body.
            try set(CURLOPT_CUSTOMREQUEST, method)
        }
    }

    private func configureHeaders() throws(HTTPError) {
        var lines: [String] = []
        for field in request.headers {
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(Self.isTokenByte) else {
                throw invalidRequest(
                    "the header name '\(Redactor.standard.redact(field.name))' is not a valid HTTP token")
            }
            // A CR or LF would end the header early and inject text into the
            // request: refuse rather than send something that was not meant.
            guard !field.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw invalidRequest("the value of the header '\(field.name)' contains a line break")
            }
            // libcurl reads `Name:` as "remove this header" and `Name;` as
            // "send this header with an empty value".
            lines.append(field.value.isEmpty ? "\(field.name);" : "\(field.name): \(field.value)")
        }
        // Send exactly the request's headers: switch off the ones libcurl adds
        // on its own unless the request sets them.
        // - Expect: 100-continue (libcurl adds it to large uploads) costs a
        //   round trip and some servers and proxies mishandle it.
        // - Accept: */*
        // - Content-Type: application/x-www-form-urlencoded for POSTFIELDS
        //   bodies, which would be wrong for JSON and change signed headers.
        for name in ["Expect", "Accept", "Content-Type"] where !request.headers.contains(name: name) {
            lines.append("\(name):")
        }
        for line in lines {
            guard let list = curl_slist_append(headerList, line) else {
                throw HTTPError.other.with(
                    message: "cannot build the headers for \(shownURL): out of memory", url: shownURL)
            }
            headerList = list
        }
        try check(pc_curl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList), "CURLOPT_HTTPHEADER")
    }

    private func set(_ option: CURLoption, _ value: Int) throws(HTTPError) {
        try check(pc_curl_easy_setopt_long(handle, option, value), "option \(option.rawValue)")
    }

    private func set(_ option: CURLoption, _ value: String) throws(HTTPError) {
        try check(pc_curl_easy_setopt_string(handle, option, value), "option \(option.rawValue)")
    }

    private func check(_ code: CURLcode, _ what: String) throws(HTTPError) {
        guard code != CURLE_OK else { return }
        let reason = String(cString: curl_easy_strerror(code))
        let kind: HTTPError = code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT ? .invalidURL : .other
        throw kind.with(
            message: "cannot prepare the request to \(shownURL): \(what): \(reason)",
            url: shownURL,
            hint: code == CURLE_UNKNOWN_OPTION ? "libcurl is too old; install libcurl 7.85 or newer" : nil)
    }

    private func invalidRequest(_ reason: String) -> HTTPError {
        HTTPError.invalidRequest.with(
            message: "cannot send \(request.redactedDescription): \(reason)", url: shownURL)
    }

    /// RFC 9110 `tchar`: the bytes allowed in a method or header name.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let total = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        // 0 means "no timeout" to libcurl: never pass it.
        return Int(max(1, min(total.rounded(.up), Double(Int32.max))))
    }

    // MARK: - Callbacks (loop thread)

    fileprivate func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard body.count + bytes.count <= maxBodyBytes else {
            bodyLimitExceeded = true
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    /// One header line, CRLF included, as libcurl delivers it.
    fileprivate func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        // Strip the line ending on bytes: as a Swift String, "\r\n" is one
        // Character, which `hasSuffix("\n")` does not see.
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            // A new status line starts a new header block: after
            // `100 Continue`, and after any interim (1xx) response. Only the
            // final block belongs to the response.
            responseFields.removeAll()
            return
        }
        if line.isEmpty { return }  // the blank line that ends a block
        if line.first == " " || line.first == "\t" {
            // Obsolete line folding (RFC 9112 §5.2): continues the previous value.
            if !responseFields.isEmpty {
                let continuation = line.trimmingCharacters(in: .whitespaces)
                responseFields[responseFields.count - 1].value += " " + continuation
            }
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
        let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        responseFields.append(HTTPHeaders.Field(name: name, value: value))
    }

    // MARK: - Result (loop thread)

    /// The response, or the error, once libcurl reports the transfer done.
    func result(for code: CURLcode) -> Result<HTTPResponse, HTTPError> {
        if code == CURLE_OK {
            var status = 0
            _ = pc_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            return .success(HTTPResponse(status: status, headers: HTTPHeaders(responseFields), body: body))
        }
        if bodyLimitExceeded {
            return .failure(
                HTTPError.other.with(
                    message: "the response from \(shownURL) is larger than \(maxBodyBytes) bytes",
                    url: shownURL, hint: "this is not a response the cloud APIs send; check the endpoint"))
        }
        let detail = String(cString: errorBuffer)
        var requestBytes = 0
        _ = pc_curl_easy_getinfo_long(handle, CURLINFO_REQUEST_SIZE, &requestBytes)
        return .failure(
            CurlErrorMapping.error(
                for: code,
                detail: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail,
                url: shownURL,
                requestSent: requestBytes > 0,
                timeout: timeout))
    }

    /// Timings for trace logs, in seconds.
    func timings() -> (total: Double, connect: Double, firstByte: Double) {
        var total = 0.0
        var connect = 0.0
        var firstByte = 0.0
        _ = pc_curl_easy_getinfo_double(handle, CURLINFO_TOTAL_TIME, &total)
        _ = pc_curl_easy_getinfo_double(handle, CURLINFO_CONNECT_TIME, &connect)
        _ = pc_curl_easy_getinfo_double(handle, CURLINFO_STARTTRANSFER_TIME, &firstByte)
        return (total, connect, firstByte)
    }

    // MARK: - Handing over the result (any thread)

    /// Called once by `send` with its continuation. Returns false when the
    /// task was cancelled before: the continuation has then been resumed
    /// with `CancellationError` and the transfer must not be submitted.
    func start(_ continuation: CheckedContinuation<HTTPResponse, any Error>) -> Bool {
        let proceed = phase.withLock { phase -> Bool in
            guard case .created = phase else { return false }
            phase = .waiting(continuation)
            return true
        }
        if !proceed { continuation.resume(throwing: CancellationError()) }
        return proceed
    }

    /// From the task's cancellation handler: resumes the caller at once with
    /// `CancellationError`. Returns true when the transfer may be running and
    /// the loop must remove it.
    func cancel() -> Bool {
        let continuation = phase.withLock { phase -> CheckedContinuation<HTTPResponse, any Error>?? in
            switch phase {
            case .created:
                phase = .cancelled
                return .some(nil)
            case .waiting(let continuation):
                phase = .cancelled
                return .some(continuation)
            case .cancelled, .finished:
                return nil
            }
        }
        guard let continuation else { return false }
        continuation?.resume(throwing: CancellationError())
        return continuation != nil
    }

    var isCancelled: Bool {
        phase.withLock { if case .cancelled = $0 { true } else { false } }
    }

    /// Delivers the outcome, unless the caller already went away (cancelled).
    func finish(_ result: Result<HTTPResponse, any Error>) {
        let continuation = phase.withLock { phase -> CheckedContinuation<HTTPResponse, any Error>? in
            guard case .waiting(let continuation) = phase else { return nil }
            phase = .finished
            return continuation
        }
        continuation?.resume(with: result)
    }
}

// libcurl's callbacks are C function pointers: no captures, the transfer
// comes back through the `userdata` pointer set with WRITEDATA/HEADERDATA.
// The loop keeps the transfer alive while its handle is in the multi handle,
// so the unretained pointer is valid whenever libcurl calls these.

private let curlWriteCallback: curl_write_callback = { buffer, size, count, userdata in
    guard let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let buffer else { return length }
    // Returning less than `length` makes libcurl fail with CURLE_WRITE_ERROR.
    return transfer.appendBody(UnsafeRawBufferPointer(start: buffer, count: length)) ? length : 0
}

private let curlHeaderCallback: curl_write_callback = { buffer, size, count, userdata in
    guard let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let buffer else { return length }
    transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: buffer, count: length))
    return length
}
