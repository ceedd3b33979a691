import Foundation

/// A small XML reader for the answers of AWS query-protocol APIs (STS): elements, text,
/// the five predefined entities and character references, CDATA, comments and the XML
/// declaration. Attributes are read past and dropped; namespace prefixes are dropped
/// from names. A DOCTYPE is refused, so no entity expansion can happen.
///
/// Written here instead of using Foundation's `XMLParser` because on Linux that lives
/// in `FoundationXML`, which links libxml2 into the binary for the sake of a few fixed
/// response shapes.
struct QueryXMLElement: Sendable, Equatable {
    var name: String
    var children: [QueryXMLElement]
    var text: String

    /// The first child with this name.
    func child(_ name: String) -> QueryXMLElement? { children.first { $0.name == name } }

    /// The element at a path of child names below this one.
    func descendant(_ path: [String]) -> QueryXMLElement? {
        var element = self
        for name in path {
            guard let next = element.child(name) else { return nil }
            element = next
        }
        return element
    }

    /// The trimmed text of the child with this name.
    func childText(_ name: String) -> String? {
        child(name).map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
    }
}

struct QueryXMLError: Error, Sendable, Equatable, CustomStringConvertible {
    var reason: String
    var description: String { "malformed XML: \(reason)" }
}

enum QueryXML {
    /// The document's root element.
    static func parse(_ data: Data) throws(QueryXMLError) -> QueryXMLElement {
        var reader = Reader(bytes: Array(data))
        return try reader.document()
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var depth = 0

        init(bytes: [UInt8]) {
            // A UTF-8 byte order mark is allowed before the declaration.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
                self.bytes = Array(bytes.dropFirst(3))
            } else {
                self.bytes = bytes
            }
        }

        mutating func document() throws(QueryXMLError) -> QueryXMLElement {
            try skipMisc()
            guard peek("<") else { throw QueryXMLError(reason: "no root element") }
            let root = try element()
            try skipMisc()
            guard index == bytes.count else { throw QueryXMLError(reason: "content after the root element") }
            return root
        }

        /// Whitespace, comments and processing instructions outside the root.
        mutating func skipMisc() throws(QueryXMLError) {
            while true {
                skipWhitespace()
                if peek("<?") {
                    try skip(past: "?>")
                } else if peek("<!--") {
                    try skip(past: "-->")
                } else if peek("<!") {
                    throw QueryXMLError(reason: "document type declarations are not accepted")
                } else {
                    return
                }
            }
        }

        mutating func element() throws(QueryXMLError) -> QueryXMLElement {
            depth += 1
            defer { depth -= 1 }
            guard depth <= 64 else { throw QueryXMLError(reason: "elements nested too deeply") }
            index += 1  // "<"
            let name = try self.name()
            // Attributes: read past them, honouring quotes.
            var selfClosing = false
            while true {
                guard index < bytes.count else { throw QueryXMLError(reason: "unterminated tag <\(name)>") }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    index += 1
                    guard let end = bytes[index...].firstIndex(of: byte) else {
                        throw QueryXMLError(reason: "unterminated attribute value in <\(name)>")
                    }
                    index = end + 1
                } else if byte == UInt8(ascii: "/") && peek("/>") {
                    index += 2
                    selfClosing = true
                    break
                } else if byte == UInt8(ascii: ">") {
                    index += 1
                    break
                } else {
                    index += 1
                }
            }
            var result = QueryXMLElement(name: localName(name), children: [], text: "")
            if selfClosing { return result }

            var text: [UInt8] = []
            while true {
                guard index < bytes.count else { throw QueryXMLError(reason: "<\(name)> is not closed") }
                if peek("</") {
                    index += 2
                    let closing = try self.name()
                    skipWhitespace()
                    guard closing == name, peek(">") else {
                        throw QueryXMLError(reason: "</\(closing)> closes <\(name)>")
                    }
                    index += 1
                    break
                } else if peek("<!--") {
                    try skip(past: "-->")
                } else if peek("<![CDATA[") {
                    index += 9
                    guard let end = find("]]>") else { throw QueryXMLError(reason: "unterminated CDATA section") }
                    text += bytes[index..<end]
                    index = end + 3
                } else if peek("<?") {
                    try skip(past: "?>")
                } else if peek("<!") {
                    throw QueryXMLError(reason: "declarations are not accepted inside elements")
                } else if peek("<") {
                    result.children.append(try element())
                } else if peek("&") {
                    text += try reference()
                } else {
                    text.append(bytes[index])
                    index += 1
                }
            }
            guard let decoded = String(bytes: text, encoding: .utf8) else {
                throw QueryXMLError(reason: "text of <\(name)> is not UTF-8")
            }
            result.text = decoded
            return result
        }

        mutating func name() throws(QueryXMLError) -> String {
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: " ")
                    || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                {
                    break
                }
                index += 1
            }
            guard index > start, let name = String(bytes: bytes[start..<index], encoding: .utf8) else {
                throw QueryXMLError(reason: "missing element name")
            }
            return name
        }

        func localName(_ name: String) -> String {
            name.split(separator: ":").last.map(String.init) ?? name
        }

        mutating func reference() throws(QueryXMLError) -> [UInt8] {
            guard let end = bytes[index...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                throw QueryXMLError(reason: "unterminated character reference")
            }
            let body = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
            index = end + 1
            switch body {
            case "lt": return Array("<".utf8)
            case "gt": return Array(">".utf8)
            case "amp": return Array("&".utf8)
            case "quot": return Array("\"".utf8)
            case "apos": return Array("'".utf8)
            default:
                var value: UInt32?
                if body.hasPrefix("#x") || body.hasPrefix("#X") {
                    value = UInt32(body.dropFirst(2), radix: 16)
                } else if body.hasPrefix("#") {
                    value = UInt32(body.dropFirst(), radix: 10)
                }
                guard let value, let scalar = Unicode.Scalar(value) else {
                    throw QueryXMLError(reason: "unknown entity &\(body);")
                }
                return Array(String(Character(scalar)).utf8)
            }
        }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        func peek(_ text: String) -> Bool {
            let pattern = Array(text.utf8)
            return index + pattern.count <= bytes.count && Array(bytes[index..<(index + pattern.count)]) == pattern
        }

        func find(_ text: String) -> Int? {
            let pattern = Array(text.utf8)
            guard bytes.count >= pattern.count else { return nil }
            var position = index
            while position + pattern.count <= bytes.count {
                if Array(bytes[position..<(position + pattern.count)]) == pattern { return position }
                position += 1
            }
            return nil
        }

        mutating func skip(past terminator: String) throws(QueryXMLError) {
            guard let end = find(terminator) else { throw QueryXMLError(reason: "missing '\(terminator)'") }
            index = end + terminator.utf8.count
        }
    }
}
