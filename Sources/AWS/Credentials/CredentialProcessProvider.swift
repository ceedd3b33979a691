import Foundation
import PolicyChange
import SigV4

/// Credentials printed by a profile's `credential_process` command (botocore's
/// `ProcessProvider`): run with `/bin/sh -c`, the environment of `AWSEnvironment`,
/// standard input inherited (so a helper can prompt on the terminal), and standard
/// output parsed as `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?,
/// "Expiration"?}`.
///
/// Standard output holds the secret, so no error quotes it; standard error is quoted
/// (one line, shortened), because that is where such helpers explain a failure.
public struct CredentialProcessProvider: AWSCredentialProvider {
    public let command: String
    public let environment: AWSEnvironment
    /// Where the command was configured, for messages: `profile 'proc' (/root/.aws/config:14)`.
    public let origin: String

    public init(command: String, environment: AWSEnvironment, origin: String) {
        self.command = command
        self.environment = environment
        self.origin = origin
    }

    public func credentials() async throws -> AWSCredentials {
        let result: ProcessOutput
        do {
            result = try await CredentialProcessProvider.runShellCommand(command, environment: environment.variables)
        } catch {
            throw ProviderError(.credentials, "cannot run the credential_process of \(origin): \(error)")
        }
        guard result.status == 0 else {
            // A helper that failed may still have printed (part of) a secret, on either
            // stream; whatever stdout holds and the environment's secrets are cut out.
            let detail = CredentialMessage.oneLine(
                CredentialMessage.redacting(
                    String(decoding: result.standardError.prefix(4096), as: UTF8.self),
                    secrets: Self.possibleSecrets(in: result.standardOutput) + environment.secretValues))
            throw ProviderError(
                .credentials,
                "the credential_process of \(origin) exited with status \(result.status)"
                    + (detail.isEmpty ? "" : ": \(detail)"))
        }
        let version = (try? JSONSerialization.jsonObject(with: result.standardOutput) as? [String: Any])?["Version"]
        guard (version as? Int) == 1 else {
            throw ProviderError(
                .credentials,
                "the credential_process of \(origin) printed "
                    + (version == nil ? "no \"Version\": 1 JSON object" : "an unsupported Version; expected 1"))
        }
        do {
            let document = try CredentialsDocument.parse(
                result.standardOutput, tokenKey: "SessionToken", requireToken: false, requireExpiration: false)
            return document.credentials
        } catch {
            throw ProviderError(
                .credentials, "the credential_process of \(origin) printed unusable credentials: \(error.reason)")
        }
    }
}

extension CredentialProcessProvider {
    /// Every string value of a JSON object on stdout, else each whitespace-separated word.
    static func possibleSecrets(in output: Data) -> [String?] {
        if let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any] {
            return object.values.compactMap { $0 as? String }
        }
        return String(decoding: output.prefix(65_536), as: UTF8.self)
            .split(whereSeparator: { $0.isWhitespace }).map(String.init)
    }

    struct ProcessOutput: Sendable {
        var status: Int32
        var standardOutput: Data
        var standardError: Data
    }

    /// Runs `/bin/sh -c command` off the cooperative thread pool (reading pipes and waiting
    /// block), collecting both outputs concurrently so neither pipe can fill and stall it.
    static func runShellCommand(_ command: String, environment: [String: String]) async throws -> ProcessOutput {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", command]
                process.environment = environment
                let output = Pipe()
                let errors = Pipe()
                process.standardOutput = output
                process.standardError = errors
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: error)
                    return
                }
                let errorData = DataBox()
                let errorReader = Thread {
                    errorData.set(errors.fileHandleForReading.readDataToEndOfFile())
                    errorData.finish()
                }
                errorReader.start()
                let outputData = output.fileHandleForReading.readDataToEndOfFile()
                errorData.waitUntilFinished()
                process.waitUntilExit()
                continuation.resume(
                    returning: ProcessOutput(
                        status: process.terminationStatus, standardOutput: outputData, standardError: errorData.get()))
            }
            thread.start()
        }
    }
}

/// One `Data` handed from a reader thread to its waiter.
private final class DataBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var data = Data()
    private var finished = false

    func set(_ value: Data) {
        condition.lock()
        data = value
        condition.unlock()
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    func waitUntilFinished() {
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }

    func get() -> Data {
        condition.lock()
        defer { condition.unlock() }
        return data
    }
}
