/// "Did you mean …?" for names a user typed: runbook keys, step and check
/// names, enum values, CLI words. Pure and small, so every front end can use
/// the same rule.
public enum Spelling {
    /// The candidate closest to `word`, or nil when none is close enough to be
    /// a plausible typo.
    ///
    /// Comparison ignores case (`Backup` suggests `backup`). Distance is the
    /// optimal-string-alignment edit distance: insertions, deletions,
    /// substitutions and swaps of two neighbouring letters each cost 1, so the
    /// commonest typos (`backpu`, `nmae`) are one edit away. A suggestion is
    /// offered only within `allowedDistance(for:)` edits, and never when every
    /// letter would have to change (`foo` does not suggest `gcp`). Ties go to
    /// the earlier candidate, so callers list the likelier names first.
    public static func suggestion(for word: String, among candidates: [String]) -> String? {
        let typed = Array(word.lowercased().unicodeScalars)
        guard !typed.isEmpty else { return nil }
        let limit = allowedDistance(for: typed.count)
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let target = Array(candidate.lowercased().unicodeScalars)
            // Lengths alone bound the distance from below: skip hopeless pairs cheaply.
            guard abs(target.count - typed.count) <= limit else { continue }
            let d = distance(typed, target)
            guard d <= limit, d < max(typed.count, target.count) else { continue }
            if best == nil || d < best!.distance { best = (candidate, d) }
        }
        return best?.name
    }

    /// Edits allowed for a word of `length` characters: 1 up to 4 letters,
    /// 2 up to 8, 3 beyond. Short words get little slack because almost any
    /// short word is two edits from another.
    public static func allowedDistance(for length: Int) -> Int {
        switch length {
        case ...4: 1
        case ...8: 2
        default: 3
        }
    }

    /// Case-insensitive optimal-string-alignment distance between two words.
    public static func distance(_ a: String, _ b: String) -> Int {
        distance(Array(a.lowercased().unicodeScalars), Array(b.lowercased().unicodeScalars))
    }

    private static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        // Three rolling rows: the swap rule looks two rows back.
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var d = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d = min(d, previous2[j - 2] + 1)
                }
                current[j] = d
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
