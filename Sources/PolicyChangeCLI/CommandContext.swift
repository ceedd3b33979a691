import AWS
import Azure
import GCP
import Foundation
import HTTP
import Logging
import PolicyChange
import RunStore
import RunbookYAML

/// What a cloud adapter gives a run: the provider, its audit log, its dialect.
public struct CloudConnection: Sendable {
    public var provider: any KeyPolicyProvider
    public var auditLog: (any AuditLogSource)?
    public var dialect: any PolicyDialect
    public var remoteValidator: (any RemotePolicyValidator)?

    public init(
        provider: any KeyPolicyProvider, auditLog: (any AuditLogSource)?, dialect: any PolicyDialect,
        remoteValidator: (any RemotePolicyValidator)? = nil
    ) {
        self.provider = provider
        self.auditLog = auditLog
        self.dialect = dialect
        self.remoteValidator = remoteValidator
    }
}

/// What adapters are built from.
public struct AdapterContext: Sendable {
    /// HTTPS (and loopback HTTP) for the clouds' APIs.
    public var transport: any HTTPTransport
    /// A transport that may also reach the given link-local metadata hosts over
    /// plain HTTP; for credential providers only.
    public var metadataTransport: @Sendable (Set<String>) throws -> any HTTPTransport
    public var environment: [String: String]
    public var logger: Logger

    public init(
        transport: any HTTPTransport, metadataTransport: @escaping @Sendable (Set<String>) throws -> any HTTPTransport,
        environment: [String: String], logger: Logger
    ) {
        self.transport = transport
        self.metadataTransport = metadataTransport
        self.environment = environment
        self.logger = logger
    }
}

/// Builds the connection for a runbook's target. The product's factory knows
/// the cloud adapters; the crash-test harness swaps in a file-backed one.
public protocol ProviderFactory: Sendable {
    func connect(to target: Target, context: AdapterContext) throws -> CloudConnection
}

/// Which factory commands use; a task-local so a test harness can set its own
/// around `PolicyChangeCommand.main()` without globals.
public enum ProviderRegistry {
    @TaskLocal public static var factory: any ProviderFactory = CloudProviderFactory()
    /// Wraps each run's storage; identity in the product. The crash-test
    /// harness uses it to SIGKILL itself right after a chosen journal event.
    @TaskLocal public static var storageDecorator: @Sendable (any RunStorage) -> any RunStorage = { $0 }
}

/// The clouds this build has adapters for.
public struct CloudProviderFactory: ProviderFactory {
    public init() {}

    public func connect(to target: Target, context: AdapterContext) throws -> CloudConnection {
        switch target {
        case .aws(let aws):
            let environment = AWSEnvironment(
                environment: context.environment,
                homeDirectory: context.environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path)
            let connection: AWSConnection
            do {
                connection = try AWSConnection.make(
                    target: aws, environment: environment, transport: context.transport,
                    metadataTransport: try context.metadataTransport(AWSMetadataService.plainHTTPHosts), logger: context.logger)
            } catch {
                throw Failure(.stoppedBeforeApply, "\(error)")
            }
            return CloudConnection(
                provider: connection.provider, auditLog: connection.auditLog, dialect: AWSKeyPolicyDialect(),
                remoteValidator: connection.validator)
        case .azure(let azure):
            let connection: AzureConnection
            do {
                connection = try AzureConnection.make(
                    target: azure, environment: AzureEnvironment(context.environment), transport: context.transport,
                    metadataTransport: try context.metadataTransport(["169.254.169.254"]), logger: context.logger)
            } catch {
                throw Failure(.stoppedBeforeApply, "\(error)")
            }
            return CloudConnection(provider: connection.provider, auditLog: connection.auditLog, dialect: connection.dialect)
        case .gcp(let gcp):
            let connection: GCPConnection
            do {
                connection = try GCPConnection.make(
                    target: gcp, environment: context.environment, transport: context.transport,
                    metadataTransport: context.metadataTransport, logger: context.logger)
            } catch let error as ProviderError {
                throw error
            } catch {
                throw Failure(.stoppedBeforeApply, "\(error)")
            }
            return CloudConnection(provider: connection.provider, auditLog: connection.auditLog, dialect: connection.dialect)
        }
    }
}

/// Built once per command: the runbook loader, the state directory, the
/// transport and the adapters.
struct CommandContext {
    let options: GlobalOptions
    let environment: [String: String]
    let logger: Logger
    let transports: Transports

    init(options: GlobalOptions) {
        self.options = options
        environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "policy-change")
        logger.logLevel = options.verbose ? .debug : .warning
        self.logger = logger
        transports = Transports(caBundle: options.caBundle, environment: environment, logger: logger)
    }

    var stdout: Terminal { Terminal(fd: Terminal.standardOutput.fd, forceNoColor: options.noColor) }
    var stderr: Terminal { Terminal(fd: Terminal.standardError.fd, forceNoColor: options.noColor) }

    func loadRunbook(_ options: RunbookOptions) throws -> Runbook {
        try loadRunbook(options.runbook, variables: options.variables)
    }

    func loadRunbook(_ path: String, variables: [String]) throws -> Runbook {
        let parsed = try parseVariables(variables)
        do {
            return try RunbookLoader(variables: parsed, environment: environment).load(path: path)
        } catch {
            throw Failure(.invalidInput, "\(error)", located: error.location != nil)
        }
    }

    func parseVariables(_ assignments: [String]) throws -> [String: String] {
        var variables: [String: String] = [:]
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw Failure(.usage, "--set takes NAME=VALUE, got '\(assignment.prefix(40))'")
            }
            variables[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
        }
        return variables
    }

    /// `--state-dir`, else `POLICY_CHANGE_STATE_DIR`, else `.policy-change/` beside the runbook.
    func stateDirectory(besideRunbook runbook: String?) -> StateDirectory {
        if let explicit = options.stateDirectory { return StateDirectory(path: absolute(explicit)) }
        if let fromEnvironment = environment["POLICY_CHANGE_STATE_DIR"], !fromEnvironment.isEmpty {
            return StateDirectory(path: absolute(fromEnvironment))
        }
        let folder = runbook.map { (absolute($0) as NSString).deletingLastPathComponent } ?? FileManager.default.currentDirectoryPath
        return StateDirectory(path: "\(folder)/.policy-change")
    }

    func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : "\(FileManager.default.currentDirectoryPath)/\(path)"
    }

    func transport() throws -> any HTTPTransport {
        try transports.transport()
    }

    func connect(to target: Target) throws -> CloudConnection {
        let transports = self.transports
        do {
            return try ProviderRegistry.factory.connect(
                to: target,
                context: AdapterContext(
                    transport: try transport(), metadataTransport: { try transports.transport(plainHTTPHosts: $0) },
                    environment: environment, logger: logger))
        } catch let error as ProviderError {
            // Missing credentials, an unknown profile: a cloud/auth error (exit 4), not an internal one.
            throw Failure(.stoppedBeforeApply, "cannot connect to \(target.cloud): \(error.message)")
        }
    }

    func readFile(_ path: String, what: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: absolute(path)) else {
            throw Failure(.invalidInput, "cannot read \(what) '\(path)' (no such file or not readable)")
        }
        return data
    }
}
