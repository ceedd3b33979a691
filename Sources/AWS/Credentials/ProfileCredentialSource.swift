import Foundation
import Logging
import PolicyChange
import SigV4

/// Everything the shared files (and the web identity variables) can say about one
/// profile's credentials, tried in botocore's order (`create_credential_resolver` and
/// `ProfileProviderBuilder` in `botocore/credentials.py`):
///
/// 1. assume role: the profile has `role_arn` (and no `web_identity_token_file`); the
///    source credentials come from `source_profile` (recursively: a source profile with
///    its own `role_arn` is assumed first; a loop is an error, except a profile naming
///    itself while holding static keys) or `credential_source` (`Environment`,
///    `Ec2InstanceMetadata`, `EcsContainer`); `role_session_name`, `external_id`,
///    `duration_seconds` and `mfa_serial` are passed to STS `AssumeRole`;
/// 2. web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`
///    [+ `AWS_ROLE_SESSION_NAME`], each variable overriding the profile's
///    `web_identity_token_file` / `role_arn` / `role_session_name`; the variables are not
///    read when the runbook names the profile (botocore's `disable_env_vars`);
/// 3. IAM Identity Center (SSO) settings: not supported, an error that says what to do
///    instead, rather than silently using other credentials;
/// 4. static keys of the profile in the credentials file;
/// 5. `credential_process`;
/// 6. static keys of the profile in the config file.
///
/// When none applies, the note lists both files and the web identity variable.
public struct ProfileCredentialSource: AWSCredentialSource {
    public let selection: AWSProfileSelection
    public let environment: AWSEnvironment
    public let sts: STSAccess
    /// The sources `credential_source` may name, by botocore's canonical names
    /// (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`), compared case-insensitively.
    public let namedSources: [String: any AWSCredentialSource]
    public let clock: CredentialClock
    public let mfaCode: MFACodeProvider?
    public let logger: Logger

    public init(
        selection: AWSProfileSelection, environment: AWSEnvironment, sts: STSAccess,
        namedSources: [String: any AWSCredentialSource], clock: @escaping CredentialClock = { Date() },
        mfaCode: MFACodeProvider? = nil, logger: Logger
    ) {
        self.selection = selection
        self.environment = environment
        self.sts = sts
        self.namedSources = namedSources
        self.clock = clock
        self.mfaCode = mfaCode
        self.logger = logger
    }

    /// Whether `AWS_WEB_IDENTITY_TOKEN_FILE` and friends count (not when the runbook
    /// chose the profile).
    var readsWebIdentityVariables: Bool { !selection.isExplicit }

    public func lookup() async throws -> CredentialLookup {
        let shared = try AWSSharedConfiguration.load(from: environment)
        let resolver = ProfileResolver(source: self, shared: shared)
        return try await resolver.lookup()
    }
}

/// One lookup over loaded shared files.
private struct ProfileResolver {
    let source: ProfileCredentialSource
    let shared: AWSSharedConfiguration

    var environment: AWSEnvironment { source.environment }
    var name: String { source.selection.name }

    func lookup() async throws -> CredentialLookup {
        let profile = shared.profile(named: name)

        // 1. Assume role.
        if let profile, assumesRole(profile) {
            var visited = [name]
            let (credentials, description) = try await assumeRole(profile: profile, visited: &visited)
            return .found(credentials, source: description)
        }

        // 2–6.
        var notes: [String] = []
        if let found = try await profileProviders(profile: profile, webIdentityVariables: source.readsWebIdentityVariables, notes: &notes) {
            return found
        }
        return .notFound(notes.joined(separator: ", "))
    }

    func assumesRole(_ profile: AWSProfile) -> Bool {
        profile.has("role_arn") && !profile.has("web_identity_token_file")
    }

    // MARK: Providers without assume role

    /// Web identity, SSO refusal, credentials file, credential_process, config file — the
    /// providers botocore also runs for a `source_profile` (there with the environment
    /// variables off).
    func profileProviders(profile: AWSProfile?, webIdentityVariables: Bool, notes: inout [String]) async throws
        -> CredentialLookup?
    {
        let profileName = profile?.name ?? name

        // 2. Web identity.
        let variables = webIdentityVariables
        let tokenFile =
            (variables ? environment["AWS_WEB_IDENTITY_TOKEN_FILE"] : nil)
            ?? profile?.value("web_identity_token_file").map(environment.expandingTilde)
        if let tokenFile {
            let fromVariable = variables && environment["AWS_WEB_IDENTITY_TOKEN_FILE"] != nil
            guard let roleARN = (variables ? environment["AWS_ROLE_ARN"] : nil) ?? profile?.value("role_arn") else {
                throw ProviderError(
                    .credentials,
                    (fromVariable
                        ? "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not"
                        : "profile '\(profileName)' sets web_identity_token_file but no role_arn")
                        + "; set the role to assume")
            }
            let sessionName =
                (variables ? environment["AWS_ROLE_SESSION_NAME"] : nil)
                ?? profile?.value("role_session_name")
            let provider = WebIdentityCredentialProvider(
                tokenFile: tokenFile, roleARN: roleARN, sessionName: sessionName, sts: source.sts, clock: source.clock)
            let credentials = try await provider.credentials()
            let origin = fromVariable ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "profile '\(profileName)'"
            return .found(credentials, source: "web identity (\(origin), role \(roleARN))")
        }

        // 3. SSO.
        if let profile,
            let setting = ["sso_session", "sso_start_url", "sso_account_id", "sso_role_name"]
                .compactMap({ profile[$0] }).first
        {
            throw ProviderError(
                .credentials,
                "profile '\(profileName)' uses IAM Identity Center (\(setting.location)), which policy-change "
                    + "cannot sign in to; run `aws sso login --profile \(profileName)`, then "
                    + "`eval \"$(aws configure export-credentials --profile \(profileName) --format env)\"` "
                    + "and run policy-change without a profile")
        }

        // 4. Credentials file.
        switch try staticKeys(in: shared.credentials, profileName: profileName) {
        case .found(let credentials, let where_):
            return .found(credentials, source: "profile '\(profileName)' in \(where_)")
        case .absent(let why):
            notes.append("profile '\(profileName)' in \(shared.credentials.path) (\(why))")
        }

        // 5. credential_process.
        if let setting = profile?["credential_process"], !setting.value.isEmpty {
            let origin = "profile '\(profileName)' (\(setting.location))"
            let provider = CredentialProcessProvider(command: setting.value, environment: environment, origin: origin)
            return .found(try await provider.credentials(), source: "credential_process of \(origin)")
        }

        // 6. Config file.
        switch try staticKeys(in: shared.config, profileName: profileName) {
        case .found(let credentials, let where_):
            return .found(credentials, source: "profile '\(profileName)' in \(where_)")
        case .absent(let why):
            notes.append("\(shared.config.path) (\(why))")
        }

        if webIdentityVariables {
            notes.append("web identity (AWS_WEB_IDENTITY_TOKEN_FILE unset)")
        } else {
            notes.append(
                "web identity (no web_identity_token_file in profile '\(profileName)'; "
                    + "AWS_WEB_IDENTITY_TOKEN_FILE is not read for target.aws.profile)")
        }
        return nil
    }

    enum StaticKeys {
        case found(AWSCredentials, String)
        case absent(String)
    }

    /// `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token` (or the legacy
    /// `aws_security_token`) of the profile's section in one file. A key id without its
    /// secret is an error naming the line.
    func staticKeys(in file: AWSSharedConfiguration.File, profileName: String) throws(ProviderError) -> StaticKeys {
        guard let parsed = file.parsed else { return .absent("no such file") }
        guard let section = parsed.profileSection(named: profileName) else {
            let header = parsed.kind == .credentials || profileName == "default" ? profileName : "profile \(profileName)"
            return .absent("no [\(header)] section")
        }
        guard let keyID = section["aws_access_key_id"], !keyID.value.isEmpty else {
            return .absent("no aws_access_key_id in [\(section.header)]")
        }
        guard let secret = section["aws_secret_access_key"], !secret.value.isEmpty else {
            throw ProviderError(
                .credentials,
                "\(parsed.path):\(keyID.line): [\(section.header)] has aws_access_key_id but no aws_secret_access_key")
        }
        let token = [section["aws_session_token"], section["aws_security_token"]]
            .compactMap { $0?.value }.first { !$0.isEmpty }
        let credentials = AWSCredentials(
            accessKeyID: keyID.value, secretAccessKey: secret.value, sessionToken: token)
        return .found(credentials, "\(parsed.path):\(section.line)")
    }

    // MARK: Assume role

    func assumeRole(profile: AWSProfile, visited: inout [String]) async throws -> (AWSCredentials, String) {
        let roleARN = profile.value("role_arn") ?? ""
        let roleSetting = profile["role_arn"]!
        let where_ = "profile '\(profile.name)' (\(roleSetting.location))"
        guard !roleARN.isEmpty else {
            throw ProviderError(.credentials, "\(where_) has an empty role_arn")
        }
        let sourceProfileName = profile.value("source_profile")
        let credentialSource = profile.value("credential_source")

        let sourceCredentials: AWSCredentials
        let sourceDescription: String
        switch (sourceProfileName, credentialSource) {
        case (.some, .some):
            throw ProviderError(
                .credentials, "\(where_) sets both source_profile and credential_source; keep one")
        case (nil, nil):
            throw ProviderError(
                .credentials,
                "\(where_) sets role_arn but neither source_profile nor credential_source, so there are no "
                    + "credentials to assume the role with")
        case (nil, .some(let sourceName)):
            guard let named = source.namedSources.first(where: { $0.key.lowercased() == sourceName.lowercased() })
            else {
                throw ProviderError(
                    .credentials,
                    "\(where_) sets credential_source = \(sourceName), which is not one of "
                        + source.namedSources.keys.sorted().joined(separator: ", ")
                        + Spelling.didYouMeanClause(sourceName, among: source.namedSources.keys.sorted()))
            }
            switch try await named.value.lookup() {
            case .found(let credentials, let description):
                sourceCredentials = credentials
                sourceDescription = description
            case .notFound(let note):
                throw ProviderError(
                    .credentials,
                    "\(where_) sets credential_source = \(sourceName), but there are no credentials there: \(note)")
            }
        case (.some(let sourceName), nil):
            guard let sourceProfile = shared.profile(named: sourceName) else {
                throw ProviderError(
                    .credentials,
                    "\(where_) names source_profile '\(sourceName)', which is not in \(shared.config.path) or "
                        + "\(shared.credentials.path)" + Spelling.didYouMeanClause(sourceName, among: shared.profileNames))
            }
            if visited.contains(sourceName) {
                // A profile may name itself to assume a role with its own static keys;
                // any other repetition is a loop (botocore `_validate_source_profile`).
                if sourceName != profile.name || !sourceProfile.hasStaticCredentials {
                    let loop = (visited + [sourceName]).map { "'\($0)'" }.joined(separator: " → ")
                    throw ProviderError(
                        .credentials, "source_profile loop: \(loop) (\(where_)); break the cycle in the shared files")
                }
            }
            visited.append(sourceName)
            (sourceCredentials, sourceDescription) = try await credentials(ofSourceProfile: sourceProfile, visited: &visited)
        }

        let role = AssumeRoleCredentialProvider.Role(
            arn: roleARN,
            sessionName: profile.value("role_session_name"),
            externalID: profile.value("external_id"),
            durationSeconds: try durationSeconds(of: profile),
            mfaSerial: profile.value("mfa_serial"))
        let provider = AssumeRoleCredentialProvider(
            role: role, source: StaticCredentialProvider(sourceCredentials), sts: source.sts, clock: source.clock,
            mfaCode: source.mfaCode)
        source.logger.debug(
            "assuming role", metadata: ["role": "\(roleARN)", "profile": "\(profile.name)", "with": "\(sourceDescription)"])
        let credentials = try await provider.credentials()
        return (credentials, "profile '\(profile.name)' (role \(roleARN) assumed with \(sourceDescription))")
    }

    /// A source profile's credentials: its own static keys, web identity or process
    /// (never the environment variables), or — when it only has a `role_arn` — that role.
    func credentials(ofSourceProfile profile: AWSProfile, visited: inout [String]) async throws -> (AWSCredentials, String) {
        if profile.hasStaticCredentials || !assumesRole(profile) {
            var notes: [String] = []
            let resolverForSource = ProfileResolver(source: source, shared: shared)
            if case .found(let credentials, let description)? = try await resolverForSource.profileProviders(
                profile: profile, webIdentityVariables: false, notes: &notes)
            {
                return (credentials, description)
            }
            throw ProviderError(
                .credentials,
                "source profile '\(profile.name)' has no credentials: looked in \(notes.joined(separator: ", "))")
        }
        let (credentials, description) = try await assumeRole(profile: profile, visited: &visited)
        return (credentials, description)
    }

    func durationSeconds(of profile: AWSProfile) throws(ProviderError) -> Int? {
        guard let setting = profile["duration_seconds"], !setting.value.isEmpty else { return nil }
        guard let seconds = Int(setting.value), (900...43_200).contains(seconds) else {
            throw ProviderError(
                .credentials,
                "\(setting.location): duration_seconds '\(setting.value)' must be a whole number of seconds "
                    + "from 900 to 43200")
        }
        return seconds
    }
}
