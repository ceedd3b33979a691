import Foundation
import PolicyChange
import Testing

@Suite("KMS action catalogue and action patterns")
struct KMSActionCatalogueTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("the checked-in catalogue is what scripts/gen-kms-catalogue.py writes from the pinned botocore model")
    func catalogueIsFresh() throws {
        let script = Self.packageRoot.appendingPathComponent("scripts/gen-kms-catalogue.py")
        let models = Self.packageRoot.appendingPathComponent("../shared/fixtures/aws/models").standardizedFileURL
        try #require(FileManager.default.fileExists(atPath: models.appendingPathComponent("kms.service-2.json").path),
                     "the pinned botocore models are not at \(models.path)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--models", models.path, "--stdout"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let checkedIn = try Data(contentsOf: Self.packageRoot.appendingPathComponent("Sources/PolicyChange/AWS/KMSActionCatalogue.swift"))
        #expect(String(decoding: output, as: UTF8.self) == String(decoding: checkedIn, as: UTF8.self),
                "KMSActionCatalogue.swift is stale: run python3 scripts/gen-kms-catalogue.py")
    }

    @Test("ReEncrypt is authorised as ReEncryptFrom and ReEncryptTo; there is no kms:ReEncrypt action")
    func reEncrypt() {
        #expect(ActionPattern("kms:ReEncrypt*").expansion() == ["kms:ReEncryptFrom", "kms:ReEncryptTo"])
        #expect(!KMSActionCatalogue.actions.contains("kms:ReEncrypt"))
        #expect(KMSActionCatalogue.actions.contains("kms:SynchronizeMultiRegionKey"))
        #expect(KMSActionCatalogue.actions.count <= ActionSet.capacity)
    }

    @Test("kms:GenerateDataKey* is the four data-key operations")
    func generateDataKey() {
        #expect(ActionPattern("kms:GenerateDataKey*").expansion() == [
            "kms:GenerateDataKey", "kms:GenerateDataKeyPair", "kms:GenerateDataKeyPairWithoutPlaintext",
            "kms:GenerateDataKeyWithoutPlaintext",
        ])
    }

    @Test("patterns glob with * and ?, case-insensitively", arguments: [
        ("kms:*", "kms:Decrypt", true),
        ("*", "kms:Decrypt", true),
        ("KMS:decrypt", "kms:Decrypt", true),
        ("kms:Get?eyPolicy", "kms:GetKeyPolicy", true),
        ("kms:Get?eyPolicy", "kms:GetKKeyPolicy", false),
        ("kms:*Key", "kms:DescribeKey", true),
        ("kms:*Key", "kms:DescribeKeys", false),
        ("kms:Decrypt", "kms:DecryptX", false),
        ("kms:*crypt*", "kms:ReEncryptTo", true),
        ("kms:", "kms:Decrypt", false),
        ("kms:Describe*Key*", "kms:DescribeKey", true),
    ])
    func glob(_ pattern: String, _ action: String, _ expected: Bool) {
        #expect(ActionPattern(pattern).matches(action) == expected)
    }
}
