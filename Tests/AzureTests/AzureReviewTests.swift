import Foundation
import HTTP
import PolicyChange
import Synchronization
import Testing

@testable import Azure

/// A fixed token per audience, so provider tests see exactly which requests carry it.
struct FixedTokenSource: AzureTokenSource {
    var name: String { "fixed" }
    func fetchToken(for audience: AzureAudience) async throws -> AzureAccessToken {
        AzureAccessToken(token: "secret-bearer-token", expiresOn: Date().addingTimeInterval(3600))
    }
}

enum ReviewFixture {
    typealias X = AzureRuleExample

    static func provider(_ transport: ScriptedTransport, model: AzurePermissionModel? = nil) throws -> AzureKeyVaultProvider {
        let tokens = AzureTokenCache(source: FixedTokenSource())
        let arm = AzureAPI(service: "ARM", audience: .management, transport: transport, tokens: tokens)
        let dataPlane = AzureAPI(service: "Key Vault", audience: .vault, transport: transport, tokens: tokens)
        let target = AzureTarget(vault: X.vaultID, key: X.keyName, model: model)
        return AzureKeyVaultProvider(
            target: target, endpoints: try AzureEndpoints(overrides: [:]), arm: arm, dataPlane: dataPlane, tokens: tokens,
            dialect: AzureKeyVaultDialect(pinnedModel: model, keyName: X.keyName))
    }

    static func isList(_ r: HTTPRequest) -> Bool { r.url.path.hasSuffix("/roleAssignments") && r.method == .get }
}

@Suite("Azure review: paging role assignments")
struct AzurePagingReviewTests {
    typealias X = AzureRuleExample

    @Test("a nextLink to another host is refused and never receives the bearer token")
    func nextLinkOffHost() async throws {
        let transport = ScriptedTransport { request in
            if request.url.host != "management.azure.com" { return json(#"{"value":[]}"#) }
            if ReviewFixture.isList(request) {
                return json(#"{"value":[],"nextLink":"https://attacker.example/steal?x=1"}"#)
            }
            return json(X.vault(rbac: true))
        }
        let provider = try ReviewFixture.provider(transport)
        await #expect(throws: ProviderError.self) { _ = try await provider.readPolicy() }
        let offHost = transport.sent.filter { $0.url.host != "management.azure.com" }
        #expect(offHost.isEmpty, "sent to \(offHost.map(\.url))")
        do {
            _ = try await provider.readPolicy()
        } catch let error as ProviderError {
            #expect(error.message.contains("nextLink"))
            #expect(!error.message.contains("\n"))
            #expect(!error.message.contains("secret-bearer-token"))
        }
    }

    @Test("a nextLink that never ends is an error, not a silently truncated list of role assignments")
    func nextLinkLoop() async throws {
        let transport = ScriptedTransport { request in
            if ReviewFixture.isList(request) {
                return json(#"{"value":[],"nextLink":"https://management.azure.com\#(X.vaultID)/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$skiptoken=same"}"#)
            }
            return json(X.vault(rbac: true))
        }
        let provider = try ReviewFixture.provider(transport)
        await #expect(throws: ProviderError.self) { _ = try await provider.readPolicy() }
        #expect(transport.sent.filter(ReviewFixture.isList).count <= 101)
    }
}
