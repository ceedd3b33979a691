import Foundation
import PolicyChange

/// `steps:` and the checks inside `verify` and `monitor` (DESIGN §3).
///
/// A step is a one-key mapping (`- backup: { dir: backups }`), or a bare
/// keyword when none of its settings is required (`- approve`, `- apply`,
/// `- backup`); `wait` also takes its duration directly (`- wait: 30s`).
/// Every step in mapping form also takes `timeout`, `retries` and
/// `on-failure`.
extension RunbookDecoder {
    static let optionKeys = ["timeout", "retries", "on-failure"]

    static let stepSettings: [String: [String]] = [
        "backup": ["dir"],
        "validate": ["fail-on", "access-analyzer"],
        "approve": [],
        "apply": [],
        "wait": ["duration"],
        "verify": ["checks", "inconclusive", "interval"],
        "monitor": ["duration", "interval", "failures", "inconclusive", "checks"],
        "command": ["run", "environment"],
    ]

    /// Step options the engine does not honour for a step, and why. DESIGN §3
    /// lets every step take them; where one cannot mean anything safe the
    /// runbook is refused rather than the option silently ignored.
    static let unsupportedOptions: [String: [String: String]] = [
        "backup": [
            "timeout": "its cloud calls carry the HTTP transport's timeouts",
            "retries": "its cloud calls are retried by the HTTP transport",
        ],
        "validate": [
            "timeout": "local analysis takes milliseconds; Access Analyzer calls carry the HTTP transport's timeouts",
            "retries": "a failed validation is final; Access Analyzer calls are retried by the HTTP transport",
        ],
        "approve": ["retries": "a refusal is final"],
        "apply": [
            "timeout": "a write in flight is never cut short (the HTTP transport has its own timeouts)",
            "retries": "a write is never repeated blindly (throttling and 5xx are retried by the HTTP transport)",
        ],
    ]

    func decodeSteps(_ node: YAMLNode, cloud: Cloud) throws(RunbookError) -> [Step] {
        let items = try sequence(node, for: "steps")
        var steps: [Step] = []
        steps.reserveCapacity(items.count)
        for item in items { steps.append(try decodeStep(item, cloud: cloud)) }
        return steps
    }

    private func decodeStep(_ item: YAMLNode, cloud: Cloud) throws(RunbookError) -> Step {
        let (keyword, keyNode, value) = try oneKeyItem(item, kind: "step", keywords: Step.keywords)
        let here = location(item.mark)
        guard let value, !value.isNull else {
            switch keyword {
            case "wait": throw error(at: keyNode, "step 'wait' needs a duration (e.g. '- wait: 30s')")
            case "command":
                throw error(at: keyNode, "step 'command' needs settings (e.g. '- command: { run: ./smoke-test.sh }')")
            default: return Step(try action(keyword, nil, cloud: cloud), location: here)
            }
        }
        if keyword == "wait", case .scalar = value.content {
            return Step(.wait(try duration(value, for: "wait")), location: here)
        }
        let m = try mapping(value, for: keyword, keys: Self.stepSettings[keyword]! + Self.optionKeys)
        // Options the engine could not honour for this step are refused, not ignored.
        for (option, reason) in Self.unsupportedOptions[keyword] ?? [:] {
            if let node = m.value(option) {
                throw error(at: node, "'\(option)' does not apply to step '\(keyword)': \(reason)")
            }
        }
        var options = StepOptions()
        if let v = m.value("timeout") { options.timeout = try duration(v, for: "timeout") }
        if let v = m.value("retries") { options.retries = try int(v, for: "retries", atLeast: 0, atMost: 100) }
        if let v = m.value("on-failure") { options.onFailure = try choice(v, for: "on-failure", as: FailureAction.self) }
        var action = try action(keyword, m, cloud: cloud)
        if case .command(var spec) = action {
            // A command step's timeout is both the step's and the command's.
            spec.timeout = options.timeout
            action = .command(spec)
        }
        return Step(action, options: options, location: here)
    }

    /// The step's action from its settings (nil: none written, defaults).
    private func action(_ keyword: String, _ m: CheckedMapping?, cloud: Cloud) throws(RunbookError) -> StepAction {
        switch keyword {
        case "backup":
            // The folder need not exist yet: the backup step creates it.
            let dir = try m?.value("dir").map { node throws(RunbookError) in
                FileAccess.absolute(try nonEmptyString(node, for: "dir"), in: folder)
            }
            return .backup(BackupStep(directory: dir))
        case "validate":
            var step = ValidateStep()
            if let v = m?.value("fail-on") { step.failOn = try choice(v, for: "fail-on", as: FailOn.self) }
            if let v = m?.value("access-analyzer") {
                step.accessAnalyzer = try bool(v, for: "access-analyzer")
                if step.accessAnalyzer, cloud != .aws {
                    throw error(at: v, "'access-analyzer' is IAM Access Analyzer, for aws targets only (the target is \(cloud))")
                }
            }
            return .validate(step)
        case "approve":
            return .approve
        case "apply":
            return .apply
        case "wait":
            return .wait(try duration(try required("duration", in: m!), for: "duration"))
        case "verify":
            var step = VerifyStep()
            if cloud == .azure { step.checks = Self.azureDefaults(step.checks) }
            if let v = m?.value("checks") { step.checks = try decodeChecks(v, cloud: cloud) }
            if let v = m?.value("inconclusive") { step.inconclusiveLimit = try int(v, for: "inconclusive", atLeast: 1) }
            if let v = m?.value("interval") { step.interval = try duration(v, for: "interval") }
            return .verify(step)
        case "monitor":
            var step = MonitorStep()
            if cloud == .azure { step.checks = Self.azureDefaults(step.checks) }
            if let v = m?.value("duration") { step.duration = try duration(v, for: "duration") }
            if let v = m?.value("interval") { step.interval = try duration(v, for: "interval") }
            if let v = m?.value("failures") { step.failures = try int(v, for: "failures", atLeast: 1) }
            if let v = m?.value("inconclusive") { step.inconclusive = try int(v, for: "inconclusive", atLeast: 1) }
            if let v = m?.value("checks") { step.checks = try decodeChecks(v, cloud: cloud) }
            if step.interval > step.duration, let node = m?.value("interval") ?? m?.value("duration") {
                throw error(
                    at: node,
                    "the monitor interval (\(DurationText.format(step.interval))) is longer than its duration (\(DurationText.format(step.duration)))"
                )
            }
            return .monitor(step)
        default:  // command
            return .command(try command(m!, for: "command"))
        }
    }

    /// `run` (not checked: it is the operator's own script), `environment`.
    private func command(_ m: CheckedMapping, for key: String) throws(RunbookError) -> CommandSpec {
        let run = try nonEmptyString(try required("run", in: m), for: "run")
        let environment = try m.value("environment").map { node throws(RunbookError) in
            try stringMap(node, for: "environment") { name in
                VariableResolver.isValidName(name.utf8)
                    ? nil
                    : "invalid environment variable name '\(YAMLNode.abbreviated(name))' (use letters, digits and _, not starting with a digit)"
            }
        }
        return CommandSpec(run: run, environment: environment ?? [:])
    }

    /// No apply without a backup earlier in the same run, and one apply per
    /// run: the engine enforces both anyway (DESIGN §3 safety invariants);
    /// rejecting the runbook up front says so before anything is contacted.
    func checkProcedure(_ steps: [Step]) throws(RunbookError) {
        var sawBackup = false
        var firstApply: Step?
        for step in steps {
            switch step.action {
            case .backup:
                sawBackup = true
            case .apply:
                if let first = firstApply, let at = first.location {
                    throw RunbookError(
                        file: file, location: step.location,
                        message:
                            "more than one apply step (the first is at line \(at.line), column \(at.column)); a runbook applies its change once"
                    )
                }
                guard sawBackup else {
                    throw RunbookError(
                        file: file, location: step.location,
                        message: "apply needs a backup step before it (the engine never applies without a durable backup)")
                }
                firstApply = step
            default:
                break
            }
        }
    }

    // MARK: Checks

    static let httpMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// An Azure audit-log check needs a Log Analytics workspace, which a default
    /// check list cannot name: Azure's defaults leave the audit-log check out
    /// (list it with `workspace` to have it).
    static func azureDefaults(_ checks: [Check]) -> [Check] {
        checks.filter { if case .auditLog = $0 { return false } else { return true } }
    }

    func decodeChecks(_ node: YAMLNode, cloud: Cloud) throws(RunbookError) -> [Check] {
        var checks: [Check] = []
        for item in try sequence(node, for: "checks") {
            let (keyword, keyNode, value) = try oneKeyItem(item, kind: "check", keywords: Check.keywords)
            let m = try optionalMapping(value, for: keyword, keys: Self.checkSettings[keyword]!)
            switch keyword {
            case "policy-unchanged": checks.append(.policyUnchanged)
            case "required-access": checks.append(.requiredAccess)
            case "key-enabled": checks.append(.keyEnabled)
            case "audit-log":
                var check = AuditLogCheck()
                if let m, let v = m.value("workspace") {
                    guard cloud == .azure else {
                        throw error(
                            at: v, "'workspace' names an Azure Log Analytics workspace, for azure targets only (the target is \(cloud))")
                    }
                    check.workspace = try nonEmptyString(v, for: "workspace")
                }
                if cloud == .azure && check.workspace == nil {
                    throw error(
                        at: keyNode,
                        "the Azure audit-log check queries Log Analytics and needs its workspace: '- audit-log: { workspace: <workspace id> }'")
                }
                checks.append(.auditLog(check))
            case "http":
                guard let m else {
                    throw error(
                        at: keyNode, "check 'http' needs settings (e.g. '- http: { url: https://…, expect: { status: 200 } }')")
                }
                checks.append(.http(try httpCheck(m)))
            default:  // command
                guard let m else {
                    throw error(at: keyNode, "check 'command' needs settings (e.g. '- command: { run: ./smoke-test.sh }')")
                }
                var spec = try command(m, for: "command")
                if let v = m.value("timeout") { spec.timeout = try duration(v, for: "timeout") }
                checks.append(.command(spec))
            }
        }
        return checks
    }

    static let checkSettings: [String: [String]] = [
        "policy-unchanged": [],
        "required-access": [],
        "key-enabled": [],
        "audit-log": ["workspace"],
        "http": ["url", "method", "headers", "expect", "timeout"],
        "command": ["run", "timeout", "environment"],
    ]

    private func httpCheck(_ m: CheckedMapping) throws(RunbookError) -> HTTPCheck {
        let urlNode = try required("url", in: m)
        let url = try nonEmptyString(urlNode, for: "url")
        guard Self.isHTTPURL(url) else {
            // Quote the URL as written: after substitution it may hold a secret.
            throw error(
                at: urlNode,
                "invalid URL '\(YAMLNode.abbreviated(urlNode.scalarText ?? ""))' (an http check needs an http:// or https:// URL)")
        }
        var check = HTTPCheck(url: url)
        if let v = m.value("method") {
            let method = try string(v, for: "method")
            guard Self.httpMethods.contains(method) else {
                throw error(
                    at: v,
                    "unknown value '\(YAMLNode.abbreviated(method))' for 'method' \(Self.hint(for: method, among: Self.httpMethods, listing: "values"))"
                )
            }
            check.method = method
        }
        if let v = m.value("headers") {
            check.headers = try stringMap(v, for: "headers") { name in
                // RFC 9110 token characters.
                let valid =
                    !name.isEmpty
                    && name.utf8.allSatisfy {
                        (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || (0x30...0x39).contains($0)
                            || "!#$%&'*+-.^_`|~".utf8.contains($0)
                    }
                return valid ? nil : "invalid header name '\(YAMLNode.abbreviated(name))'"
            }
        }
        if let v = m.value("expect") {
            let e = try mapping(v, for: "expect", keys: ["status", "json"])
            if let s = e.value("status") { check.expectStatus = try int(s, for: "status", atLeast: 100, atMost: 599) }
            if let j = e.value("json") { check.expectJSON = try expectedJSON(j) }
        }
        if let v = m.value("timeout") { check.timeout = try duration(v, for: "timeout") }
        return check
    }

    /// `expect.json`: dotted path → the JSON scalar it must equal. Here (and
    /// only here) a value's type comes from how it is written, as in JSON:
    /// plain `true`/`false` are booleans, plain numbers are numbers, plain
    /// `null`/`~`/empty is null, anything quoted (or `!!str`) is a string.
    private func expectedJSON(_ node: YAMLNode) throws(RunbookError) -> [String: JSONScalar] {
        guard case .mapping(let pairs) = node.content else {
            throw error(at: node, "expected a mapping for 'json', found \(node.foundDescription)")
        }
        var result: [String: JSONScalar] = [:]
        for pair in pairs {
            let path = pair.keyText
            guard !path.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
                throw error(at: pair.key, "invalid JSON path '\(YAMLNode.abbreviated(path))' (use dotted names such as status.phase)")
            }
            result[path] = try jsonScalar(pair.value, for: path)
        }
        return result
    }

    private func jsonScalar(_ node: YAMLNode, for path: String) throws(RunbookError) -> JSONScalar {
        guard case .scalar(let text, let style) = node.content else {
            throw error(
                at: node,
                "expected a JSON scalar (string, number, true, false or null) for '\(path)', found \(node.foundDescription)")
        }
        if style.isPlain, node.tag == nil {
            if node.isNull { return .null }
            if Self.trueTexts.contains(text) { return .bool(true) }
            if Self.falseTexts.contains(text) { return .bool(false) }
            if Self.isYAMLNumber(text), let number = Double(text), number.isFinite { return .number(number) }
        }
        return .string(try substitute(text, at: node))
    }

    /// YAML 1.2 core schema numbers: `[-+]?[0-9]+` and
    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`. Scanned by hand:
    /// no regex per scalar.
    static func isYAMLNumber(_ text: String) -> Bool {
        var b = Substring(text).utf8[...]
        func isDigit(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) }
        if let c = b.first, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") { b = b.dropFirst() }
        let intDigits = b.prefix(while: isDigit).count
        b = b.dropFirst(intDigits)
        var fracDigits = 0
        if b.first == UInt8(ascii: ".") {
            b = b.dropFirst()
            fracDigits = b.prefix(while: isDigit).count
            b = b.dropFirst(fracDigits)
        }
        guard intDigits > 0 || fracDigits > 0 else { return false }
        if let c = b.first, c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            b = b.dropFirst()
            if let s = b.first, s == UInt8(ascii: "-") || s == UInt8(ascii: "+") { b = b.dropFirst() }
            let expDigits = b.prefix(while: isDigit).count
            guard expDigits > 0 else { return false }
            b = b.dropFirst(expDigits)
        }
        return b.isEmpty
    }
}

extension RunbookDecoder {
    /// DESIGN §3's default procedure, with Azure's default checks (no audit-log
    /// check: it needs a workspace the defaults cannot name).
    static var azureDefaultProcedure: [Step] {
        Step.defaultProcedure.map { step in
            var step = step
            switch step.action {
            case .verify(var v):
                v.checks = azureDefaults(v.checks)
                step.action = .verify(v)
            case .monitor(var m):
                m.checks = azureDefaults(m.checks)
                step.action = .monitor(m)
            default: break
            }
            return step
        }
    }
}
