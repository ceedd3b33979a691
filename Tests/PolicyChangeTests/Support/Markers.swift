import PolicyChange

/// Positions marked in a test input with 1️⃣ 2️⃣ …, as swift-format's tests do:
/// the markers are removed and their line:column (columns in characters, as
/// the parser counts them) returned.
struct MarkedText {
    static let markers = ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣"]

    var text: String
    var positions: [String: JSONPosition]

    init(_ marked: String) {
        var rest = Substring(marked)
        var clean = ""
        var positions: [String: JSONPosition] = [:]
        while true {
            let found = Self.markers.compactMap { marker in rest.range(of: marker).map { (marker, $0) } }
                .min { $0.1.lowerBound < $1.1.lowerBound }
            guard let (marker, range) = found else { break }
            clean += rest[..<range.lowerBound]
            let lines = clean.split(separator: "\n", omittingEmptySubsequences: false)
            positions[marker] = JSONPosition(line: lines.count, column: (lines.last?.unicodeScalars.count ?? 0) + 1)
            rest = rest[range.upperBound...]
        }
        text = clean + rest
        self.positions = positions
    }

    subscript(marker: String) -> JSONPosition {
        guard let position = positions[marker] else { fatalError("no marker \(marker) in the text") }
        return position
    }
}
