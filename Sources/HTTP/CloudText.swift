/// Text a cloud sent back (an error message, an OAuth error description),
/// made fit for the one-line messages users and logs see.
public enum CloudText {
    /// `text` on one line: every control character (LF, CR, ESC, …) becomes a
    /// space, so a cloud's message can neither break the line nor drive the
    /// terminal; then cut to at most `limit` characters.
    public static func oneLine(_ text: String, limit: Int) -> String {
        let flat = String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 })
        return String(String(flat).prefix(limit))
    }
}
