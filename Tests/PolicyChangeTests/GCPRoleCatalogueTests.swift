import Foundation
import PolicyChange
import Testing

@Suite("GCP predefined-role catalogue")
struct GCPRoleCatalogueTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test("the checked-in catalogue is what scripts/gen-gcp-roles.py writes from data/gcp/predefined-kms-roles.json")
    func catalogueIsFresh() throws {
        let script = Self.packageRoot.appendingPathComponent("scripts/gen-gcp-roles.py")
        let data = Self.packageRoot.appendingPathComponent("data/gcp/predefined-kms-roles.json")
        try #require(FileManager.default.fileExists(atPath: data.path), "the role data is not at \(data.path)")
        let (status, output) = try Self.run([script.path, "--data", data.path, "--stdout"])
        #expect(status == 0)
        let checkedIn = try Data(contentsOf: Self.packageRoot.appendingPathComponent("Sources/PolicyChange/GCP/PredefinedKMSRoles.swift"))
        #expect(output == String(decoding: checkedIn, as: UTF8.self),
                "PredefinedKMSRoles.swift is stale: run python3 scripts/gen-gcp-roles.py")
    }

    @Test("the generator refuses a basic role carrying a permission outside cloudkms.*")
    func basicRolesAreRestricted() throws {
        let script = Self.packageRoot.appendingPathComponent("scripts/gen-gcp-roles.py")
        let data = Self.packageRoot.appendingPathComponent("data/gcp/predefined-kms-roles.json")
        var document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: data)) as? [String: Any])
        var roles = try #require(document["roles"] as? [[String: Any]])
        let editor = try #require(roles.firstIndex { $0["name"] as? String == "roles/editor" })
        roles[editor]["includedPermissions"] = ["cloudkms.cryptoKeys.get", "storage.buckets.get"]
        document["roles"] = roles
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gcp-roles-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: document).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try Self.run([script.path, "--data", file.path, "--stdout"]).status != 0)
    }

    @Test("every role in the data file is in the catalogue, and only cloudkms.* permissions are")
    func everyRole() throws {
        let data = Self.packageRoot.appendingPathComponent("data/gcp/predefined-kms-roles.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: data)) as? [String: Any])
        let names = try #require(document["roles"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        #expect(Set(names) == Set(PredefinedKMSRoles.roles.keys))
        for name in ["roles/owner", "roles/editor", "roles/viewer", "roles/cloudkms.admin", "roles/cloudkms.cryptoOperator",
                     "roles/cloudkms.importer", "roles/cloudkms.protectedResourcesViewer"] {
            #expect(PredefinedKMSRoles.roles[name] != nil, "\(name) is missing")
        }
        #expect(PredefinedKMSRoles.roles.values.allSatisfy { $0.allSatisfy { $0.hasPrefix("cloudkms.") } })
        // Service agents hold no cloudkms.* permission: known, granting nothing on a key.
        #expect(PredefinedKMSRoles.roles["roles/cloudkms.serviceAgent"] == [])
    }

    @Test("who may change the key's policy and who may use the key, as the sourced lists say")
    func keyFacts() {
        let roles = PredefinedKMSRoles.roles
        let setIamPolicy = "cloudkms.cryptoKeys.setIamPolicy"
        let decrypt = "cloudkms.cryptoKeyVersions.useToDecrypt", encrypt = "cloudkms.cryptoKeyVersions.useToEncrypt"
        // roles/cloudkms.admin administers the key but cannot use it directly, only through delegation.
        #expect(roles["roles/cloudkms.admin"]?.contains(setIamPolicy) == true)
        #expect(roles["roles/cloudkms.admin"]?.isDisjoint(with: [decrypt, encrypt]) == true)
        #expect(roles["roles/cloudkms.admin"]?.isSuperset(of: ["cloudkms.cryptoKeyVersions.useToDecryptViaDelegation",
                                                              "cloudkms.cryptoKeyVersions.useToEncryptViaDelegation"]) == true)
        #expect(roles["roles/owner"]?.isSuperset(of: [setIamPolicy, decrypt, encrypt]) == true)
        // roles/editor neither changes IAM policies nor uses keys.
        #expect(roles["roles/editor"]?.isDisjoint(with: [setIamPolicy, decrypt, encrypt]) == true)
        #expect(roles["roles/editor"]?.contains("cloudkms.cryptoKeys.getIamPolicy") == true)
        #expect(roles["roles/viewer"]?.contains("cloudkms.cryptoKeys.getIamPolicy") == true)
        #expect(roles["roles/viewer"]?.isDisjoint(with: [setIamPolicy, decrypt, encrypt]) == true)
        #expect(roles["roles/cloudkms.viewer"]?.contains("cloudkms.cryptoKeys.getIamPolicy") == false)
        #expect(roles["roles/cloudkms.cryptoKeyEncrypterDecrypter"] == [decrypt, encrypt, "cloudkms.locations.get",
                                                                        "cloudkms.locations.list"])
        #expect(roles["roles/cloudkms.cryptoOperator"]?.isSuperset(of: [decrypt, encrypt,
            "cloudkms.cryptoKeyVersions.useToSign", "cloudkms.cryptoKeyVersions.useToVerify"]) == true)
        #expect(roles.filter { $0.value.contains(setIamPolicy) }.keys.sorted() == ["roles/cloudkms.admin", "roles/owner"])
    }

    @Test("the analysis uses the catalogue: roles/editor does not meet a decrypt requirement; a service-agent role is known")
    func analysisUsesTheCatalogue() {
        let member = "serviceAccount:app@my-project.iam.gserviceaccount.com"
        func codes(_ role: String) -> [String] {
            let example = GCPRuleExample(
                proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding + #",{"role":"\#(role)","members":["\#(member)"]}"#),
                requirements: [Requirement(principal: member, actions: ["cloudkms.cryptoKeyVersions.useToDecrypt"])])
            return example.dialect.analyze(example.request).map(\.code)
        }
        #expect(codes("roles/editor").contains("REQUIRED_PERMISSION_MISSING"))
        #expect(!codes("roles/owner").contains("REQUIRED_PERMISSION_MISSING"))
        #expect(!codes("roles/cloudkms.cryptoKeyDecrypter").contains("REQUIRED_PERMISSION_MISSING"))
        #expect(!codes("roles/cloudkms.serviceAgent").contains("UNKNOWN_ROLE"))
        #expect(codes("roles/cloudkms.noSuchRole").contains("UNKNOWN_ROLE"))
    }
}
