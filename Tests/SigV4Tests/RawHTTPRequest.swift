import Foundation
import HTTP
import SigV4
import Testing

/// An HTTP/1.1 request as written in the suites' text files (`request.txt`, `.req`,
/// `.sreq`, `.http`): request line, header fields, blank line, body.
///
/// Test support only. It accepts what the fixtures contain: LF or CRLF line ends, no
/// final line end, repeated fields, `Name:value` with or without a space, and obs-fold
/// continuation lines (RFC 7230 §3.2.4), which are appended to the previous field's
/// value after one space — the line break becomes a space and the continuation's own
/// indentation stays, for the signer to collapse.
struct RawHTTPRequest: Sendable, Equatable {
    var method: String
    /// The request-target exactly as written, possibly with a raw space or raw UTF-8
    /// (`get-space`, `get-utf8`), which no valid `URL` can hold.
    var target: String
    var version: String
    var headers: HTTPHeaders
    var body: Data

    var path: String {
        String(target.prefix { $0 != "?" })
    }

    var query: String? {
        guard let mark = target.firstIndex(of: "?") else { return nil }
        return String(target[target.index(after: mark)...])
    }

    init(contentsOf url: URL) throws {
        try self.init(parsing: Fixtures.data(url), source: url.lastPathComponent)
    }

    init(parsing data: Data, source: String) throws {
        let bytes = [UInt8](data)
        var lines: [String] = []
        var bodyStart: Int?
        var position = 0
        while position < bytes.count {
            let newline = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            var end = newline
            if end > position, bytes[end - 1] == UInt8(ascii: "\r") {
                end -= 1
            }
            let line = String(decoding: bytes[position..<end], as: UTF8.self)
            position = min(newline + 1, bytes.count)
            if line.isEmpty {
                bodyStart = position
                break
            }
            lines.append(line)
        }

        guard let requestLine = lines.first,
            let firstSpace = requestLine.firstIndex(of: " "),
            let lastSpace = requestLine.lastIndex(of: " "),
            firstSpace < lastSpace
        else {
            throw FixtureError("\(source): no request line `METHOD target HTTP/1.1`")
        }
        method = String(requestLine[..<firstSpace])
        target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])
        version = String(requestLine[requestLine.index(after: lastSpace)...])

        var fields: [HTTPHeaders.Field] = []
        for line in lines.dropFirst() {
            if line.first == " " || line.first == "\t" {
                guard !fields.isEmpty else {
                    throw FixtureError("\(source): continuation line before any header field: \(line)")
                }
                fields[fields.count - 1].value += " " + line
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw FixtureError("\(source): header line without `:`: \(line)")
            }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(
                in: CharacterSet(charactersIn: " \t")
            )
            fields.append(.init(name: name, value: value))
        }
        headers = HTTPHeaders(fields)
        body = bodyStart.map { Data(bytes[$0...]) } ?? Data()
    }

    /// The request as an `HTTPRequest`, when a `URL` can carry its target exactly as
    /// written; `nil` for targets with a raw space or raw UTF-8, which `URL` would
    /// percent-encode and so change the request line the expectations were computed for.
    func httpRequest(scheme: String = "https") -> HTTPRequest? {
        guard let host = headers.first(name: "Host"),
            let url = URL(string: "\(scheme)://\(host)\(target)", encodingInvalidCharacters: false),
            url.path(percentEncoded: true) == path,
            url.query(percentEncoded: true) == query
        else { return nil }
        return HTTPRequest(method: HTTPMethod(rawValue: method), url: url, headers: headers, body: body)
    }

    /// The request exactly as written, for the signer's wire-level entry points.
    var signableRequest: SignableRequest {
        SignableRequest(method: HTTPMethod(rawValue: method), path: path, query: query, headers: headers, body: body)
    }
}

extension HTTPHeaders {
    /// The fields grouped by case-insensitive name in first-seen order of names, keeping
    /// the order of the fields within each name: what is left of a header list once the
    /// relative order of *different* fields is ignored. aws-c-auth appends
    /// `X-Amz-Security-Token` before `X-Amz-Date`, this signer after it; the order of
    /// repeated fields of one name is significant and is kept.
    var groupedByName: [String: [String]] {
        var groups: [String: [String]] = [:]
        for field in fields {
            groups[field.name.lowercased(), default: []].append(field.value)
        }
        return groups
    }
}

extension SigV4Signer {
    /// Header-signs a fixture request the way the suites mean it.
    ///
    /// When a `URL` can carry the request line as written, this goes through
    /// `sign(_:date:)` on an `HTTPRequest`, as production code does, and checks that
    /// `sign` and `signature(for:date:)` agree. `get-space`, `get-utf8` and
    /// `get-vanilla-utf8-query` write a raw space or raw UTF-8 on the request line; a
    /// `URL` would percent-encode it, which changes the request the expectations were
    /// computed for (the path would then be encoded twice, `%20` → `%2520`, as it must
    /// be for a real request), so those go through the same engine's wire-level entry
    /// point with the request line exactly as written — what aws-c-auth's own harness
    /// does with these files.
    func signatureForFixture(_ raw: RawHTTPRequest, date: Date) -> SigV4Signature {
        guard let request = raw.httpRequest() else {
            return signature(for: raw.signableRequest, date: date)
        }
        let result = signature(for: request, date: date)
        let signed = sign(request, date: date)
        #expect(signed.headers == result.headers)
        #expect(signed.url == request.url)
        #expect(signed.method == request.method)
        #expect(signed.body == request.body)
        return result
    }
}
