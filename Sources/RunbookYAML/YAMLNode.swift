/// 1-based line and column of where a node starts, as libyaml reports it
/// (columns count characters, not bytes).
struct Mark: Sendable, Hashable, CustomStringConvertible {
    var line: Int
    var column: Int

    var description: String { "line \(line), column \(column)" }
}

/// How a scalar was written. The style matters for typing: a quoted `"true"`
/// is text even where JSON values are read (`expect.json`).
enum ScalarStyle: Sendable, Equatable {
    case plain, singleQuoted, doubleQuoted, literal, folded

    var isPlain: Bool { self == .plain }
}

/// One node of a YAML document with the place it was written.
///
/// Aliases are resolved while the tree is built, by sharing: an alias becomes
/// the anchored node itself (arrays are copy-on-write, so nothing is copied).
/// `size` and `height` are memoised per subtree so the limits on alias
/// expansion and depth are checked in constant time per alias, however large
/// the document would grow if expanded.
struct YAMLNode: Sendable {
    enum Content: Sendable {
        case scalar(String, ScalarStyle)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    var content: Content
    /// The explicit tag as libyaml resolved it (`tag:yaml.org,2002:str` for
    /// `!!str`); nil when none was written.
    var tag: String?
    var mark: Mark
    /// Nodes in this subtree, every alias counted as the subtree it stands for.
    var size: Int
    /// Levels of collections in this subtree: 0 for a scalar, 1 for a flat
    /// sequence or mapping.
    var height: Int

    static let nullTexts: Set<String> = ["", "~", "null", "Null", "NULL"]

    /// A plain `~`, `null` or empty value (YAML 1.2 core schema null).
    var isNull: Bool {
        guard case .scalar(let text, .plain) = content, tag == nil else { return false }
        return Self.nullTexts.contains(text)
    }

    var scalarText: String? {
        if case .scalar(let text, _) = content { return text }
        return nil
    }

    /// How an error message names what it found instead of what it expected.
    var foundDescription: String {
        switch content {
        case .sequence: return "a sequence"
        case .mapping: return "a mapping"
        case .scalar(let text, _):
            if isNull { return "nothing" }
            return "'\(Self.abbreviated(text))'"
        }
    }

    /// One line, at most 40 characters, for quoting a value in a message.
    static func abbreviated(_ text: String) -> String {
        var line = text.prefix { $0 != "\n" && $0 != "\r" }
        var cut = line.count < text.count
        if line.count > 40 {
            line = line.prefix(37)
            cut = true
        }
        return cut ? line + "…" : String(line)
    }
}

struct YAMLPair: Sendable {
    var key: YAMLNode
    var value: YAMLNode

    /// Keys are scalars (the parser rejects others).
    var keyText: String { key.scalarText ?? "" }
}
