import Foundation
import PolicyChange

/// Reads runbooks (DESIGN §3) and `--require` files into the core model,
/// with one-line located errors (`runbook.yaml:14:7: unknown step 'backpu'
/// (did you mean 'backup'?)`).
///
/// Everything the loader depends on is handed in: `--set` variables and the
/// environment for `${NAME}`, and the limits. It reads the runbook and the
/// files its change operations name, and nothing else; the result is fully
/// resolved, so the core never does I/O.
public struct RunbookLoader: Sendable {
    public var variables: [String: String]
    public var environment: [String: String]
    public var limits: RunbookLimits

    /// - Parameters:
    ///   - variables: `--set NAME=value` pairs; they win over the environment.
    ///   - environment: usually `ProcessInfo.processInfo.environment`, passed
    ///     in by the CLI so tests control what a runbook can see.
    public init(variables: [String: String] = [:], environment: [String: String] = [:], limits: RunbookLimits = .default) {
        self.variables = variables
        self.environment = environment
        self.limits = limits
    }

    /// Reads and checks the runbook at `path` (as the user typed it; messages
    /// use it as given, `Runbook.source` gets the absolute path).
    public func load(path: String) throws(RunbookError) -> Runbook {
        try load(contents: try read(path), path: path)
    }

    /// Checks a runbook already in memory; `path` names it in messages and
    /// anchors relative paths (its folder), but is not read.
    public func load(contents: Data, path: String) throws(RunbookError) -> Runbook {
        let decoder = decoder(for: path)
        let root = try YAMLParser(file: path, limits: limits).parse(contents)
        var runbook = try decoder.decodeRunbook(root)
        runbook.source = FileAccess.absolute(path, in: FileAccess.currentDirectory)
        return runbook
    }

    /// Reads a `--require` file for `policy-change validate`: a YAML mapping
    /// whose only key is `require:`, a list in the runbook's form.
    public func loadRequirements(path: String) throws(RunbookError) -> [Requirement] {
        try loadRequirements(contents: try read(path), path: path)
    }

    public func loadRequirements(contents: Data, path: String) throws(RunbookError) -> [Requirement] {
        let root = try YAMLParser(file: path, limits: limits).parse(contents)
        return try decoder(for: path).decodeRequirementsFile(root)
    }

    private func decoder(for path: String) -> RunbookDecoder {
        let absolute = FileAccess.absolute(path, in: FileAccess.currentDirectory)
        return RunbookDecoder(
            file: path,
            folder: (absolute as NSString).deletingLastPathComponent,
            variables: VariableResolver(variables: variables, environment: environment),
            limits: limits)
    }

    private func read(_ path: String) throws(RunbookError) -> Data {
        switch FileAccess.contents(of: path, limit: limits.fileSize) {
        case .success(let data): return data
        case .failure(.notFound): throw RunbookError(file: path, location: nil, message: "file not found")
        case .failure(.isDirectory): throw RunbookError(file: path, location: nil, message: "is a folder, not a runbook file")
        case .failure(.tooLarge):
            throw RunbookError(file: path, location: nil, message: YAMLParser.tooLargeMessage(limits.fileSize))
        case .failure(.unreadable(let reason)): throw RunbookError(file: path, location: nil, message: "cannot read: \(reason)")
        }
    }
}
