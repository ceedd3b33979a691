/// Durations as runbooks spell them: a sequence of number+unit pairs, largest
/// unit first, as Go's `time.ParseDuration` and kubectl accept them:
/// `500ms`, `30s`, `1m`, `2h`, `1h30m`, `1.5h`. Units: ms, s, m, h, d.
public enum DurationText {
    private static let units: [(String, Double)] = [
        ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
    ]

    /// nil when the text is not a valid duration.
    public static func parse(_ text: String) -> Duration? {
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        var lastUnitSize = Double.infinity
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { $0.isASCII && $0.isLetter }
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            // Units must shrink left to right ("1h30m", not "30m1h" or "1m1m").
            guard unit.1 < lastUnitSize else { return nil }
            lastUnitSize = unit.1
            rest = rest.dropFirst(unitText.count)
            total += value * unit.1
        }
        guard total.isFinite, total < 366 * 86400 else { return nil }
        return .milliseconds(Int64((total * 1000).rounded()))
    }

    /// The shortest spelling: `30s`, `1m`, `1h30m`, `500ms`.
    public static func format(_ duration: Duration) -> String {
        var ms = duration.milliseconds
        if ms == 0 { return "0s" }
        var parts: [String] = []
        for (name, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] as [(String, Int64)]
        where ms >= size {
            parts.append("\(ms / size)\(name)")
            ms %= size
        }
        if ms > 0 { parts.append("\(ms)ms") }
        return parts.joined()
    }
}

extension Duration {
    /// Whole milliseconds (rounded toward zero).
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    public var seconds: Double { Double(milliseconds) / 1000 }
}
