import Foundation

/// Which URLs a transport may connect to (DESIGN.md §2): `https://` always
/// (with certificate verification); plain `http://` only to a loopback host,
/// for tests and local emulators; nothing else.
///
/// Every transport calls ``check(_:)`` before it opens a connection, so a
/// mistyped endpoint override (`http://kms.example.com`) fails before any
/// signed request leaves the machine.
public enum URLSafety {
    /// Throws ``HTTPError/insecureURL`` for plain `http://` to a host that is
    /// not loopback or for any other scheme, and ``HTTPError/invalidURL`` for
    /// a URL without a host. Does no I/O (no name resolution).
    ///
    /// - Parameter plainHTTPHosts: further hosts that may be reached over plain
    ///   `http://`, compared case-insensitively. Meant for the cloud metadata
    ///   services (``cloudMetadataHosts``), which only speak plain HTTP on a
    ///   link-local address that is never routed off the machine; empty by
    ///   default, so a caller has to ask for them.
    public static func check(_ url: URL, plainHTTPHosts: Set<String> = []) throws(HTTPError) {
        let shown = Redactor.standard.redact(url: url)
        guard let scheme = url.scheme?.lowercased() else {
            throw HTTPError(
                .invalidURL, message: "invalid URL \(shown): no scheme", url: shown,
                hint: "use an https:// URL")
        }
        guard let host = host(of: url), !host.isEmpty else {
            throw HTTPError(
                .invalidURL, message: "invalid URL \(shown): no host", url: shown,
                hint: "use an https:// URL with a host name")
        }
        switch scheme {
        case "https":
            return
        case "http":
            guard isLoopback(host: host) || isListed(host, in: plainHTTPHosts) else {
                throw HTTPError(
                    .insecureURL,
                    message: "refusing to send a request over plain http:// to \(shown)",
                    url: shown,
                    hint: "use https://; plain http:// is allowed only for loopback hosts (127.0.0.1, ::1, localhost)")
            }
        default:
            throw HTTPError(
                .insecureURL,
                message: "refusing the '\(scheme)' scheme in \(shown)",
                url: shown,
                hint: "use an https:// URL")
        }
    }

    /// The link-local addresses of the instance metadata and credential
    /// services: AWS IMDS (IPv4 and IPv6), the ECS/EKS container credentials
    /// endpoint, the Azure IMDS and the GCP metadata server (which share the
    /// IPv4 address). Names such as `metadata.google.internal` are left out on
    /// purpose: their meaning depends on DNS.
    public static let cloudMetadataHosts: Set<String> = ["169.254.169.254", "169.254.170.2", "fd00:ec2::254"]

    /// True when `check` would accept the URL.
    public static func isAllowed(_ url: URL, plainHTTPHosts: Set<String> = []) -> Bool {
        do {
            try check(url, plainHTTPHosts: plainHTTPHosts)
            return true
        } catch {
            return false
        }
    }

    /// True for hosts that can only mean this machine without asking DNS:
    /// `localhost` (libcurl resolves it internally to loopback since 7.78, and
    /// never through DNS), IPv4 127.0.0.0/8 written as four decimal octets,
    /// and IPv6 `::1` with or without brackets.
    ///
    /// Deliberately strict: shorthand forms (`127.1`), `localhost.` with a dot,
    /// or `*.localhost` names are refused, because their meaning depends on
    /// the resolver.
    public static func isLoopback(host: String) -> Bool {
        let host = unbracketed(host.lowercased())
        if host == "localhost" { return true }
        if isIPv6Loopback(host) { return true }
        return isIPv4Loopback(host)
    }

    /// Whether `host` (brackets ignored) is one of `hosts`, case-insensitively.
    public static func isListed(_ host: String, in hosts: Set<String>) -> Bool {
        guard !hosts.isEmpty else { return false }
        let bare = unbracketed(host.lowercased())
        return hosts.contains { unbracketed($0.lowercased()) == bare }
    }

    private static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    /// The host part of a URL, not percent-decoded; an IPv6 address may keep
    /// its brackets.
    public static func host(of url: URL) -> String? {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false) else {
            return url.host
        }
        // `percentEncodedHost` keeps IPv6 brackets on some Foundation versions
        // and drops them on others; `isLoopback` accepts both.
        return components.percentEncodedHost ?? url.host
    }

    private static func isIPv4Loopback(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        var octets: [Int] = []
        for part in parts {
            // Decimal only: a leading zero could be read as octal by some resolvers.
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigit),
                part == "0" || !part.hasPrefix("0"),
                let value = Int(part), value <= 255
            else { return false }
            octets.append(value)
        }
        return octets[0] == 127
    }

    private static func isIPv6Loopback(_ host: String) -> Bool {
        // Accept `::1` and its spelled-out forms (`0:0:0:0:0:0:0:1`, `::0:1`);
        // no zone ids.
        if host == "::1" { return true }
        guard host.allSatisfy({ $0.isHexDigit || $0 == ":" }) else { return false }
        let halves = host.components(separatedBy: "::")
        guard halves.count <= 2 else { return false }
        func groups(_ text: String) -> [Substring]? {
            if text.isEmpty { return [] }
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.allSatisfy({ !$0.isEmpty && $0.count <= 4 }) else { return nil }
            return parts
        }
        guard let head = groups(halves[0]) else { return false }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return false }
            all += Array(repeating: "0", count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return false }
        let values = all.compactMap { UInt16($0, radix: 16) }
        return values.count == 8 && values.dropLast().allSatisfy { $0 == 0 } && values.last == 1
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
