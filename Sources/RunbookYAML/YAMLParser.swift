import CLibYAML
import Foundation
import PolicyChange

/// libyaml's event API → `YAMLNode` tree, with the limits a tool that reads
/// untrusted files needs (DESIGN §9 "Bad input"): size, encoding, depth,
/// aliases, one document. libyaml's own document loader has none of these
/// and drops the marks of scalars, so we build the tree ourselves.
struct YAMLParser {
    /// The file as the user gave it, for messages.
    var file: String
    var limits: RunbookLimits

    /// The document's root node, or nil when the stream holds no document.
    func parse(_ data: Data) throws(RunbookError) -> YAMLNode? {
        guard data.count <= limits.fileSize else {
            throw RunbookError(file: file, location: nil, message: Self.tooLargeMessage(limits.fileSize))
        }
        let result: Result<YAMLNode?, RunbookError> = data.withUnsafeBytes { bytes in
            Result { () throws(RunbookError) -> YAMLNode? in try parse(bytes: bytes) }
        }
        return try result.get()
    }

    static func tooLargeMessage(_ limit: Int) -> String {
        "the file is larger than \(formatSize(limit)), the limit for a runbook"
    }

    static func formatSize(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }

    private func error(_ mark: Mark, _ message: String) -> RunbookError {
        RunbookError(file: file, location: SourceLocation(file: file, line: mark.line, column: mark.column), message: message)
    }

    private func parse(bytes: UnsafeRawBufferPointer) throws(RunbookError) -> YAMLNode? {
        try checkEncoding(bytes)
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), !bytes.isEmpty else { return nil }

        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            throw RunbookError(file: file, location: nil, message: "out of memory while starting the YAML parser")
        }
        defer { yaml_parser_delete(parser) }
        yaml_parser_set_input_string(parser, base, bytes.count)

        var builder = TreeBuilder(parser: self)
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(parser, &event) == 1 else {
                throw syntaxError(parser.pointee, bytes: bytes)
            }
            // Runs at the end of every iteration, on break and on throw alike.
            defer { yaml_event_delete(&event) }
            if try builder.handle(event) { break }
        }
        return builder.root
    }

    // MARK: Encoding

    /// YAML allows UTF-16 and UTF-32 too, but a runbook is UTF-8: one
    /// encoding means one way to read `${VAR}`s, paths and marks. Checked
    /// before libyaml so the message can say where the bad byte is.
    private func checkEncoding(_ bytes: UnsafeRawBufferPointer) throws(RunbookError) {
        if bytes.count >= 2, (bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF) {
            throw error(Mark(line: 1, column: 1), "the file is UTF-16, not UTF-8; save it as UTF-8")
        }
        guard let offset = Self.firstInvalidUTF8(bytes) else { return }
        let hex = String(bytes[offset], radix: 16, uppercase: true)
        throw error(
            Self.mark(atByte: offset, in: bytes),
            "the file is not valid UTF-8 (byte 0x\(hex.count == 1 ? "0" + hex : hex)); save it as UTF-8")
    }

    /// Offset of the first byte that does not belong to a well-formed UTF-8
    /// sequence (no overlongs, no surrogates, nothing above U+10FFFF).
    static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch b {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            guard i + length <= n else { return i }
            guard (low...high).contains(bytes[i + 1]) else { return i }
            for k in 2..<length where !(0x80...0xBF).contains(bytes[i + k]) { return i }
            i += length
        }
        return nil
    }

    /// Line and column (in characters) of a byte offset, counting line breaks
    /// as libyaml does for the ones runbooks contain (`\n`, `\r\n`, `\r`).
    static func mark(atByte offset: Int, in bytes: UnsafeRawBufferPointer) -> Mark {
        var line = 1
        var column = 1
        var i = 0
        let end = min(offset, bytes.count)
        while i < end {
            let b = bytes[i]
            if b == 0x0A || (b == 0x0D && (i + 1 >= bytes.count || bytes[i + 1] != 0x0A)) {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80, b != 0x0D {
                column += 1
            }
            i += 1
        }
        return Mark(line: line, column: column)
    }

    // MARK: libyaml errors

    private func syntaxError(_ p: yaml_parser_t, bytes: UnsafeRawBufferPointer) -> RunbookError {
        let problem = p.problem.map { String(cString: $0) } ?? "unknown problem"
        switch p.error {
        case YAML_MEMORY_ERROR:
            return RunbookError(file: file, location: nil, message: "out of memory while parsing YAML")
        case YAML_READER_ERROR:
            // Reader errors carry a byte offset, not a mark.
            let mark = Self.mark(atByte: Int(p.problem_offset), in: bytes)
            var message = "YAML syntax error: \(problem)"
            if p.problem_value >= 0 {
                let hex = String(p.problem_value, radix: 16, uppercase: true)
                message += " (character U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex))"
            }
            return error(mark, message)
        default:
            var message = "YAML syntax error: \(problem)"
            if let context = p.context.map({ String(cString: $0) }) {
                let m = Self.mark(p.context_mark)
                message += " (\(context) that started at \(m))"
            }
            // `{` and `}` end a value inside `{ … }` and `[ … ]`, so an
            // unquoted `${VAR}` there is the likeliest cause.
            let problemLine = Int(p.problem_mark.line)
            if Self.lineContains(problemLine, "${", in: bytes) || Self.lineContains(Int(p.context_mark.line), "${", in: bytes) {
                message += "; quote values that contain ${…} inside { } or [ ]"
            }
            return error(Self.mark(p.problem_mark), message)
        }
    }

    /// Whether 0-based line `line` of the input contains `needle`.
    static func lineContains(_ line: Int, _ needle: String, in bytes: UnsafeRawBufferPointer) -> Bool {
        var current = 0
        var start = 0
        for i in 0...bytes.count {
            guard i == bytes.count || bytes[i] == 0x0A else { continue }
            if current == line {
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self).contains(needle)
            }
            current += 1
            start = i + 1
        }
        return false
    }

    static func mark(_ m: yaml_mark_t) -> Mark {
        Mark(line: Int(m.line) + 1, column: Int(m.column) + 1)
    }

    // MARK: Tree building

    /// Turns the event stream into one tree. Collections under construction
    /// live on an explicit stack (never recursion), so depth is bounded by
    /// the limit, not by the thread's stack.
    private struct TreeBuilder {
        let parser: YAMLParser
        var root: YAMLNode?
        var stack: [Frame] = []
        var anchors: [String: YAMLNode] = [:]
        var documents = 0
        var aliasCount = 0
        var aliasNodes = 0

        init(parser: YAMLParser) { self.parser = parser }

        struct Frame {
            var isMapping: Bool
            var mark: Mark
            var tag: String?
            var anchor: String?
            var items: [YAMLNode] = []
            var pairs: [YAMLPair] = []
            var pendingKey: YAMLNode?
            /// Index into `pairs` by key text, built only once a mapping is
            /// large: most runbook mappings have a handful of keys, where a
            /// linear scan is cheaper than hashing.
            var index: [String: Int]?
            var size = 1
            var height = 1

            static let indexThreshold = 16

            /// Where `text` was first used as a key in this mapping, if it was.
            func firstKey(_ text: String) -> Mark? {
                if let index { return index[text].map { pairs[$0].key.mark } }
                return pairs.first { $0.keyText == text }?.key.mark
            }

            mutating func indexLastPair() {
                if index == nil {
                    guard pairs.count >= Self.indexThreshold else { return }
                    index = Dictionary(pairs.indices.map { (pairs[$0].keyText, $0) }, uniquingKeysWith: { first, _ in first })
                } else {
                    index![pairs[pairs.count - 1].keyText] = pairs.count - 1
                }
            }
        }

        var limits: RunbookLimits { parser.limits }

        /// Handles one event; true at the end of the stream.
        mutating func handle(_ event: yaml_event_t) throws(RunbookError) -> Bool {
            let mark = YAMLParser.mark(event.start_mark)
            switch event.type {
            case YAML_STREAM_START_EVENT, YAML_DOCUMENT_END_EVENT:
                return false
            case YAML_STREAM_END_EVENT:
                return true
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw parser.error(
                        mark, "the file holds more than one YAML document; a runbook is exactly one (remove the second '---')")
                }
                return false
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                let style: ScalarStyle =
                    switch s.style {
                    case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
                    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
                    case YAML_LITERAL_SCALAR_STYLE: .literal
                    case YAML_FOLDED_SCALAR_STYLE: .folded
                    default: .plain
                    }
                let tag = try checkedTag(s.tag, allowed: "tag:yaml.org,2002:str", mark: mark)
                let node = YAMLNode(content: .scalar(text, style), tag: tag, mark: mark, size: 1, height: 0)
                if let anchor = s.anchor { anchors[String(cString: anchor)] = node }
                try add(node)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                guard stack.count < limits.depth else {
                    throw parser.error(mark, "the document nests deeper than \(limits.depth) levels")
                }
                let (rawTag, rawAnchor) =
                    isMapping
                    ? (event.data.mapping_start.tag, event.data.mapping_start.anchor)
                    : (event.data.sequence_start.tag, event.data.sequence_start.anchor)
                let tag = try checkedTag(
                    rawTag, allowed: isMapping ? "tag:yaml.org,2002:map" : "tag:yaml.org,2002:seq", mark: mark)
                stack.append(
                    Frame(isMapping: isMapping, mark: mark, tag: tag, anchor: rawAnchor.map { String(cString: $0) }))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let frame = stack.removeLast()
                let content: YAMLNode.Content = frame.isMapping ? .mapping(frame.pairs) : .sequence(frame.items)
                let node = YAMLNode(content: content, tag: frame.tag, mark: frame.mark, size: frame.size, height: frame.height)
                if let anchor = frame.anchor { anchors[anchor] = node }
                try add(node)
            case YAML_ALIAS_EVENT:
                let name = String(cString: event.data.alias.anchor)
                // An anchor is registered when its node is complete, so an
                // alias inside its own anchor (a cycle) is unknown here.
                guard let target = anchors[name] else {
                    throw parser.error(mark, "unknown alias '*\(name)' (an alias must come after its anchor's complete value)")
                }
                aliasCount += 1
                guard aliasCount <= limits.aliases else {
                    throw parser.error(mark, "the document uses more than \(limits.aliases) aliases")
                }
                aliasNodes += target.size
                guard aliasNodes <= limits.aliasNodes else {
                    throw parser.error(
                        mark,
                        "aliases expand to more than \(limits.aliasNodes) nodes (a \"billion laughs\" document?)")
                }
                guard stack.count + target.height <= limits.depth else {
                    throw parser.error(mark, "the document nests deeper than \(limits.depth) levels")
                }
                try add(target)
            default:
                break
            }
            return false
        }

        /// Tags change how a value is read, and a runbook has no use for
        /// `!!binary`, `!!set` or application tags, so only the standard tag
        /// of the node's own kind (e.g. `!!str` on a scalar) is accepted.
        private func checkedTag(_ raw: UnsafeMutablePointer<UInt8>?, allowed: String, mark: Mark) throws(RunbookError)
            -> String?
        {
            guard let raw else { return nil }
            let tag = String(cString: raw)
            if tag == allowed || tag == "!" { return tag == "!" ? nil : tag }
            let shown = tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst(18) : tag
            throw parser.error(mark, "unsupported tag '\(shown)' (a runbook uses plain YAML values; quote a value to make it a string)")
        }

        private mutating func add(_ node: YAMLNode) throws(RunbookError) {
            guard !stack.isEmpty else {
                root = node
                return
            }
            let top = stack.count - 1
            stack[top].size += node.size
            stack[top].height = max(stack[top].height, node.height + 1)
            guard stack[top].isMapping else {
                stack[top].items.append(node)
                return
            }
            guard let key = stack[top].pendingKey else {
                guard case .scalar(let text, let style) = node.content else {
                    throw parser.error(node.mark, "a mapping key must be a plain string, found \(node.foundDescription)")
                }
                if text == "<<", style == .plain {
                    throw parser.error(node.mark, "merge keys ('<<') are not supported; write the keys out")
                }
                if let first = stack[top].firstKey(text) {
                    throw parser.error(node.mark, "duplicate key '\(YAMLNode.abbreviated(text))' (first defined at \(first))")
                }
                stack[top].pendingKey = node
                return
            }
            stack[top].pairs.append(YAMLPair(key: key, value: node))
            stack[top].pendingKey = nil
            stack[top].indexLastPair()
        }
    }
}
