import Foundation
import PolicyChange
import Testing

@testable import RunStore

/// Backups and run files are written atomically, mode 0600 exactly, and
/// their SHA-256 is what the journal records (DESIGN.md §4).
@Suite("RunStore: durable files and backups")
struct DurableFileTests {
    static let keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    static let policy = PolicySnapshot(text: """
        {
          "Version": "2012-10-17",
          "Id": "key-default-1",
          "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}
          ]
        }

        """)
    /// 2026-11-28T02:30:00Z
    static let fixedTime = Date(timeIntervalSince1970: 1_795_833_000)

    @Test("SHA-256 matches the standard's test vectors")
    func sha256Vectors() {
        #expect(DurableFile.sha256(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(DurableFile.sha256(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("an atomic write leaves exactly the new file, mode 0600, even over an existing 0644 file")
    func atomicWrite() async throws {
        try await withTemporaryDirectory { folder in
            let path = "\(folder)/key-policy.json"
            try Data("old".utf8).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o644)

            try DurableFile.writeAtomically(Self.policy.document, to: path)

            #expect(FileManager.default.contents(atPath: path) == Self.policy.document)
            #expect(permissions(of: path) == 0o600)
            // No temporary file left behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["key-policy.json"])
        }
    }

    @Test("the mode asked for is the mode the file gets, whatever the umask allowed")
    func explicitMode() async throws {
        try await withTemporaryDirectory { folder in
            // With the usual umask 022, open(2) alone would give 0644.
            let path = "\(folder)/report.json"
            try DurableFile.writeAtomically(Data("{}".utf8), to: path, mode: 0o666)
            #expect(permissions(of: path) == 0o666)
        }
    }

    @Test("a write into a folder that does not exist fails with the path in the message")
    func writeIntoMissingFolder() async throws {
        await withTemporaryDirectory { folder in
            let path = "\(folder)/missing/x.json"
            #expect {
                try DurableFile.writeAtomically(Data("{}".utf8), to: path)
            } throws: { error in
                "\(error)".contains("\(folder)/missing")
            }
        }
    }

    @Test("makeDirectory creates parents, mode 0700")
    func makeDirectory() async throws {
        try await withTemporaryDirectory { folder in
            let path = "\(folder)/state/runs/r1"
            try DurableFile.makeDirectory(path)
            #expect(permissions(of: path) == 0o700)
            #expect(permissions(of: "\(folder)/state") == 0o700)
            try DurableFile.makeDirectory(path)  // again: fine
        }
    }

    // MARK: FileRunStorage

    @Test("a backup is named <cloud>-<key-short>-<UTC timestamp>.json, mode 0600, with the SHA-256 of its bytes")
    func backupFile() async throws {
        try await withTemporaryDirectory { folder in
            let storage = try FileRunStorage(folder: folder, clock: { Self.fixedTime })
            let file = try storage.writeBackup(Self.policy, cloud: .aws, key: Self.keyARN, directory: nil)

            #expect(file.path == "\(folder)/aws-1234abcd-20261128T023000Z.json")
            #expect(permissions(of: file.path) == 0o600)
            #expect(FileManager.default.contents(atPath: file.path) == Self.policy.document)
            #expect(file.bytes == Self.policy.document.count)
            #expect(file.sha256 == DurableFile.sha256(Self.policy.document))
            if let independent = try sha256sum(file.path) {
                #expect(file.sha256 == independent)
            }
            #expect(try storage.read(file) == Self.policy.document)
        }
    }

    @Test("backups go to the backup step's folder when it names one, created if needed")
    func backupDirectory() async throws {
        try await withTemporaryDirectory { folder in
            let storage = try FileRunStorage(folder: "\(folder)", clock: { Self.fixedTime })
            let file = try storage.writeBackup(Self.policy, cloud: .aws, key: Self.keyARN, directory: "\(folder)/backups")
            #expect(file.path.hasPrefix("\(folder)/backups/aws-"))
            #expect(permissions(of: file.path) == 0o600)
        }
    }

    @Test("two backups in the same second get two files")
    func backupsDoNotOverwriteEachOther() async throws {
        try await withTemporaryDirectory { folder in
            let storage = try FileRunStorage(folder: folder, clock: { Self.fixedTime })
            let first = try storage.writeBackup(Self.policy, cloud: .aws, key: Self.keyARN, directory: nil)
            let other = PolicySnapshot(text: "{\"Version\": \"2012-10-17\", \"Statement\": []}")
            let second = try storage.writeBackup(other, cloud: .aws, key: Self.keyARN, directory: nil)
            #expect(first.path != second.path)
            #expect(try storage.read(first) == Self.policy.document)
            #expect(try storage.read(second) == other.document)
        }
    }

    @Test("reading a run's file refuses it when its bytes changed, or it is gone")
    func readChecksTheDigest() async throws {
        try await withTemporaryDirectory { folder in
            let storage = try FileRunStorage(folder: folder, clock: { Self.fixedTime })
            let file = try storage.writeBackup(Self.policy, cloud: .aws, key: Self.keyARN, directory: nil)

            var edited = Self.policy.document
            edited[edited.startIndex + 5] = UInt8(ascii: "X")
            try edited.write(to: URL(fileURLWithPath: file.path))
            #expect {
                try storage.read(file)
            } throws: { error in
                "\(error)".contains("changed since the run wrote it")
            }

            try FileManager.default.removeItem(atPath: file.path)
            #expect {
                try storage.read(file)
            } throws: { error in
                "\(error)".contains("missing")
            }
        }
    }

    @Test("artifacts are written in the run's folder, mode 0600")
    func artifacts() async throws {
        try await withTemporaryDirectory { folder in
            let storage = try FileRunStorage(folder: folder)
            let file = try storage.writeArtifact(named: "proposed.json", contents: Self.policy.document)
            #expect(file.path == "\(folder)/proposed.json")
            #expect(permissions(of: file.path) == 0o600)
            #expect(try storage.read(file) == Self.policy.document)
        }
    }

    @Test("key short names are safe in file names", arguments: [
        (keyARN, "1234abcd"),
        ("alias/prod-cluster-key", "prod-cluster-key"),
        ("arn:aws:kms:us-east-1:111122223333:alias/prod key", "prod_key"),
        ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/keys/cmk1", "cmk1"),
        ("projects/p/locations/global/keyRings/r/cryptoKeys/kafka-key", "kafka-key"),
    ])
    func shortNames(_ key: String, _ expected: String) {
        #expect(FileRunStorage.shortName(of: key) == expected)
    }
}
