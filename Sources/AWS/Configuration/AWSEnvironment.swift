import Foundation
import PolicyChange

/// Everything outside the runbook that decides where AWS requests go and whose
/// credentials sign them: the process environment and the home directory the shared
/// files live in. Passed in, never read from globals, so tests describe a whole machine
/// in one value.
public struct AWSEnvironment: Sendable, Equatable {
    /// The environment variables as given. An empty value counts as unset (botocore reads
    /// `os.environ.get(name, '')` and tests for truth).
    public var variables: [String: String]
    public var homeDirectory: String

    public init(environment: [String: String], homeDirectory: String) {
        self.variables = environment
        self.homeDirectory = homeDirectory
    }

    /// The environment of this process; the home directory from `HOME`, else the
    /// account's home.
    public static func current() -> AWSEnvironment {
        let variables = ProcessInfo.processInfo.environment
        let home = variables["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return AWSEnvironment(environment: variables, homeDirectory: home)
    }

    /// The variable's value, nil when unset or empty.
    public subscript(name: String) -> String? {
        guard let value = variables[name], !value.isEmpty else { return nil }
        return value
    }

    /// True when the variable is `true`, in any case (botocore's `ensure_boolean`).
    public func isTrue(_ name: String) -> Bool {
        self[name]?.trimmingCharacters(in: .whitespaces).lowercased() == "true"
    }

    /// The values of variables whose names say they hold a secret (`…SECRET…`,
    /// `…TOKEN…`, `…PASSWORD…`), to cut out of text that reaches a message.
    var secretValues: [String?] {
        variables.compactMap { name, value in
            let upper = name.uppercased()
            guard upper.contains("SECRET") || upper.contains("TOKEN") || upper.contains("PASSWORD") else { return nil }
            return value
        }
    }

    /// `AWS_CONFIG_FILE`, else `~/.aws/config`.
    public var configFilePath: String {
        self["AWS_CONFIG_FILE"].map(expandingTilde) ?? homeDirectory + "/.aws/config"
    }

    /// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
    public var credentialsFilePath: String {
        self["AWS_SHARED_CREDENTIALS_FILE"].map(expandingTilde) ?? homeDirectory + "/.aws/credentials"
    }

    /// The profile named by the environment and the variable that named it:
    /// `AWS_PROFILE`, then `AWS_DEFAULT_PROFILE` (botocore's older name).
    public var profileFromEnvironment: (name: String, variable: String)? {
        for variable in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"] {
            if let name = self[variable] { return (name, variable) }
        }
        return nil
    }

    /// `~` and `~/…` resolved against the home directory (botocore expands `~` in every
    /// path it reads from configuration).
    public func expandingTilde(_ path: String) -> String {
        if path == "~" { return homeDirectory }
        if path.hasPrefix("~/") { return homeDirectory + path.dropFirst() }
        return path
    }
}

/// Which profile the shared files are read for, and who chose it.
public struct AWSProfileSelection: Sendable, Equatable {
    public enum Origin: Sendable, Equatable {
        /// The runbook's `target.aws.profile`. Like `aws --profile`, it switches the
        /// environment's static keys and web identity variables off (see
        /// `defaultCredentialChain`).
        case runbook
        /// `AWS_PROFILE` or `AWS_DEFAULT_PROFILE`.
        case environment(variable: String)
        /// Nothing chose one: `default`.
        case implicitDefault
    }

    public var name: String
    public var origin: Origin

    public init(name: String, origin: Origin) {
        self.name = name
        self.origin = origin
    }

    /// The runbook's profile, else the environment's, else `default`.
    public static func resolve(explicit: String?, environment: AWSEnvironment) -> AWSProfileSelection {
        if let explicit, !explicit.isEmpty { return AWSProfileSelection(name: explicit, origin: .runbook) }
        if let (name, variable) = environment.profileFromEnvironment {
            return AWSProfileSelection(name: name, origin: .environment(variable: variable))
        }
        return AWSProfileSelection(name: "default", origin: .implicitDefault)
    }

    /// Whether the profile was given explicitly (botocore's session `profile` instance
    /// variable, which `--profile` sets and `AWS_PROFILE` does not).
    public var isExplicit: Bool { origin == .runbook }
}

/// The two shared files, loaded once per lookup, and the profiles they define.
public struct AWSSharedConfiguration: Sendable, Equatable {
    /// A shared file as found on disk.
    public enum File: Sendable, Equatable {
        case loaded(AWSSharedConfigFile)
        case missing(path: String)

        public var path: String {
            switch self {
            case .loaded(let file): file.path
            case .missing(let path): path
            }
        }

        public var parsed: AWSSharedConfigFile? {
            if case .loaded(let file) = self { return file }
            return nil
        }
    }

    public var config: File
    public var credentials: File

    public init(config: File, credentials: File) {
        self.config = config
        self.credentials = credentials
    }

    /// Reads and parses both files. A missing file is normal (no profile there); an
    /// unreadable or malformed one is an error, as in botocore, because silently
    /// skipping it could pick other credentials than the user meant.
    public static func load(from environment: AWSEnvironment) throws(ProviderError) -> AWSSharedConfiguration {
        AWSSharedConfiguration(
            config: try loadFile(at: environment.configFilePath, kind: .config),
            credentials: try loadFile(at: environment.credentialsFilePath, kind: .credentials)
        )
    }

    static func loadFile(at path: String, kind: AWSSharedConfigFile.Kind) throws(ProviderError) -> File {
        let data: Data
        switch ConfigurationFileRead.read(at: path) {
        case .missing:
            return .missing(path: path)
        case .failed(let reason):
            throw ProviderError(.credentials, "cannot read \(path): \(reason)")
        case .contents(let contents):
            data = contents
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ProviderError(.credentials, "\(path) is not UTF-8 text")
        }
        do {
            return .loaded(try AWSSharedConfigFile.parse(text, path: path, kind: kind))
        } catch {
            throw ProviderError(.credentials, error.description)
        }
    }

    /// The merged settings of profile `name`: the config file's section, overridden key
    /// by key by the credentials file's, as botocore merges them (`Session.full_config`).
    /// Nil when neither file has the profile.
    public func profile(named name: String) -> AWSProfile? {
        let fromConfig = config.parsed.flatMap { file in file.profileSection(named: name).map { (file, $0) } }
        let fromCredentials = credentials.parsed.flatMap { file in
            file.profileSection(named: name).map { (file, $0) }
        }
        guard fromConfig != nil || fromCredentials != nil else { return nil }
        var settings: [String: AWSProfile.Setting] = [:]
        for (file, section) in [fromConfig, fromCredentials].compactMap({ $0 }) {
            for (key, property) in section.properties {
                settings[key] = AWSProfile.Setting(
                    value: property.value, path: file.path, line: property.line, kind: file.kind)
            }
        }
        return AWSProfile(name: name, settings: settings)
    }
}

/// One profile's settings, merged from both shared files, each remembering where it
/// was written so errors can point at it.
public struct AWSProfile: Sendable, Equatable {
    public struct Setting: Sendable, Equatable {
        public var value: String
        public var path: String
        public var line: Int
        public var kind: AWSSharedConfigFile.Kind

        /// `path:line`.
        public var location: String { "\(path):\(line)" }
    }

    public var name: String
    /// Keys lower-cased.
    public var settings: [String: Setting]

    public subscript(key: String) -> Setting? { settings[key] }

    /// The value of a setting, nil when absent or empty.
    public func value(_ key: String) -> String? {
        guard let value = settings[key]?.value, !value.isEmpty else { return nil }
        return value
    }

    public func has(_ key: String) -> Bool { settings[key] != nil }

    /// Whether the profile holds static keys (either key counts, as in botocore's
    /// `_has_static_credentials`).
    var hasStaticCredentials: Bool { has("aws_access_key_id") || has("aws_secret_access_key") }
}

/// A whole file read for configuration, telling "no such file" (normal for optional
/// configuration) apart from any other failure.
enum ConfigurationFileRead {
    case contents(Data)
    case missing
    case failed(String)

    static func read(at path: String) -> ConfigurationFileRead {
        guard FileManager.default.fileExists(atPath: path) else { return .missing }
        do {
            return .contents(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch let error as CocoaError where error.code == .fileReadNoPermission {
            return .failed("permission denied")
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            return .missing
        } catch {
            return .failed(error.localizedDescription)
        }
    }
}
