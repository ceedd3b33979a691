import Foundation
import HTTP
import PolicyChange

/// The `audit-log` check for Azure: Key Vault data-plane requests on this
/// vault and key answered Forbidden, from the AzureDiagnostics table of the
/// Log Analytics workspace the runbook names (`audit-log: { workspace: ID }`).
public struct LogAnalyticsAuditLog: AuditLogSource {
    let api: AzureAPI
    let base: URL
    let vaultName: String
    let keyName: String

    public init(api: AzureAPI, base: URL, vaultID: String, keyName: String) {
        self.api = api
        self.base = base
        self.vaultName = vaultID.split(separator: "/").last.map(String.init) ?? vaultID
        self.keyName = keyName
    }

    public func accessDeniedEvents(since: Date, until: Date, check: AuditLogCheck) async throws -> [AuditEvent] {
        guard let workspace = check.workspace, !workspace.isEmpty else {
            throw ProviderError(.invalidState, "the Azure audit-log check needs a Log Analytics workspace ('audit-log: { workspace: ID }')")
        }
        guard let url = AzureEndpoints.join(base, "/v1/workspaces/\(workspace)/query", "") else {
            throw ProviderError(.invalidState, "cannot build the Log Analytics URL for workspace '\(workspace)'")
        }
        let body = JSONValue.object([
            JSONMember("query", .string(Self.query(vault: vaultName, key: keyName, since: since, until: until))),
            JSONMember("timespan", .string("\(Self.iso(since))/\(Self.iso(until))")),
        ])
        let answer = try await api.json(.post, url, body: body, operation: "query workspace \(workspace)")
        return try Self.events(answer)
    }

    /// KQL over AzureDiagnostics (category AuditEvent). Every value is a KQL
    /// string literal, escaped, so a vault or key name cannot inject.
    public static func query(vault: String, key: String, since: Date, until: Date) -> String {
        let k = "/keys/\(key)"
        return """
            AzureDiagnostics
            | where TimeGenerated between (datetime(\(iso(since))) .. datetime(\(iso(until))))
            | where ResourceProvider == "MICROSOFT.KEYVAULT" and Category == "AuditEvent"
            | where Resource == \(literal(vault.uppercased()))
            | where requestUri_s contains \(literal(k + "/")) or requestUri_s contains \(literal(k + "?")) or requestUri_s endswith \(literal(k)) or id_s contains \(literal(k + "/")) or id_s endswith \(literal(k))
            | where ResultSignature == "Forbidden" or ResultType == "Forbidden" or httpStatusCode_d == 403
            | project TimeGenerated, OperationName, ResultSignature, identity_claim_oid_g, CallerIPAddress, requestUri_s, CorrelationId
            | order by TimeGenerated asc
            """
    }

    /// A double-quoted KQL string literal.
    public static func literal(_ text: String) -> String {
        var out = "\""
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20: out += String(format: "\\u%04x", s.value)
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    static func iso(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    /// Rows by column name; cells as strings whatever their JSON type (the
    /// documented example renders numbers as strings, real answers as numbers).
    static func events(_ answer: JSONValue) throws -> [AuditEvent] {
        guard let tables = answer["tables"]?.arrayValue else {
            throw ProviderError(.invalidResponse, "Log Analytics query: the answer has no 'tables'")
        }
        var out: [AuditEvent] = []
        for table in tables {
            let columns = (table["columns"]?.arrayValue ?? []).map { $0["name"]?.stringValue ?? "" }
            for row in table["rows"]?.arrayValue ?? [] {
                let cells = row.arrayValue ?? []
                func cell(_ name: String) -> String? {
                    guard let i = columns.firstIndex(of: name), i < cells.count else { return nil }
                    switch cells[i] {
                    case .string(let s): return s
                    case .number(let n): return n
                    case .bool(let b): return "\(b)"
                    default: return nil
                    }
                }
                let time = cell("TimeGenerated").flatMap(parseDate) ?? Date(timeIntervalSince1970: 0)
                out.append(
                    AuditEvent(
                        time: time, principal: cell("identity_claim_oid_g"), action: cell("OperationName"),
                        errorCode: cell("ResultSignature") ?? "Forbidden", id: cell("CorrelationId")))
            }
        }
        // A non-fatal query error is 200 OK with the rows found so far and an `error`
        // member: denials found are real, but "none found" proves nothing.
        if out.isEmpty, let error = answer["error"], error != .null {
            let code = error["code"]?.stringValue ?? "error"
            let inner = error["details"]?.arrayValue?.first?["message"]?.stringValue ?? error["message"]?.stringValue ?? ""
            let text = CloudText.oneLine(inner, limit: 200)
            throw ProviderError(
                .unavailable,
                "Log Analytics query: partial results (\(code): \(text)); cannot tell whether access was denied (narrow the window or retry)")
        }
        return out
    }

    static func parseDate(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }
}
