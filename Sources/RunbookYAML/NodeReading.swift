import Foundation
import PolicyChange

/// A mapping whose keys have been checked against the names a schema allows.
/// A key whose value is null (`key:` or `key: ~`) counts as absent, so
/// "required" means "present with a value".
struct CheckedMapping {
    var node: YAMLNode
    var pairs: [YAMLPair]
    /// How messages name this mapping (`'aws'`, `'window'`), nil at the root.
    var name: String?

    func pair(_ key: String) -> YAMLPair? {
        pairs.first { $0.keyText == key && !$0.value.isNull }
    }

    func value(_ key: String) -> YAMLNode? { pair(key)?.value }

    func has(_ key: String) -> Bool { pair(key) != nil }
}

/// Typed reading of nodes, driven by the type the schema expects at each
/// place. YAML's implicit typing is deliberately not used: it is what turns
/// `country: no` into `false` in YAML 1.1 (the "Norway problem") and
/// `mode: 0755` into 493. Here:
///
/// - a string field takes any scalar as the text written (`on`, `yes`,
///   `0755`, `1e3` stay strings), with `${NAME}` substituted;
/// - a boolean is exactly `true`/`false` (also `True`, `TRUE`, `False`,
///   `FALSE`: YAML 1.2's core schema), never `yes/no/on/off/y/n`, and never
///   quoted;
/// - an integer is plain decimal digits with an optional sign: no `0x`, `0o`,
///   `_` separators, exponents, and never quoted;
/// - a null or empty value where a value is required is "missing".
///
/// Booleans and integers are not substituted: `${…}` is for strings (and the
/// strings that hold durations, timestamps, names and enum values).
extension RunbookDecoder {
    func error(at mark: Mark, _ message: String) -> RunbookError {
        RunbookError(file: file, location: location(mark), message: message)
    }

    func error(at node: YAMLNode, _ message: String) -> RunbookError { error(at: node.mark, message) }

    func location(_ mark: Mark) -> SourceLocation {
        SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    /// `(did you mean 'x'?)` or `(valid steps: a, b, c)`.
    static func hint(for word: String, among names: [String], listing kind: String) -> String {
        if let suggestion = Spelling.suggestion(for: word, among: names) {
            return "(did you mean '\(suggestion)'?)"
        }
        return "(valid \(kind): \(names.joined(separator: ", ")))"
    }

    // MARK: Shapes

    func mapping(_ node: YAMLNode, for key: String?, keys allowed: [String]) throws(RunbookError) -> CheckedMapping {
        guard case .mapping(let pairs) = node.content else {
            throw error(at: node, "expected a mapping\(Self.phrase(key)), found \(node.foundDescription)")
        }
        for pair in pairs where !allowed.contains(pair.keyText) {
            let place = key.map { " in '\($0)'" } ?? ""
            throw error(
                at: pair.key,
                "unknown key '\(YAMLNode.abbreviated(pair.keyText))'\(place) \(Self.hint(for: pair.keyText, among: allowed, listing: "keys"))"
            )
        }
        return CheckedMapping(node: node, pairs: pairs, name: key)
    }

    /// A mapping, or an empty one for a null value (`- approve:`).
    func optionalMapping(_ node: YAMLNode?, for key: String?, keys allowed: [String]) throws(RunbookError) -> CheckedMapping? {
        guard let node, !node.isNull else { return nil }
        return try mapping(node, for: key, keys: allowed)
    }

    func required(_ key: String, in m: CheckedMapping) throws(RunbookError) -> YAMLNode {
        guard let value = m.value(key) else {
            let place = m.name.map { " in '\($0)'" } ?? ""
            throw error(at: m.node, "missing required key '\(key)'\(place)")
        }
        return value
    }

    func sequence(_ node: YAMLNode, for key: String, nonEmpty: Bool = true) throws(RunbookError) -> [YAMLNode] {
        guard case .sequence(let items) = node.content else {
            throw error(at: node, "expected a sequence\(Self.phrase(key)), found \(node.foundDescription)")
        }
        if nonEmpty, items.isEmpty { throw error(at: node, "'\(key)' is empty; list at least one item") }
        return items
    }

    static func phrase(_ key: String?) -> String { key.map { " for '\($0)'" } ?? "" }

    // MARK: Scalars

    /// Any scalar as its text, variables substituted.
    func string(_ node: YAMLNode, for key: String?) throws(RunbookError) -> String {
        guard case .scalar(let text, _) = node.content, !node.isNull else {
            throw error(at: node, "expected a string\(Self.phrase(key)), found \(node.foundDescription)")
        }
        return try substitute(text, at: node)
    }

    func substitute(_ text: String, at node: YAMLNode) throws(RunbookError) -> String {
        switch variables.substitute(text) {
        case .success(let value): return value
        case .failure(let failure): throw error(at: node, VariableResolver.message(for: failure))
        }
    }

    /// A string that must not be empty once substituted (identifiers, paths).
    func nonEmptyString(_ node: YAMLNode, for key: String) throws(RunbookError) -> String {
        let value = try string(node, for: key)
        guard value.utf8.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else {
            throw error(at: node, "'\(key)' is empty")
        }
        return value
    }

    func stringList(_ node: YAMLNode, for key: String) throws(RunbookError) -> [String] {
        var result: [String] = []
        for item in try sequence(node, for: key) {
            guard case .scalar = item.content, !item.isNull else {
                throw error(at: item, "expected a string in '\(key)', found \(item.foundDescription)")
            }
            result.append(try nonEmptyString(item, for: key))
        }
        return result
    }

    /// Free-form `name: value` mappings (headers, endpoints, environment).
    /// Keys are names and are taken as written; values are substituted.
    func stringMap(_ node: YAMLNode, for key: String, validKey: (String) -> String?) throws(RunbookError) -> [String: String] {
        guard case .mapping(let pairs) = node.content else {
            throw error(at: node, "expected a mapping\(Self.phrase(key)), found \(node.foundDescription)")
        }
        var result: [String: String] = [:]
        for pair in pairs {
            if let problem = validKey(pair.keyText) { throw error(at: pair.key, problem) }
            guard case .scalar = pair.value.content, !pair.value.isNull else {
                throw error(at: pair.value, "expected a string for '\(pair.keyText)', found \(pair.value.foundDescription)")
            }
            result[pair.keyText] = try string(pair.value, for: pair.keyText)
        }
        return result
    }

    static let trueTexts: Set<String> = ["true", "True", "TRUE"]
    static let falseTexts: Set<String> = ["false", "False", "FALSE"]
    /// YAML 1.1 booleans that YAML 1.2 (and this loader) reads as text.
    static let yaml11Booleans: Set<String> = [
        "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
    ]

    func bool(_ node: YAMLNode, for key: String) throws(RunbookError) -> Bool {
        if case .scalar(let text, let style) = node.content, style.isPlain, node.tag == nil {
            if Self.trueTexts.contains(text) { return true }
            if Self.falseTexts.contains(text) { return false }
        }
        var message = "expected a boolean (true or false) for '\(key)', found \(quotedDescription(node))"
        if let text = node.scalarText, Self.yaml11Booleans.contains(text) {
            message += " (yes/no/on/off are not booleans in a runbook)"
        }
        throw error(at: node, message)
    }

    func int(_ node: YAMLNode, for key: String, atLeast minimum: Int, atMost maximum: Int = Int.max)
        throws(RunbookError) -> Int
    {
        guard case .scalar(let text, let style) = node.content, style.isPlain, node.tag == nil,
            Self.isDecimalInteger(text)
        else {
            throw error(at: node, "expected an integer for '\(key)', found \(quotedDescription(node))")
        }
        guard let value = Int(text), value >= minimum, value <= maximum else {
            let range = maximum == Int.max ? "at least \(minimum)" : "from \(minimum) to \(maximum)"
            throw error(at: node, "'\(key)' must be \(range), found \(text)")
        }
        return value
    }

    static func isDecimalInteger(_ text: String) -> Bool {
        var digits = Substring(text)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    /// "found '2'" is confusing when the '2' was quoted: say why it is text.
    func quotedDescription(_ node: YAMLNode) -> String {
        if case .scalar(let text, let style) = node.content, !style.isPlain || node.tag != nil, !node.isNull {
            return "the string '\(YAMLNode.abbreviated(text))'"
        }
        return node.foundDescription
    }

    /// `30s`, `5m`, `1h30m`, `500ms` (`DurationText`); must be longer than zero.
    func duration(_ node: YAMLNode, for key: String) throws(RunbookError) -> Duration {
        guard case .scalar = node.content, !node.isNull else {
            throw error(at: node, "expected a duration for '\(key)', found \(node.foundDescription)")
        }
        let text = try string(node, for: key)
        guard let value = DurationText.parse(text) else {
            throw error(at: node, "invalid duration '\(YAMLNode.abbreviated(text))' (use forms like 30s, 5m, 1h30m)")
        }
        guard value > .zero else { throw error(at: node, "'\(key)' must be longer than zero") }
        return value
    }

    func timestamp(_ node: YAMLNode, for key: String) throws(RunbookError) -> Date {
        guard case .scalar = node.content, !node.isNull else {
            throw error(at: node, "expected a timestamp for '\(key)', found \(node.foundDescription)")
        }
        let text = try string(node, for: key)
        switch Timestamp.parse(text) {
        case .success(let date):
            return date
        case .failure(.missingZone):
            throw error(
                at: node,
                "timestamp '\(YAMLNode.abbreviated(text))' has no time zone (add Z for UTC or an offset such as +01:00)")
        case .failure:
            throw error(
                at: node,
                "invalid timestamp '\(YAMLNode.abbreviated(text))' (use RFC 3339 with a time zone, e.g. 2026-11-28T02:00:00Z)")
        }
    }

    /// One of a fixed set of words, with a did-you-mean.
    func choice<Value: RawRepresentable & CaseIterable>(_ node: YAMLNode, for key: String, as type: Value.Type)
        throws(RunbookError) -> Value where Value.RawValue == String
    {
        let text = try string(node, for: key)
        if let value = Value(rawValue: text) { return value }
        let names = Value.allCases.map(\.rawValue)
        throw error(
            at: node,
            "unknown value '\(YAMLNode.abbreviated(text))' for '\(key)' \(Self.hint(for: text, among: names, listing: "values"))")
    }
}
