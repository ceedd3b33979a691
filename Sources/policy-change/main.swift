import PolicyChangeCLI

await PolicyChangeMain.main()
