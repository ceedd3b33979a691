import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The fake is strict, so a client bug fails a test: wrong audience, wrong
/// api-version, unknown path, wrong body shape are all errors.
@Suite("Azure end to end: the conformance fake is strict")
struct AzureFakeTests {
    typealias S = AzureScenario

    func send(_ s: S, _ method: String, _ path: String, token: String? = nil, body: String? = nil, form: Bool = false) async throws
        -> (Int, [String: Any])
    {
        var request = URLRequest(url: URL(string: s.base + path)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue(form ? "application/x-www-form-urlencoded" : "application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    func token(_ s: S, scope: String) async throws -> String {
        let form = "client_id=\(S.clientID)&scope=\(scope.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&client_secret=\(S.clientSecret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&grant_type=client_credentials"
        let (status, body) = try await send(s, "POST", "/\(S.tenant)/oauth2/v2.0/token", body: form, form: true)
        #expect(status == 200)
        return body["access_token"] as? String ?? ""
    }

    @Test("an ARM token on the data plane is 401; a wrong api-version is 400; an unknown path is 404; a vault PUT is refused; a bad body is 400")
    func strict() async throws {
        try await S.with(S.accessPolicyScenario()) { s in
            let arm = try await token(s, scope: "https://management.azure.com/.default")
            let vault = try await token(s, scope: "https://vault.azure.net/.default")
            #expect(try await send(s, "GET", "/keys/cmk?api-version=7.5", token: arm).0 == 401)
            #expect(try await send(s, "GET", "/keys/cmk?api-version=7.5", token: vault).0 == 200)
            #expect(try await send(s, "GET", "/keys/cmk?api-version=7.4", token: vault).0 == 400)
            #expect(try await send(s, "GET", "\(S.vaultID)?api-version=2023-07-01", token: arm).0 == 400)
            #expect(try await send(s, "GET", "\(S.vaultID)?api-version=2025-05-01", token: vault).0 == 401)
            #expect(try await send(s, "GET", "\(S.vaultID)?api-version=2025-05-01", token: arm + "x").0 == 401)
            #expect(try await send(s, "GET", "\(S.vaultID)/secrets?api-version=2025-05-01", token: arm).0 == 404)
            #expect(try await send(s, "PUT", "\(S.vaultID)?api-version=2025-05-01", token: arm, body: "{}").0 == 400)
            #expect(try await send(s, "PUT", "\(S.vaultID)/accessPolicies/add?api-version=2025-05-01", token: arm, body: #"{"accessPolicies":[]}"#).0 == 400)
            let (status, error) = try await send(s, "POST", "/\(S.tenant)/oauth2/v2.0/token", body: "client_id=\(S.clientID)&scope=https%3A%2F%2Fvault.azure.net%2F.default&client_secret=nope&grant_type=client_credentials", form: true)
            #expect(status == 401 && (error["error_description"] as? String ?? "").hasPrefix("AADSTS7000215"))
        }
    }

    @Test("RBAC: a failing verify check deletes the new assignment by id and verifies: exit 5")
    func rbacVerifyFails() async throws {
        try await S.with(S.rbacScenario()) { s in
            let before = try await s.liveAssignments().count
            let r = try await s.run("rbac-verify-fails.yaml")
            #expect(r.exitedNormally && r.status == 5, "\(r)")
            #expect(s.writes().map { $0["operation"] as? String ?? "" } == ["roleAssignments_Create", "roleAssignments_Delete"], "\(s.writes())")
            let created = s.writes().first?["path"] as? String ?? "a", deleted = s.writes().last?["path"] as? String ?? "b"
            #expect(created == deleted, "the rollback deletes exactly the assignment it created")
            #expect(try await s.liveAssignments().count == before)
            #expect(try s.lastRun().events.contains { $0.event == .rollbackVerified })
        }
    }
}
