import Foundation

/// The proposed policy is not JSON.
public enum GCPJSONSyntaxErrorRule: GCPPolicyRule {
    public static let id = "JSON_SYNTAX_ERROR"
    public static let severity = Severity.error
    public static let stage = KeyPolicyRuleStage.document
    public static let description = "The policy is not valid JSON, or not a JSON object, so setIamPolicy would reject it."
    public static let fix = "Correct the JSON at the reported line and column."
    public static let triggering: [GCPRuleExample] = [#"{"version":1,"bindings":[}"#, "[]"]
    public static let nonTriggering: [GCPRuleExample] = [GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding))]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        if let error = input.syntaxError {
            var finding = input.finding(id, severity, error.message, at: nil)
            if input.request.proposedFile != nil {
                finding.file = input.request.proposedFile
                finding.line = error.position.line
                finding.column = error.position.column
            }
            return [finding]
        }
        if input.proposed == nil { return [finding(input, "the policy is not a JSON object", at: "")] }
        return []
    }
}

/// A key appears twice in one object.
public enum GCPDuplicateJSONKeyRule: GCPPolicyRule {
    public static let id = "DUPLICATE_JSON_KEY"
    public static let severity = Severity.error
    public static let stage = KeyPolicyRuleStage.document
    public static let description = "An object holds the same key twice; which value the service keeps is not defined."
    public static let fix = "Keep one of the two members."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: #"{"version":1,"version":3,"etag":"BwE=","bindings":[\#(GCPRuleExample.adminBinding)]}"#)
    ]
    public static let nonTriggering: [GCPRuleExample] = [GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding))]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        (input.document?.duplicateKeys ?? []).map { entry in
            var f = finding(input, "duplicate key at \(entry.path)", at: entry.path)
            if input.request.proposedFile != nil {
                f.file = input.request.proposedFile
                f.line = entry.position.line
                f.column = entry.position.column
            }
            return f
        }
    }
}

/// A member the analysis reads has the wrong JSON type.
public enum GCPInvalidPolicyElementRule: GCPPolicyRule {
    public static let id = "INVALID_POLICY_ELEMENT"
    public static let severity = Severity.error
    public static let stage = KeyPolicyRuleStage.grammar
    public static let description = "A member the analysis reads has the wrong JSON type: `etag` is a string, `bindings` an array of objects, a binding's `role` a string, its `members` an array and its `condition` an object of strings (`title`, `description`, `expression`). Such a policy cannot be read faithfully, so nothing else said about it can be trusted. Members the analysis does not read (`auditConfigs`, …) are not checked; `version` is INVALID_POLICY_VERSION's."
    public static let fix = "Give the member the type the IAM API uses (start from `gcloud kms keys get-iam-policy --format=json`), e.g. `\"members\": [\"group:kms-admins@example.com\"]`."
    public static let triggering: [GCPRuleExample] = [
        #"{"version":1,"etag":"BwE=","bindings":{"role":"roles/cloudkms.admin","members":["group:kms-admins@example.com"]}}"#,
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding + #",{"role":"roles/cloudkms.viewer","members":"group:a@example.com"}"#)),
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding
            + #",{"role":"roles/cloudkms.viewer","members":["group:a@example.com"],"condition":{"title":"t","expression":["request.time < timestamp('2030-01-01T00:00:00Z')"]}}"#, version: 3)),
        GCPRuleExample(proposed: #"{"version":1,"etag":7,"bindings":[\#(GCPRuleExample.adminBinding)]}"#),
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding)),
        #"{"etag":"ACAB"}"#,
        GCPRuleExample(proposed: #"{"version":3,"etag":"BwE=","bindings":[\#(GCPRuleExample.adminBinding)],"auditConfigs":[{"service":"allServices","auditLogConfigs":[{"logType":"DATA_READ"}]}]}"#),
    ]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        var found: [Finding] = []
        if let root = input.document?.root, input.proposed != nil {
            found += IAMPolicy.shapeProblems(root).map { $0.finding(id, severity, document: input.document, file: input.request.proposedFile) }
        }
        if let current = input.request.current, let root = try? JSONParser.parse(current.document).root {
            found += IAMPolicy.shapeProblems(root).map { $0.finding(id, severity, document: nil, file: nil, prefix: "in the current policy: ") }
        }
        return found
    }
}

/// `version` is not 1, 2 or 3.
public enum InvalidPolicyVersionRule: GCPPolicyRule {
    public static let id = "INVALID_POLICY_VERSION"
    public static let severity = Severity.error
    public static let stage = KeyPolicyRuleStage.grammar
    public static let description = "An IAM policy's version is 1, 2 or 3 (3 when any binding has a condition); anything else is rejected."
    public static let fix = "Set \"version\": 3 (or 1 for a policy without conditions)."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding, version: 4)),
        GCPRuleExample(proposed: #"{"version":"3","etag":"BwE=","bindings":[\#(GCPRuleExample.adminBinding)]}"#),
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding, version: 3)),
        GCPRuleExample(proposed: #"{"etag":"BwE=","bindings":[\#(GCPRuleExample.adminBinding)]}"#),
    ]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        guard let policy = input.proposed else { return [] }
        if let text = policy.versionText {
            return [finding(input, "version \(text) is not 1, 2 or 3", at: "version")]
        }
        if let version = policy.version, !(1...3).contains(version) {
            return [finding(input, "version \(version) is not 1, 2 or 3", at: "version")]
        }
        return []
    }
}

/// A conditional binding in a policy whose version is not 3.
public enum ConditionRequiresVersion3Rule: GCPPolicyRule {
    public static let id = "CONDITION_REQUIRES_VERSION_3"
    public static let severity = Severity.error
    public static let stage = KeyPolicyRuleStage.grammar
    public static let description = "Conditional role bindings need policy version 3; setIamPolicy rejects them at a lower version."
    public static let fix = "Set \"version\": 3."
    static let conditional =
        #"{"role":"roles/cloudkms.cryptoKeyEncrypterDecrypter","members":["serviceAccount:app@my-project.iam.gserviceaccount.com"],"condition":{"title":"until 2030","expression":"request.time < timestamp('2030-01-01T00:00:00Z')"}}"#
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding + "," + conditional, version: 1))
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding + "," + conditional, version: 3))
    ]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        guard let policy = input.proposed, policy.hasConditions, policy.version != 3, policy.versionText == nil else { return [] }
        let first = policy.bindings.first { $0.condition != nil }
        return [finding(input, "\(first?.path ?? "a binding") has a condition but the policy version is \(policy.version.map(String.init) ?? "unset (1)")", at: "version")]
    }
}

/// No etag: the write would not be conditional.
public enum EtagMissingRule: GCPPolicyRule {
    public static let id = "ETAG_MISSING"
    public static let severity = Severity.warning
    public static let stage = KeyPolicyRuleStage.grammar
    public static let description = "Without an etag, setIamPolicy overwrites whatever policy is live, including a change someone made since you read it. (`run` always sends the etag it read at backup time.)"
    public static let fix = "Start from a fresh `gcloud kms keys get-iam-policy` and keep its etag."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: #"{"version":1,"bindings":[\#(GCPRuleExample.adminBinding)]}"#)
    ]
    public static let nonTriggering: [GCPRuleExample] = [GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding))]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        guard let policy = input.proposed, (policy.etag ?? "").isEmpty, input.request.proposed.etag == nil else { return [] }
        return [finding(input, "the policy has no etag, so writing it would not detect concurrent changes", at: "")]
    }
}

/// A `…_withcond_…` role: a version-1 read of a policy with conditions.
public enum HiddenConditionalBindingRule: GCPPolicyRule {
    public static let id = "HIDDEN_CONDITIONAL_BINDING"
    public static let severity = Severity.error
    public static let stage = KeyPolicyRuleStage.grammar
    public static let description = "A role named `…_withcond_<hash>` is how the service shows a conditional binding to a reader that asked for version 1; writing it back would destroy the conditions."
    public static let fix = "Read the policy with `options.requestedPolicyVersion=3` (`gcloud` does) and edit that."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding
            + #",{"role":"roles/cloudkms.cryptoKeyEncrypterDecrypter_withcond_2656c3b2c8e5d4bf6d1e","members":["serviceAccount:app@my-project.iam.gserviceaccount.com"]}"#))
    ]
    public static let nonTriggering: [GCPRuleExample] = [GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding))]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        (input.proposed?.bindings ?? []).filter { $0.role.contains("_withcond_") }.map {
            finding(input, "\($0.role) is a conditional binding read at version 1; writing it back destroys its condition", at: "\($0.path).role")
        }
    }
}
