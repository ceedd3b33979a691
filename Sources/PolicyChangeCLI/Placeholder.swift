import ArgumentParser

public struct PolicyChangeCommand: AsyncParsableCommand {
    public init() {}
}
