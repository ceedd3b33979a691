import Foundation

func items(_ value: JSONValue, _ path: String) -> [(value: JSONValue, path: String)] {
    if let array = value.arrayValue { return array.enumerated().map { ($0.element, "\(path)[\($0.offset)]") } }
    return [(value, path)]
}

struct JSONSyntaxErrorRule: KeyPolicyRule {
    static let id = "JSON_SYNTAX_ERROR"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.document
    static let description = "The policy is not valid JSON (RFC 8259, strictly: no comments, no trailing commas). KMS rejects it."
    static let fix = "Correct the JSON at the line and column given; a missing comma between pasted statements is the usual cause."
    static let triggering: [RuleExample] = [
        #"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow"},]}"#,
        #"{"Version":"2012-10-17" "Statement":[]}"#,
    ]
    static let nonTriggering: [RuleExample] = [.init(proposed: RuleExample.statements(RuleExample.rootStatement))]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        guard let error = input.proposed.syntaxError else { return [] }
        return [Finding(
            code: id, severity: severity, message: error.message, line: error.position.line, column: error.position.column,
            file: input.proposed.file)]
    }
}

struct DuplicateJSONKeyRule: KeyPolicyRule {
    static let id = "DUPLICATE_JSON_KEY"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.document
    static let description = "A key appears twice in one JSON object, at any depth. Readers disagree on which value wins, so what a reviewer sees may not be what KMS enforces."
    static let fix = "Keep one of the two members; merge their values if both were meant."
    static let triggering: [RuleExample] = [
        .init(proposed: RuleExample.statements(#"{"Effect":"Allow","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}"#)),
        .init(proposed: RuleExample.statements(#"{"Effect":"Allow","Principal":{"AWS":"111122223333","AWS":"444455556666"},"Action":"kms:*","Resource":"*"}"#)),
    ]
    static let nonTriggering: [RuleExample] = [.init(proposed: RuleExample.statements(RuleExample.rootStatement))]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        guard let document = input.proposed.document else { return [] }
        return document.duplicateKeys.map { duplicate in
            Finding(
                code: id, severity: severity,
                message: "the key \"\(duplicate.path.split(separator: ".").last ?? "")\" appears twice in one object; "
                    + "KMS and other readers disagree on which value wins",
                path: duplicate.path, line: duplicate.position.line, column: duplicate.position.column, file: input.proposed.file)
        }
    }
}

struct PolicySizeExceededRule: KeyPolicyRule {
    static let id = "POLICY_SIZE_EXCEEDED"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.document
    static let description = "The policy is longer than the 32,768 bytes KMS accepts for a key policy."
    static let fix = "Merge statements that grant the same actions, list principals once, or move grants to IAM policies through the account's :root delegation."
    static let triggering: [RuleExample] = [
        .init(proposed: #"{"Version":"2012-10-17","Id":""# + String(repeating: "x", count: 32_768) + #"","Statement":[]}"#),
    ]
    static let nonTriggering: [RuleExample] = [.init(proposed: RuleExample.statements(RuleExample.rootStatement))]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        let size = input.proposed.data.count
        guard size > AWSKeyPolicyDialect.maximumPolicySize else { return [] }
        return [Finding(
            code: id, severity: severity,
            message: "the policy is \(size) bytes; KMS accepts at most \(AWSKeyPolicyDialect.maximumPolicySize)")]
    }
}

struct InvalidCharactersRule: KeyPolicyRule {
    static let id = "INVALID_CHARACTERS"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.document
    static let description = "The policy holds a character KMS does not accept in a key policy: only tab, line feed, carriage return and U+0020 to U+00FF are allowed. Typographic quotes and dashes pasted from documents are the usual cause."
    static let fix = "Replace the character (for example “ ” with \") or write it as a \\u escape inside a string."
    static let triggering: [RuleExample] = [
        .init(proposed: RuleExample.statements(#"{"Sid":"Key – admins","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}"#)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: RuleExample.statements(#"{"Sid":"Schlüssel","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}"#)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        let text = String(decoding: input.proposed.data, as: UTF8.self)
        var line = 1, column = 1
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if !(v == 0x09 || v == 0x0A || v == 0x0D || (0x20...0xFF).contains(v)) && v != 0xFEFF {
                let hex = String(v, radix: 16, uppercase: true)
                return [Finding(
                    code: id, severity: severity,
                    message: "the character U+\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex) is not accepted by KMS in a key policy",
                    line: line, column: column, file: input.proposed.file)]
            }
            if v == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return []
    }
}
