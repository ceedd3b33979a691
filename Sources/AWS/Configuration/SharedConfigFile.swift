import Foundation

/// One parsed AWS shared configuration file: `~/.aws/config` (`AWS_CONFIG_FILE`) or
/// `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`).
///
/// The format is the INI dialect botocore reads with Python's `configparser`
/// (`botocore/configloader.py`), with the strictness a tool that edits production keys
/// wants:
///
/// - `[section]` headers; `key = value` (or `key: value`) properties; keys are
///   case-insensitive (stored lower-cased, as `configparser` does); values are trimmed.
/// - Whole-line comments start with `#` or `;`. A `#` or `;` that follows whitespace
///   inside a value also starts a comment (`source_profile = default   # note`), as the
///   other SDKs' profile parsers allow. botocore would keep it as part of the value; no
///   access key, ARN, region or URL contains a space, so stripping it can only turn a
///   broken value into the intended one.
/// - An indented line continues the property above it. When that property's own value
///   is empty, the indented lines are its sub-properties (`[services NAME]` sections:
///   `kms =` then `  endpoint_url = http://…`; botocore's `_parse_nested`); otherwise
///   they are appended to the value on new lines.
/// - A property outside a section, a line that is neither a header nor a property, a
///   repeated section or a repeated key is an error naming `file:line`, as
///   `configparser` (strict mode) refuses them too.
public struct AWSSharedConfigFile: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// `~/.aws/config`: profiles are `[default]` and `[profile NAME]`.
        case config
        /// `~/.aws/credentials`: profiles are `[NAME]`, with no `profile ` prefix.
        case credentials
    }

    public struct Property: Sendable, Equatable {
        public var value: String
        /// 1-based line of the `key = value` line.
        public var line: Int
        /// `endpoint_url` under `kms =` in a `[services …]` section, keys as written.
        public var subProperties: [String: String]

        public init(value: String, line: Int, subProperties: [String: String] = [:]) {
            self.value = value
            self.line = line
            self.subProperties = subProperties
        }
    }

    public struct Section: Sendable, Equatable {
        /// The header's text between the brackets, trimmed: `default`, `profile admin`,
        /// `services local-endpoints`, `sso-session my-sso`.
        public var header: String
        public var line: Int
        /// Keys lower-cased.
        public var properties: [String: Property]

        public init(header: String, line: Int, properties: [String: Property] = [:]) {
            self.header = header
            self.line = line
            self.properties = properties
        }

        public subscript(key: String) -> Property? { properties[key.lowercased()] }
    }

    public let path: String
    public let kind: Kind
    /// In file order.
    public let sections: [Section]

    public init(path: String, kind: Kind, sections: [Section]) {
        self.path = path
        self.kind = kind
        self.sections = sections
    }

    /// The section of profile `name`: `[name]` in a credentials file; in a config file
    /// `[profile name]`, or `[default]` for `default` (`[profile default]` wins when
    /// both exist, as it is the more specific spelling).
    public func profileSection(named name: String) -> Section? {
        switch kind {
        case .credentials:
            return sections.first { $0.header == name }
        case .config:
            if let section = sections.first(where: { Self.profileName(ofConfigHeader: $0.header) == name }) {
                return section
            }
            return name == "default" ? sections.first { $0.header == "default" } : nil
        }
    }

    /// The `[services name]` section of a config file.
    public func servicesSection(named name: String) -> Section? {
        guard kind == .config else { return nil }
        return sections.first { Self.qualifiedName(of: $0.header, prefix: "services") == name }
    }

    /// The profile names this file defines.
    public var profileNames: [String] {
        switch kind {
        case .credentials:
            return sections.map(\.header)
        case .config:
            return sections.compactMap { section in
                section.header == "default" ? "default" : Self.profileName(ofConfigHeader: section.header)
            }
        }
    }

    /// `profile admin` → `admin`; `profile "my name"` → `my name`; anything else → nil.
    static func profileName(ofConfigHeader header: String) -> String? {
        qualifiedName(of: header, prefix: "profile")
    }

    private static func qualifiedName(of header: String, prefix: String) -> String? {
        guard header.hasPrefix(prefix) else { return nil }
        let rest = header.dropFirst(prefix.count)
        guard let first = rest.first, first == " " || first == "\t" else { return nil }
        var name = rest.trimmingCharacters(in: .whitespaces)
        if name.count >= 2, let quote = name.first, quote == "\"" || quote == "'", name.last == quote {
            name = String(name.dropFirst().dropLast())
        }
        return name.isEmpty ? nil : name
    }
}

/// A malformed shared configuration file, located at `file:line`.
public struct AWSSharedConfigFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var reason: String

    public init(path: String, line: Int, reason: String) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    /// `/root/.aws/config:12: expected 'name = value' or '[section]'`. The line's text is
    /// never quoted: a credentials file holds secrets on nearly every line.
    public var description: String { "\(path):\(line): \(reason)" }
}

extension AWSSharedConfigFile {
    /// Parses the text of a shared configuration file.
    public static func parse(_ text: String, path: String, kind: Kind) throws(AWSSharedConfigFileError) -> Self {
        var sections: [Section] = []
        var current: Section?
        var currentKey: String?
        /// Whether the current property's continuation lines are sub-properties.
        var collectingSubProperties = false

        func finishSection() {
            if let section = current { sections.append(section) }
            current = nil
            currentKey = nil
        }

        // "\r\n" is one Character in Swift, so it has to be named as a separator.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for (index, rawLine) in lines.enumerated() {
            let number = index + 1
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            if index == 0, line.first == "\u{FEFF}" { line = line.dropFirst() }

            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            let indented = line.first == " " || line.first == "\t"

            // Continuation of the property above.
            if indented, var section = current, let key = currentKey, var property = section.properties[key] {
                let content = stripInlineComment(trimmed)
                if collectingSubProperties {
                    guard let (name, value) = splitProperty(content, delimiters: ["="]), !name.isEmpty else {
                        throw AWSSharedConfigFileError(
                            path: path, line: number,
                            reason: "expected 'name = value' in the settings under '\(key)'")
                    }
                    guard property.subProperties[name] == nil else {
                        throw AWSSharedConfigFileError(
                            path: path, line: number, reason: "'\(name)' is set twice under '\(key)'")
                    }
                    property.subProperties[name] = value
                } else {
                    property.value += "\n" + content
                }
                section.properties[key] = property
                current = section
                continue
            }

            if trimmed.hasPrefix("[") {
                let header = stripInlineComment(trimmed)
                guard header.hasSuffix("]"), header.count >= 2 else {
                    throw AWSSharedConfigFileError(path: path, line: number, reason: "section header is missing ']'")
                }
                let name = header.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty else {
                    throw AWSSharedConfigFileError(path: path, line: number, reason: "empty section name '[]'")
                }
                finishSection()
                if let earlier = sections.first(where: { $0.header == name }) {
                    throw AWSSharedConfigFileError(
                        path: path, line: number,
                        reason: "section [\(name)] appears twice (first at line \(earlier.line))")
                }
                current = Section(header: name, line: number)
                continue
            }

            guard var section = current else {
                throw AWSSharedConfigFileError(
                    path: path, line: number, reason: "setting outside a section; add a [default] or [profile NAME] header above it")
            }
            guard let (name, value) = splitProperty(stripInlineComment(trimmed)) else {
                throw AWSSharedConfigFileError(
                    path: path, line: number, reason: "expected 'name = value' or '[section]'")
            }
            guard !name.isEmpty else {
                throw AWSSharedConfigFileError(path: path, line: number, reason: "setting without a name before '='")
            }
            let key = name.lowercased()
            if let earlier = section.properties[key] {
                throw AWSSharedConfigFileError(
                    path: path, line: number,
                    reason: "'\(key)' is set twice in [\(section.header)] (first at line \(earlier.line))")
            }
            section.properties[key] = Property(value: value, line: number)
            current = section
            currentKey = key
            collectingSubProperties = value.isEmpty
        }
        finishSection()
        return AWSSharedConfigFile(path: path, kind: kind, sections: sections)
    }

    /// `name = value` or `name: value` (`configparser`'s delimiters; sub-properties take
    /// only `=`, as botocore's `_parse_nested` does), split at the first delimiter, both
    /// sides trimmed. A name with a space in it is refused: no AWS setting has one, and
    /// `role_arn arn:aws:…` (a forgotten `=`) would otherwise become a setting named
    /// `role_arn arn`.
    private static func splitProperty(_ text: String, delimiters: Set<Character> = ["=", ":"]) -> (String, String)? {
        guard let delimiter = text.firstIndex(where: { delimiters.contains($0) }) else { return nil }
        let name = text[..<delimiter].trimmingCharacters(in: .whitespaces)
        guard !name.contains(where: \.isWhitespace) else { return nil }
        let value = text[text.index(after: delimiter)...].trimmingCharacters(in: .whitespaces)
        return (name, value)
    }

    /// Text up to a `#` or `;` that follows whitespace, trimmed.
    private static func stripInlineComment(_ text: String) -> String {
        var previous: Character = "x"
        for index in text.indices {
            let character = text[index]
            if (character == "#" || character == ";") && (previous == " " || previous == "\t") {
                return text[..<index].trimmingCharacters(in: .whitespaces)
            }
            previous = character
        }
        return text
    }
}
