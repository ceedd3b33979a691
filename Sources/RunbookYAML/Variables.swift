/// `${NAME}` substitution in runbook strings (DESIGN §3).
///
/// Values come from `--set NAME=value` first, then the environment; both are
/// handed in by the caller, never read from the process here, so tests and
/// the CLI decide exactly what a runbook can see. Substitution is one pass:
/// a value that itself contains `${…}` is taken literally, so a secret can
/// never expand into something else. `$${` writes a literal `${`; a `$` not
/// followed by `{` is just a dollar sign (`./notify.sh "$HOME"` passes through
/// for the shell). `${NAME:-default}` uses `default` when NAME is unset or
/// empty, as a POSIX shell does (the default is taken literally).
///
/// Substituted values become part of the runbook, and a `command` step's
/// `run` text may be journaled: pass a secret to a command through its
/// `environment:` (`TOKEN: ${TOKEN}`, referenced as `$TOKEN` in `run`),
/// whose values are never journaled. Keys of mappings are names and are
/// never substituted; neither are booleans and integers.
struct VariableResolver: Sendable {
    var variables: [String: String]
    var environment: [String: String]

    enum Failure: Error, Equatable {
        case undefined(String)
        /// The text between `${` and `}` is not a name.
        case invalidName(String)
        case unterminated
    }

    /// Names are `[A-Za-z_][A-Za-z0-9_]*`, as a shell's.
    static func isValidName<S: Collection>(_ name: S) -> Bool where S.Element == UInt8 {
        guard let first = name.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || (0x30...0x39).contains($0) }
    }

    private static func isLetter(_ b: UInt8) -> Bool { (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }

    func value(of name: String) -> String? { variables[name] ?? environment[name] }

    func substitute(_ text: String) -> Result<String, Failure> {
        // Nearly every string has no `$`: leave those untouched and unallocated.
        guard text.utf8.contains(UInt8(ascii: "$")) else { return .success(text) }
        let bytes = Array(text.utf8)
        let dollar = UInt8(ascii: "$")
        let open = UInt8(ascii: "{")
        let close = UInt8(ascii: "}")
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b == dollar, i + 1 < bytes.count else {
                out.append(b)
                i += 1
                continue
            }
            if bytes[i + 1] == dollar, i + 2 < bytes.count, bytes[i + 2] == open {
                out.append(contentsOf: [dollar, open])
                i += 3
                continue
            }
            guard bytes[i + 1] == open else {
                out.append(b)
                i += 1
                continue
            }
            guard let end = bytes[(i + 2)...].firstIndex(of: close) else { return .failure(.unterminated) }
            var name = bytes[(i + 2)..<end]
            var fallback: ArraySlice<UInt8>?
            if let colon = name.firstIndex(of: UInt8(ascii: ":")), colon + 1 < end, bytes[colon + 1] == UInt8(ascii: "-") {
                fallback = bytes[(colon + 2)..<end]
                name = bytes[(i + 2)..<colon]
            }
            let nameText = String(decoding: name, as: UTF8.self)
            guard Self.isValidName(name) else { return .failure(.invalidName(nameText)) }
            if let value = value(of: nameText), !(fallback != nil && value.isEmpty) {
                out.append(contentsOf: value.utf8)
            } else if let fallback {
                out.append(contentsOf: fallback)
            } else {
                return .failure(.undefined(nameText))
            }
            i = end + 1
        }
        return .success(String(decoding: out, as: UTF8.self))
    }

    static func message(for failure: Failure) -> String {
        switch failure {
        case .undefined(let name):
            "undefined variable '\(name)' (pass --set \(name)=…, set it in the environment, or give a default: ${\(name):-…})"
        case .invalidName(let name):
            "invalid variable name '${\(YAMLNode.abbreviated(name))}' (names are letters, digits and _, not starting with a digit; write $${ for a literal ${)"
        case .unterminated:
            "unterminated '${' (close it with '}', or write $${ for a literal ${)"
        }
    }
}
