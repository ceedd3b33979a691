import Foundation
import Testing

/// What these tests run besides the product: `python3` with boto3, botocore and
/// moto (its `moto_server`), and the AWS CLI. Never skipped: a missing tool is a
/// failed test whose message says how to install it.
struct Toolchain: Sendable {
    /// The interpreter's own folder (`sys.executable`'s), where pip put
    /// `moto_server` and `aws`: first on the children's PATH, so nothing depends
    /// on a pyenv shim finding its root through HOME.
    var pythonFolder: String
    var python: String
    var motoServer: String
    var aws: String?
    /// PATH for every child: the interpreter's folder, then the test's PATH.
    var path: String

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    static let installHint = "run make test (it installs moto[server])"

    /// The repository: scripts/aws and examples/ are read from there.
    static let repository: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func script(_ name: String) -> String { repository.appendingPathComponent("scripts/aws/\(name)").path }

    static let shared: Result<Toolchain, Missing> = discover()

    static func get() throws -> Toolchain { try shared.get() }

    /// The AWS CLI, for the scenarios that use it.
    static func awsCLI() throws -> String {
        let toolchain = try get()
        guard let aws = toolchain.aws else {
            throw Missing(
                description: "the AWS CLI ('aws') is not installed next to \(toolchain.python) or on PATH: "
                    + "run make test (it installs moto[server] and awscli)")
        }
        return aws
    }

    private static func discover() -> Result<Toolchain, Missing> {
        let inherited = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        guard let python = which("python3", in: inherited) else {
            return .failure(Missing(description: "python3 is not on PATH (\(inherited)): \(installHint)"))
        }
        // One interpreter start answers everything: the modules import, and
        // where the console scripts are.
        let probe = """
            import json, os, shutil, sys
            missing = []
            for module in ("boto3", "botocore", "moto", "werkzeug", "flask"):
                try:
                    __import__(module)
                except ImportError:
                    missing.append(module)
            folder = os.path.dirname(sys.executable)
            path = folder + os.pathsep + os.environ.get("PATH", "")
            print(json.dumps({"missing": missing, "folder": folder,
                              "moto_server": shutil.which("moto_server", path=path),
                              "aws": shutil.which("aws", path=path)}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", probe]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return .failure(Missing(description: "cannot start \(python): \(error): \(installHint)"))
        }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let answer = (try? JSONSerialization.jsonObject(with: output)) as? [String: Any],
            let folder = answer["folder"] as? String
        else {
            return .failure(Missing(description: "\(python) could not be asked about its modules: \(installHint)"))
        }
        let missing = answer["missing"] as? [String] ?? []
        guard missing.isEmpty else {
            return .failure(Missing(description: "python3 (\(python)) lacks \(missing.joined(separator: ", ")): \(installHint)"))
        }
        guard let moto = answer["moto_server"] as? String else {
            return .failure(Missing(description: "moto_server is not installed next to \(python): \(installHint)"))
        }
        return .success(Toolchain(
            pythonFolder: folder, python: python, motoServer: moto, aws: answer["aws"] as? String,
            path: folder + ":" + inherited))
    }

    static func which(_ name: String, in path: String) -> String? {
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
