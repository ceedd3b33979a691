// policy-change-testbed: the real command line (`PolicyChangeMain`) against a
// key kept in files (FileKey.swift), plus crash injection (CrashInjection.swift).
// Only the end-to-end tests run it; the product binary never reads these
// variables.
import Foundation
import PolicyChange
import PolicyChangeCLI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

let killPoint: KillPoint?
do {
    killPoint = try ProcessInfo.processInfo.environment[TestbedEnvironment.killAfter].flatMap { try KillPoint(parsing: $0) }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(64)
}
if let value = ProcessInfo.processInfo.environment[TestbedEnvironment.killInWrite], !value.isEmpty,
    FileKeyProvider.KillPoint(rawValue: value) == nil
{
    FileHandle.standardError.write(Data("policy-change-testbed: \(TestbedEnvironment.killInWrite) must be 'before' or 'after', not '\(value)'\n".utf8))
    exit(64)
}

await ProviderRegistry.$storageDecorator.withValue(KillingStorage.decorator(killAfter: killPoint)) {
    await PolicyChangeMain.main(factory: FileKeyFactory())
}
