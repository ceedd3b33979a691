/// An IAM action pattern (`kms:ReEncrypt*`, `kms:Get?eyPolicy`): `*` matches
/// any run of characters, `?` exactly one, and letters match case-insensitively,
/// as IAM matches action names.
public struct ActionPattern: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    private let scalars: [Unicode.Scalar]

    public init(_ text: String) {
        self.text = text
        scalars = Array(text.lowercased().unicodeScalars)
    }

    public var description: String { text }

    /// Whether the pattern holds `*` or `?`.
    public var hasWildcard: Bool { scalars.contains { $0 == "*" || $0 == "?" } }

    public func matches(_ action: String) -> Bool {
        matches(lowercased: Array(action.lowercased().unicodeScalars))
    }

    /// `subject` already lowercased (the catalogue keeps its names so, to match without allocating).
    func matches(lowercased subject: [Unicode.Scalar]) -> Bool {
        Glob.matches(pattern: scalars, subject: subject)
    }

    /// The catalogue actions the pattern stands for (`kms:ReEncrypt*` →
    /// `kms:ReEncryptFrom`, `kms:ReEncryptTo`), in catalogue order.
    public func expansion(in catalogue: [String] = KMSActionCatalogue.actions) -> [String] {
        catalogue.filter(matches)
    }
}

/// `*` (any run) and `?` (one character) matching, as IAM's actions and
/// `StringLike` conditions use it. Iterative with one backtrack point: linear
/// for the patterns IAM allows.
enum Glob {
    static func matches(pattern: [Unicode.Scalar], subject: [Unicode.Scalar]) -> Bool {
        var p = 0, s = 0
        var star: Int? = nil, resume = 0
        while s < subject.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == subject[s] {
                p += 1
                s += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                resume = s
                p += 1
            } else if let star {
                p = star + 1
                resume += 1
                s = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
