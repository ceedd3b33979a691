import PolicyChangeCLI

await PolicyChangeCommand.main()
