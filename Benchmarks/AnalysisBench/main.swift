// Analysis benchmark (not a test): a ~32 KB key policy naming 100 principals,
// analysed against a current policy, N times. `make bench-analysis` runs it in
// release mode; the target is under 5 ms per policy.
import Foundation
import PolicyChange

func policy(principals: Int, extra: Int) -> String {
    var statements = [RuleExample.rootStatement]
    for i in 0..<principals {
        let role = "arn:aws:iam::\(String(200_000_000_000 + i)):role/application-role-number-\(i)"
        let actions = i % 3 == 0
            ? #"["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"]"#
            : #"["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"]"#
        let condition = i % 4 == 0 ? #","Condition":{"StringEquals":{"kms:ViaService":"kafka.us-east-1.amazonaws.com"}}"# : ""
        statements.append(#"{"Sid":"Statement \#(i)","Effect":"Allow","Principal":{"AWS":"\#(role)"},"Action":\#(actions),"Resource":"*"\#(condition)}"#)
    }
    var text = #"{"Version":"2012-10-17","Id":"bench","Statement":["# + statements.joined(separator: ",\n") + "]}"
    if extra > 0 { text = text.replacingOccurrences(of: #""Id":"bench""#, with: #""Id":"bench\#(String(repeating: "-", count: extra))""#) }
    return text
}

let arguments = CommandLine.arguments
let iterations = arguments.count > 1 ? Int(arguments[1]) ?? 200 : 200
var text = policy(principals: 100, extra: 0)
text = policy(principals: 100, extra: max(0, 32_000 - text.utf8.count))
if let out = arguments.count > 2 ? arguments[2] : nil { try Data(text.utf8).write(to: URL(fileURLWithPath: out)) }
let current = PolicySnapshot(text: policy(principals: 90, extra: 0))
let proposed = PolicySnapshot(text: text)
let requirement = Requirement(principal: "arn:aws:iam::200000000003:role/application-role-number-3", preset: .confluent)
let request = AnalysisRequest(
    current: current, proposed: proposed, requirements: [requirement],
    caller: "arn:aws:sts::111122223333:assumed-role/Admin/bench", keyIdentifier: RuleExample.keyARN)
let dialect = AWSKeyPolicyDialect()
var findings = dialect.analyze(request)  // warm-up
// A third argument: write the findings there (JSON lines), to check that a speed-up changes none.
if let out = arguments.count > 3 ? arguments[3] : nil {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let lines = try findings.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: out))
}
let clock = ContinuousClock()
let elapsed = clock.measure {
    for _ in 0..<iterations { findings = dialect.analyze(request) }
}
let perPolicy = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
print("policy: \(proposed.document.count) bytes, 100 principals; \(findings.count) findings")
print(String(format: "analysis (with current policy): %.3f ms per policy over %d runs", perPolicy / Double(iterations), iterations))
