import CCurl
import HTTP

/// libcurl result codes → ``HTTPError`` kinds, with a message that names the
/// URL (redacted) and libcurl's own explanation, and a hint of what to check.
enum CurlErrorMapping {
    static func error(for code: CURLcode, detail: String, url: String, requestSent: Bool, timeout: Duration)
        -> HTTPError
    {
        // libcurl's error buffer can quote the URL or a header; redact it like
        // everything else that ends up in a message.
        let detail = Redactor.standard.redact(detail)
        switch code {
        case CURLE_COULDNT_CONNECT:
            return HTTPError.connectFailed.with(
                message: "cannot connect to \(url): \(detail)", url: url,
                hint: "check the endpoint, proxy settings and network")
        case CURLE_COULDNT_RESOLVE_HOST:
            return HTTPError.connectFailed.with(
                message: "cannot connect to \(url): \(detail)", url: url,
                hint: "check the endpoint's host name, DNS and proxy settings")
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_PROXY:
            return HTTPError.connectFailed.with(
                message: "cannot connect to \(url) through the proxy: \(detail)", url: url,
                hint: "check https_proxy, all_proxy and no_proxy")

        case CURLE_OPERATION_TIMEDOUT where !requestSent:
            // Timed out before a single byte of the request went out (while
            // resolving, connecting or in the TLS handshake): the server
            // certainly never saw it, which is what `connectFailed` promises.
            return HTTPError.connectFailed.with(
                message: "cannot connect to \(url): \(detail)", url: url,
                hint: "check the endpoint, proxy settings and network")
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPError.timedOut.with(
                message: "no complete response from \(url) within \(seconds(timeout)): \(detail)", url: url,
                hint: "the service or the network is slow; try again, or check the network")

        case CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE,
            CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return HTTPError.connectionDropped.with(
                message: "the connection to \(url) closed before a complete response: \(detail)", url: url,
                hint: "a server or proxy dropped the connection; the request may or may not have been processed")

        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE,
            CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
            CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            return HTTPError.tlsFailed.with(
                message: "TLS with \(url) failed: \(detail)", url: url,
                hint:
                    "check the CA bundle (--ca-bundle or SSL_CERT_FILE), and that the endpoint's certificate is valid for its host name; a TLS-intercepting proxy needs its CA in the bundle"
            )
        case CURLE_SSL_CACERT_BADFILE:
            return HTTPError.tlsFailed.with(
                message: "TLS with \(url) failed: \(detail)", url: url,
                hint: "the CA bundle cannot be read; check the --ca-bundle path or SSL_CERT_FILE")

        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            return HTTPError.invalidURL.with(
                message: "cannot use the URL \(url): \(detail)", url: url,
                hint: "use an https:// URL")

        default:
            return HTTPError.other.with(
                message: "the request to \(url) failed: \(detail) (curl error \(code.rawValue))", url: url)
        }
    }

    private static func seconds(_ duration: Duration) -> String {
        let milliseconds = CurlTransfer.milliseconds(duration)
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}
