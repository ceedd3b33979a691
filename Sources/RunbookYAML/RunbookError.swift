import PolicyChange

/// Why a runbook (or a `--require` file) could not be loaded: one line,
/// `FILE:LINE:COL: message`, with FILE as the user spelled the path, so
/// editors and CI problem matchers can jump to it.
///
/// The loader stops at the first problem: later errors are often
/// consequences of the first, and one precise message beats a wall of noise.
public struct RunbookError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as the user gave it.
    public var file: String
    /// Where in the file, when the problem has a place (nil for "file not
    /// found" or "file too large").
    public var location: SourceLocation?
    /// What is wrong and, where it helps, what to do.
    public var message: String

    public init(file: String, location: SourceLocation?, message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    /// `FILE:LINE:COL: message`, or `FILE: message` without a place.
    public var description: String {
        if let location { return "\(location): \(message)" }
        return "\(file): \(message)"
    }

    /// Every runbook error means "runbook or input invalid (nothing contacted)".
    public var exitStatus: ExitStatus { .invalidInput }
}

/// Bounds on what the loader accepts, so a hostile or broken file fails fast
/// with a clear message instead of exhausting memory or the stack.
public struct RunbookLimits: Sendable, Equatable {
    /// Largest runbook file, checked before parsing. Real runbooks are a few KiB.
    public var fileSize: Int
    /// Largest file a change operation may attach (a policy document; AWS caps
    /// key policies at 32 KiB, so 1 MiB is generous).
    public var attachedFileSize: Int
    /// Deepest nesting of mappings and sequences, counted after alias expansion.
    public var depth: Int
    /// Most aliases (`*name`) in one document.
    public var aliases: Int
    /// Most nodes that alias expansion may add (the "billion laughs" guard).
    public var aliasNodes: Int

    public init(
        fileSize: Int = 1 << 20, attachedFileSize: Int = 1 << 20, depth: Int = 64,
        aliases: Int = 100, aliasNodes: Int = 10_000
    ) {
        self.fileSize = fileSize
        self.attachedFileSize = attachedFileSize
        self.depth = depth
        self.aliases = aliases
        self.aliasNodes = aliasNodes
    }

    public static let `default` = RunbookLimits()
}
