import ArgumentParser
import Foundation
import PolicyChange
import RunbookYAML

enum FindingsFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, sarif
}

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Analyse a proposed policy offline, with no credentials (for CI).",
        discussion: """
            policy-change validate --cloud aws --current OLD --proposed NEW [--require FILE] [--caller ARN] [--format text|json|sarif]
            policy-change validate --cloud gcp --current OLD --proposed NEW [--require FILE] [--caller MEMBER] [--roles FILE] [--inherited-admin MEMBER]...
            policy-change validate --cloud azure --current OLD --proposed NEW [--require FILE] [--caller OBJECT_ID] [--model access-policy|rbac] [--key-name NAME]
            policy-change validate RUNBOOK [--current FILE]

            Without --current only document, grammar and required-access checks run. \
            The verdict fails on any error or security-warning. Exit 0 (pass) or 3 (fail).
            """)

    @Argument(help: "A runbook whose policy files to validate (instead of --proposed).") var runbook: String?
    @Option(help: "aws, azure or gcp (with --proposed).") var cloud: Cloud?
    @Option(help: ArgumentHelp("The live policy now (a backup file).", valueName: "file")) var current: String?
    @Option(help: ArgumentHelp("The policy to check.", valueName: "file")) var proposed: String?
    @Option(help: ArgumentHelp("A YAML file with a 'require:' list in the runbook's form.", valueName: "file")) var require: String?
    @Option(help: ArgumentHelp("Who will apply the change (ARN, member, object id), for lockout checks.", valueName: "id")) var caller: String?
    @Option(name: .customLong("key-arn"), help: ArgumentHelp("The key's ARN, for checks that need its account.", valueName: "arn")) var keyARN: String?
    @Option(help: ArgumentHelp("GCP: custom roles as a JSON array of IAM Role resources ({name, includedPermissions}).", valueName: "file"))
    var roles: String?
    @Option(name: .customLong("inherited-admin"), help: ArgumentHelp("GCP: a member holding setIamPolicy through the key ring, project or organization (repeatable).", valueName: "member"))
    var inheritedAdmins: [String] = []
    @Option(help: ArgumentHelp("Azure: the permission model the change assumes, for PERMISSION_MODEL_MISMATCH.", valueName: "access-policy|rbac"))
    var model: AzurePermissionModel?
    @Option(name: .customLong("key-name"), help: ArgumentHelp("Azure: the key's name in the vault, so key-scope role assignments of other keys do not count.", valueName: "name"))
    var keyName: String?
    @Option(help: "text, json or sarif.") var format: FindingsFormat = .text
    @Option(name: .customLong("set"), help: ArgumentHelp("Set a ${NAME} variable of the runbook.", valueName: "NAME=VALUE"))
    var variables: [String] = []
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if runbook == nil && proposed == nil { throw ValidationError("Give a runbook, or --cloud and --proposed FILE.") }
        if runbook != nil && proposed != nil { throw ValidationError("Give either a runbook or --proposed, not both.") }
        if proposed != nil && cloud == nil { throw ValidationError("--proposed needs --cloud aws|azure|gcp.") }
    }

    func run() async throws {
        try await guarded(json: format == .json) {
            let context = CommandContext(options: global)
            var request: AnalysisRequest
            let dialect: any PolicyDialect
            if let runbook {
                let book = try context.loadRunbook(runbook, variables: variables)
                dialect = try offlineDialect(context, cloud: book.target.cloud, target: book.target)
                guard let base = try current.map({ PolicySnapshot(document: try context.readFile($0, what: "the current policy")) })
                    ?? Self.standalone(book)
                else {
                    throw Failure(
                        .invalidInput,
                        "the runbook edits the live policy; pass --current FILE (a backup) to validate offline, or use 'plan' to read it live")
                }
                let proposedSnapshot: PolicySnapshot
                do {
                    proposedSnapshot = try dialect.proposedPolicy(from: base, applying: book.change)
                } catch {
                    throw Failure(.invalidInput, "cannot apply the change: \(error)")
                }
                request = AnalysisRequest(
                    current: current == nil ? nil : base, proposed: proposedSnapshot, requirements: book.require,
                    caller: caller, keyIdentifier: keyARN ?? book.target.keyIdentifier, proposedFile: Planner.proposedFile(of: book),
                    bypassLockoutSafetyCheck: book.requestsLockoutBypass)
            } else {
                let cloud = cloud!
                dialect = try offlineDialect(context, cloud: cloud, target: nil)
                let proposedPath = context.absolute(proposed!)
                request = AnalysisRequest(
                    current: try current.map { PolicySnapshot(document: try context.readFile($0, what: "the current policy")) },
                    proposed: PolicySnapshot(document: try context.readFile(proposed!, what: "the proposed policy")),
                    requirements: try require.map { try context.loadRequirements($0) } ?? [],
                    caller: caller, keyIdentifier: keyARN, proposedFile: proposedPath)
            }
            let findings = dialect.analyze(request)
            let verdict = Verdict(findings: findings)
            switch format {
            case .text: context.stdout.write(PlanRenderer(terminal: context.stdout).findingsText(findings, verdict: verdict))
            case .json: context.stdout.write(FindingsOutput.json(findings, verdict: verdict))
            case .sarif: context.stdout.write(FindingsOutput.sarif(findings, defaultFile: request.proposedFile))
            }
            return verdict == .pass ? .success : .validationFailed
        }
    }

    /// The cloud's offline dialect with its cloud-specific flags and what the runbook's target says.
    func offlineDialect(_ context: CommandContext, cloud: Cloud, target: Target?) throws -> any PolicyDialect {
        if cloud != .gcp && (roles != nil || !inheritedAdmins.isEmpty) {
            throw Failure(.usage, "--roles and --inherited-admin apply to --cloud gcp only")
        }
        if cloud != .azure && (model != nil || keyName != nil) {
            throw Failure(.usage, "--model and --key-name apply to --cloud azure only")
        }
        switch cloud {
        case .aws: return PolicyDialects.dialect(for: .aws)
        case .azure:
            let azure: AzureTarget? = if case .azure(let t)? = target { t } else { nil }
            return AzureKeyVaultDialect(pinnedModel: model ?? azure?.model, keyName: keyName ?? azure?.key)
        case .gcp: return try gcpDialect(context, target: target)
        }
    }

    /// The GCP dialect with `--roles`, `--inherited-admin` and the runbook's `inherited-admins`.
    func gcpDialect(_ context: CommandContext, target: Target?) throws -> any PolicyDialect {
        var definitions: [IAMRoleDefinition] = []
        if let roles {
            do {
                definitions = try IAMRoleDefinition.parseList(
                    try context.readFile(roles, what: "the roles file"), file: (roles as NSString).lastPathComponent)
            } catch let error as PolicyEditError {
                throw Failure(.invalidInput, error.message)
            }
        }
        var admins = inheritedAdmins
        if case .gcp(let gcp)? = target { admins += gcp.inheritedAdmins }
        return CloudKMSIAMDialect(customRoles: definitions, inheritedAdmins: admins)
    }

    /// A runbook whose change starts with `replace-policy` needs no live policy.
    static func standalone(_ runbook: Runbook) -> PolicySnapshot? {
        guard case .replacePolicy(let file)? = runbook.change.first else { return nil }
        return PolicySnapshot(document: file.contents)
    }
}

extension AzurePermissionModel: ExpressibleByArgument {}

extension CommandContext {
    func loadRequirements(_ path: String) throws -> [Requirement] {
        do {
            return try RunbookLoader(environment: environment).loadRequirements(path: path)
        } catch {
            throw Failure(.invalidInput, "\(error)", located: error.location != nil)
        }
    }
}
