import Foundation
import HTTP

/// The pieces of a SigV4 canonical request, each exactly as the AWS specification
/// ("Create a canonical request for Signature Version 4", AWS General Reference) and the
/// signing test suites in `../shared/fixtures/sigv4` define them.
///
/// Everything works on UTF-8 bytes: paths and query strings may carry percent-escapes
/// that decode to bytes which are not valid UTF-8, and the canonical form must still be
/// reproducible byte for byte.
enum Canonical {
    // MARK: URI encoding

    /// `UriEncode` of the specification: every byte except the RFC 3986 unreserved
    /// characters `A-Z a-z 0-9 - _ . ~` becomes `%XX` with upper-case hex, so a space is
    /// `%20` (never `+`) and `+` is `%2B`. With `keepingSlash`, `/` stays as it is (paths).
    static func uriEncode<Bytes: Sequence>(_ bytes: Bytes, keepingSlash: Bool) -> String
    where Bytes.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount)
        for byte in bytes {
            if isUnreserved(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigitsUpper[Int(byte >> 4)])
                out.append(hexDigitsUpper[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Percent-decoding of a query name or value. A `%` not followed by two hex digits is
    /// kept literally, and `+` stays `+`: RFC 3986 gives `+` no meaning, and aws-c-auth
    /// (whose suite this is) decodes the same way.
    static func percentDecode<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        let input = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "%"), index + 2 < input.count,
                let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(input[index])
                index += 1
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static let hexDigitsUpper = Array("0123456789ABCDEF".utf8)
    static let hexDigitsLower = Array("0123456789abcdef".utf8)

    static func lowercaseHex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out = [UInt8]()
        for byte in bytes {
            out.append(hexDigitsLower[Int(byte >> 4)])
            out.append(hexDigitsLower[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Path

    /// The CanonicalURI of a path as it is sent on the request line (already
    /// percent-encoded once, the way `URL` holds it).
    ///
    /// Every service except S3 computes its signature over the *double*-encoded path:
    /// it does not decode the path it received before encoding it for the canonical
    /// request ("Each path segment must be URI-encoded twice", AWS General Reference;
    /// aws-c-auth `use_double_uri_encode`, which its harness sets for every case of
    /// `aws-signing-test-suite`). So the wire path `/a%20b` canonicalises to `/a%2520b`.
    /// The suites' `get-space` and `get-utf8` requests carry a literal space and literal
    /// UTF-8 on the request line, which encoded once give `/example%20space/` and
    /// `/%E1%88%B4`.
    ///
    /// - Parameter normalize: remove `.` and `..` segments and empty segments (`//`),
    ///   keeping a trailing `/` (suite cases `get-slash*`, `get-relative*`,
    ///   `get-slashes`, `get-slash-pointless-dot`; their `-unnormalized` twins in the
    ///   newer suite sign the path untouched, as S3 requires).
    static func uri(path: String, normalize: Bool) -> String {
        var bytes = Array(path.utf8)
        if normalize {
            bytes = removingDotSegments(bytes)
        }
        if bytes.isEmpty {
            bytes = [UInt8(ascii: "/")]
        }
        return uriEncode(bytes, keepingSlash: true)
    }

    /// Path normalisation as aws-c-auth does it (`s_append_normalized_path`): split on
    /// `/`, drop empty and `.` segments, let `..` pop the previous segment (never above
    /// the root), rejoin under a single leading `/`, and keep a trailing `/` only if the
    /// input had one. `/example1/example2/../..` → `/`, `//example//` → `/example/`,
    /// `/./example` → `/example`. RFC 3986 §5.2.4 alone would keep `//` (the suites'
    /// `get-slash`, `get-slashes` say collapse it) and give `/a/` for `/a/b/..` (no
    /// suite case; this follows aws-c-auth and gives `/a`).
    static func removingDotSegments(_ path: [UInt8]) -> [UInt8] {
        let slash = UInt8(ascii: "/")
        var stack: [ArraySlice<UInt8>] = []
        for segment in path.split(separator: slash, omittingEmptySubsequences: true) {
            if segment.elementsEqual([UInt8(ascii: ".")]) {
                continue
            } else if segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                _ = stack.popLast()
            } else {
                stack.append(segment)
            }
        }
        var out: [UInt8] = [slash]
        for (index, segment) in stack.enumerated() {
            out.append(contentsOf: segment)
            if index < stack.count - 1 || path.last == slash {
                out.append(slash)
            }
        }
        return out
    }

    // MARK: Query

    /// One query parameter as raw (decoded) bytes.
    struct QueryParameter {
        var name: [UInt8]
        var value: [UInt8]
    }

    /// Splits a query string as sent on the wire into decoded parameters, in order.
    /// Empty pieces (`a=1&&b=2`) carry no parameter; a piece without `=` is a
    /// parameter with an empty value.
    static func queryParameters(_ query: String?) -> [QueryParameter] {
        guard let query, !query.isEmpty else { return [] }
        return query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).map { piece in
            if let equals = piece.firstIndex(of: UInt8(ascii: "=")) {
                return QueryParameter(
                    name: percentDecode(piece[piece.startIndex..<equals]),
                    value: percentDecode(piece[piece.index(after: equals)...])
                )
            }
            return QueryParameter(name: percentDecode(piece), value: [])
        }
    }

    /// The CanonicalQueryString: names and values decoded, then `UriEncode`d (so an
    /// already-encoded `%E1%88%B4` stays `%E1%88%B4` and raw UTF-8 becomes it —
    /// `get-vanilla-query-order-encoded`, `get-vanilla-utf8-query`), sorted by encoded
    /// name and then encoded value in byte order (`get-vanilla-query-order-key`,
    /// `-order-value`, `-order-key-case`), `name=` for an empty value.
    static func queryString(_ parameters: [QueryParameter]) -> String {
        let encoded = parameters.map {
            (name: uriEncode($0.name, keepingSlash: false), value: uriEncode($0.value, keepingSlash: false))
        }
        return encoded.sorted { lhs, rhs in
            if lhs.name != rhs.name {
                return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
            }
            return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
        }
        .map { "\($0.name)=\($0.value)" }
        .joined(separator: "&")
    }

    // MARK: Headers

    /// Headers that are never signed, because a proxy, the HTTP library or the
    /// connection may add, change or drop them on the way: aws-c-auth's skip list
    /// (`source/aws_signing.c`: `x-amzn-trace-id`, `user-agent`, `connection`,
    /// `sec-websocket-*`, `upgrade`; `expect` and `transfer-encoding` per
    /// `../shared/fixtures/sigv4/README.md` for its current version — curl adds
    /// `Expect: 100-continue` to large uploads on its own), plus `authorization`, which
    /// carries the signature itself. `content-length` *is* signed: aws-c-auth signs it
    /// and the newer suite's `post-x-www-form-urlencoded*` cases expect it.
    static let unsignedHeaderNames: Set<String> = [
        "authorization",
        "connection",
        "expect",
        "sec-websocket-key",
        "sec-websocket-protocol",
        "sec-websocket-version",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    ]

    /// The CanonicalHeaders block (each line `name:value\n`) and the SignedHeaders list.
    ///
    /// Names are lower-cased and sorted in byte order; every value is trimmed and its
    /// inner whitespace runs collapsed to one space (`get-header-value-trim`, which
    /// collapses inside double quotes too: `"a   b   c"` → `"a b c"`); the values of a
    /// repeated header are joined with `,` in the order they were added
    /// (`get-header-key-duplicate`, `get-header-value-order`).
    static func headers(_ headers: HTTPHeaders) -> (block: String, signedHeaders: String) {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for field in headers {
            let name = field.name.lowercased()
            guard !unsignedHeaderNames.contains(name) else { continue }
            if values[name] == nil {
                order.append(name)
            }
            values[name, default: []].append(trimAll(field.value))
        }
        let names = order.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var block = ""
        for name in names {
            block += name + ":" + values[name, default: []].joined(separator: ",") + "\n"
        }
        return (block, names.joined(separator: ";"))
    }

    /// The specification's `Trimall`: strip leading and trailing whitespace and turn
    /// every inner run of whitespace into one space.
    ///
    /// Line breaks count as whitespace. An obs-folded value (RFC 7230 §3.2.4) arrives
    /// either with its line breaks or with them already replaced by spaces, and both
    /// must sign as `value1 value2 value3` (`get-header-value-multiline` of the newer
    /// suite and aws-c-auth's `get-header-value-multiline-space-joined`; the 2015
    /// suite's comma-joined expectation was withdrawn).
    static func trimAll(_ value: String) -> String {
        var out = [UInt8]()
        var pendingSpace = false
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                pendingSpace = !out.isEmpty
            default:
                if pendingSpace {
                    out.append(UInt8(ascii: " "))
                    pendingSpace = false
                }
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
