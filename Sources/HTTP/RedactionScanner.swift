/// The one-pass matcher behind ``Redactor/redact(_:)``.
///
/// It walks the UTF-8 bytes once. At each position it tries the patterns
/// below, in this order; the first that matches decides what is written and
/// where scanning resumes, otherwise the byte is copied. Every delimiter is
/// ASCII, and bytes of multi-byte UTF-8 sequences are never ASCII, so working
/// on bytes never splits a character.
///
/// | pattern | example | written |
/// |---|---|---|
/// | PEM private key | `-----BEGIN RSA PRIVATE KEY-----…-----END RSA PRIVATE KEY-----` | `<redacted>` |
/// | JSON member | `"SessionToken": "…"` (also `\"…\"` inside a JSON string) | `"SessionToken": "<redacted>"` |
/// | XML element | `<SecretAccessKey>…</SecretAccessKey>` | `<SecretAccessKey><redacted></SecretAccessKey>` |
/// | header line | `Authorization: AWS4-HMAC-SHA256 …` (to the end of the line) | `Authorization: AWS4-HMAC-SHA256 <redacted>` |
/// | parameter | `?X-Amz-Signature=…`, `&client_secret=…`, `, Signature=…` | `X-Amz-Signature=<redacted>` |
/// | auth scheme | `Bearer …`, `Basic …` | `Bearer <redacted>` |
/// | URL userinfo | `://user:password@` | `://user:<redacted>@` |
/// | JWT | `eyJ….eyJ….…` | `<redacted>` |
struct RedactionScanner {
    private let bytes: [UInt8]
    private let redactor: Redactor
    private var output: [UInt8] = []
    private var position = 0

    private let headers: [[UInt8]]
    private let parameters: [[UInt8]]
    private let members: [[UInt8]]
    private let xmlElements: [[UInt8]]
    private static let placeholder = Array(Redactor.placeholder.utf8)

    init(text: String, redactor: Redactor) {
        bytes = Array(text.utf8)
        self.redactor = redactor
        output.reserveCapacity(bytes.count)
        headers = Self.names(redactor.sensitiveHeaders)
        parameters = Self.names(redactor.sensitiveParameters)
        // Header names as JSON members too: `{"Authorization": "…"}`.
        members = Self.names(redactor.sensitiveMembers.union(redactor.sensitiveHeaders))
        xmlElements = Self.names(redactor.sensitiveMembers)
    }

    /// Lowercased UTF-8 names, longest first.
    private static func names(_ set: Set<String>) -> [[UInt8]] {
        set.map { Array($0.lowercased().utf8) }.filter { !$0.isEmpty }.sorted { $0.count > $1.count }
    }

    mutating func run() -> String {
        while position < bytes.count {
            if matchPEM() || matchJSONMember() || matchEscapedJSONMember() || matchXMLElement()
                || matchHeaderLine() || matchParameter() || matchAuthScheme() || matchUserinfo() || matchJWT()
            {
                continue
            }
            output.append(bytes[position])
            position += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: - Patterns

    /// `-----BEGIN … PRIVATE KEY-----` through the matching END line, or to
    /// the end of the text when it was cut off.
    private mutating func matchPEM() -> Bool {
        guard bytes[position] == UInt8(ascii: "-"), hasPrefix("-----BEGIN ", at: position) else { return false }
        let lineEnd = firstIndex(of: Array("-----".utf8), from: position + 11) ?? bytes.count
        guard let privateKey = firstIndex(of: Array("PRIVATE KEY".utf8), from: position + 11), privateKey < lineEnd
        else { return false }
        var end = bytes.count
        if let endMarker = firstIndex(of: Array("-----END ".utf8), from: lineEnd + 5),
            let close = firstIndex(of: Array("PRIVATE KEY-----".utf8), from: endMarker)
        {
            end = close + 16
        }
        output += Self.placeholder
        position = end
        return true
    }

    /// `"name"␣:␣"value"` → the value replaced; an unterminated value is
    /// redacted to the end of the text.
    private mutating func matchJSONMember() -> Bool {
        guard bytes[position] == UInt8(ascii: "\"") else { return false }
        guard let nameEnd = matchName(members, at: position + 1), byte(at: nameEnd) == UInt8(ascii: "\"") else {
            return false
        }
        var cursor = skipWhitespace(from: nameEnd + 1)
        guard byte(at: cursor) == UInt8(ascii: ":") else { return false }
        cursor = skipWhitespace(from: cursor + 1)
        guard byte(at: cursor) == UInt8(ascii: "\"") else { return false }
        let valueStart = cursor + 1
        var end = valueStart
        while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
            end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1
        }
        output += bytes[position..<valueStart]
        output += Self.placeholder
        output.append(UInt8(ascii: "\""))
        position = min(end + 1, bytes.count)
        return true
    }

    /// The same inside a JSON string that holds JSON: `\"name\":\"value\"`.
    private mutating func matchEscapedJSONMember() -> Bool {
        let quote: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
        guard bytes[position] == UInt8(ascii: "\\"), hasPrefix(quote, at: position) else { return false }
        guard let nameEnd = matchName(members, at: position + 2), hasPrefix(quote, at: nameEnd) else { return false }
        var cursor = skipWhitespace(from: nameEnd + 2)
        guard byte(at: cursor) == UInt8(ascii: ":") else { return false }
        cursor = skipWhitespace(from: cursor + 1)
        guard hasPrefix(quote, at: cursor) else { return false }
        let valueStart = cursor + 2
        let end = firstIndex(of: quote, from: valueStart) ?? bytes.count
        output += bytes[position..<valueStart]
        output += Self.placeholder
        output += quote
        position = min(end + 2, bytes.count)
        return true
    }

    /// `<Name>value</Name>` with no markup inside the value.
    private mutating func matchXMLElement() -> Bool {
        guard bytes[position] == UInt8(ascii: "<"), let nameEnd = matchName(xmlElements, at: position + 1),
            byte(at: nameEnd) == UInt8(ascii: ">")
        else { return false }
        let valueStart = nameEnd + 1
        var end = valueStart
        while end < bytes.count, bytes[end] != UInt8(ascii: "<") { end += 1 }
        let name = bytes[(position + 1)..<nameEnd]
        guard
            hasPrefix(
                [UInt8(ascii: "<"), UInt8(ascii: "/")] + name + [UInt8(ascii: ">")], at: end, caseInsensitive: true)
        else { return false }
        output += bytes[position..<valueStart]
        output += Self.placeholder
        position = end
        return true
    }

    /// `Name: value` up to the end of the line, for a sensitive header name
    /// that does not continue a longer name.
    private mutating func matchHeaderLine() -> Bool {
        if position > 0, Self.isNameByte(bytes[position - 1]) || bytes[position - 1] == UInt8(ascii: "-") {
            return false
        }
        guard let nameEnd = matchName(headers, at: position) else { return false }
        var cursor = skipBlanks(from: nameEnd)
        guard byte(at: cursor) == UInt8(ascii: ":") else { return false }
        cursor = skipBlanks(from: cursor + 1)
        var end = cursor
        while end < bytes.count, bytes[end] != UInt8(ascii: "\r"), bytes[end] != UInt8(ascii: "\n") { end += 1 }
        guard end > cursor else { return false }
        let name = String(decoding: bytes[position..<nameEnd], as: UTF8.self)
        let value = String(decoding: bytes[cursor..<end], as: UTF8.self)
        output += bytes[position..<cursor]
        output += Array(redactor.redact(headerValue: value, name: name).utf8)
        position = end
        return true
    }

    /// `name=value` after the start, `?`, `&`, `#`, `;`, `,`, whitespace, a
    /// quote or an opening bracket. The value ends at `&`, whitespace, a
    /// quote, `,`, `;`, `#` or a closing bracket.
    private mutating func matchParameter() -> Bool {
        if position > 0, !Self.parameterLeads.contains(bytes[position - 1]) { return false }
        guard let nameEnd = matchName(parameters, at: position), byte(at: nameEnd) == UInt8(ascii: "=") else {
            return false
        }
        let valueStart = nameEnd + 1
        var end = valueStart
        if hasPrefix(Self.placeholder, at: valueStart) {
            // Already redacted: the placeholder's `<` and `>` are not value
            // terminators, and a `:` after it is not part of the value.
            end = valueStart + Self.placeholder.count
        } else {
            while end < bytes.count, !Self.parameterEnds.contains(bytes[end]) { end += 1 }
        }
        guard end > valueStart else { return false }
        output += bytes[position..<valueStart]
        output += Self.placeholder
        position = end
        return true
    }

    /// `Bearer <token>` / `Basic <credentials>` as a whole word, anywhere.
    private mutating func matchAuthScheme() -> Bool {
        let first = bytes[position] | 0x20
        guard first == UInt8(ascii: "b") else { return false }
        if position > 0, Self.isNameByte(bytes[position - 1]) { return false }
        var schemeEnd: Int?
        for scheme in ["bearer", "basic"] where hasPrefix(Array(scheme.utf8), at: position, caseInsensitive: true) {
            schemeEnd = position + scheme.utf8.count
        }
        guard let schemeEnd else { return false }
        let tokenStart = skipBlanks(from: schemeEnd)
        guard tokenStart > schemeEnd else { return false }
        var end = tokenStart
        while end < bytes.count, Self.isTokenByte(bytes[end]) { end += 1 }
        guard end > tokenStart else { return false }
        while end < bytes.count, bytes[end] == UInt8(ascii: "=") { end += 1 }
        output += bytes[position..<tokenStart]
        output += Self.placeholder
        position = end
        return true
    }

    /// `://user:password@` in a URL.
    private mutating func matchUserinfo() -> Bool {
        guard bytes[position] == UInt8(ascii: ":"), hasPrefix(Array("://".utf8), at: position) else { return false }
        let userStart = position + 3
        var cursor = userStart
        while cursor < bytes.count, !Self.userinfoEnds.contains(bytes[cursor]), bytes[cursor] != UInt8(ascii: ":") {
            cursor += 1
        }
        guard byte(at: cursor) == UInt8(ascii: ":") else { return false }
        let passwordStart = cursor + 1
        var end = passwordStart
        while end < bytes.count, !Self.userinfoEnds.contains(bytes[end]) { end += 1 }
        guard end > passwordStart, byte(at: end) == UInt8(ascii: "@") else { return false }
        output += bytes[position..<passwordStart]
        output += Self.placeholder
        position = end
        return true
    }

    /// A JWT: two base64url JSON segments (`eyJ` is `{"`) and a signature.
    private mutating func matchJWT() -> Bool {
        guard bytes[position] == UInt8(ascii: "e") else { return false }
        guard let headerEnd = jwtSegment(at: position), byte(at: headerEnd) == UInt8(ascii: "."),
            let claimsEnd = jwtSegment(at: headerEnd + 1), byte(at: claimsEnd) == UInt8(ascii: ".")
        else { return false }
        var end = claimsEnd + 1
        while end < bytes.count, Self.isBase64URLByte(bytes[end]) { end += 1 }
        output += Self.placeholder
        position = end
        return true
    }

    private func jwtSegment(at start: Int) -> Int? {
        guard hasPrefix(Array("eyJ".utf8), at: start) else { return nil }
        var end = start + 3
        while end < bytes.count, Self.isBase64URLByte(bytes[end]) { end += 1 }
        return end - start >= 7 ? end : nil
    }

    // MARK: - Helpers

    private func byte(at index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }

    /// The end of the first name in `names` at `start`, case-insensitively.
    private func matchName(_ names: [[UInt8]], at start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        let first = Self.lower(bytes[start])
        for name in names where name[0] == first && hasPrefix(name, at: start, caseInsensitive: true) {
            return start + name.count
        }
        return nil
    }

    private func hasPrefix(_ string: String, at start: Int) -> Bool { hasPrefix(Array(string.utf8), at: start) }

    private func hasPrefix(_ prefix: [UInt8], at start: Int, caseInsensitive: Bool = false) -> Bool {
        guard start >= 0, start + prefix.count <= bytes.count else { return false }
        for (offset, expected) in prefix.enumerated() {
            let actual = bytes[start + offset]
            if caseInsensitive ? Self.lower(actual) != Self.lower(expected) : actual != expected { return false }
        }
        return true
    }

    private func firstIndex(of needle: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, start >= 0 else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], hasPrefix(needle, at: index) { return index }
            index += 1
        }
        return nil
    }

    private func skipWhitespace(from start: Int) -> Int {
        var index = start
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0D || bytes[index] == 0x0A
        {
            index += 1
        }
        return index
    }

    private func skipBlanks(from start: Int) -> Int {
        var index = start
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        return index
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    /// `[A-Za-z0-9_]`: the bytes of a word.
    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    private static func isBase64URLByte(_ byte: UInt8) -> Bool { isNameByte(byte) || byte == UInt8(ascii: "-") }

    /// RFC 6750 `b64token` characters.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        isBase64URLByte(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "~") || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: "/")
    }

    private static let parameterLeads = Set(Array("?&#;,\"'([{ \t\r\n".utf8))
    private static let parameterEnds = Set(Array("&\"',;#)]} \t\r\n".utf8))
    private static let userinfoEnds = Set(Array("/@ \t\r\n".utf8))
}
