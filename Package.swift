// swift-tools-version: 6.0
//
// Module layout (DESIGN.md §2). Dependencies point one way:
//   policy-change → PolicyChangeCLI → {RunbookYAML, RunStore, AWS, CurlTransport} → PolicyChange / HTTP
// The core (`PolicyChange`) does no I/O and imports no C library; only
// `CurlTransport` imports `CCurl`, only `RunbookYAML` imports `CLibYAML`.
import PackageDescription

let package = Package(
    name: "policy-change",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "policy-change", targets: ["policy-change"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // MARK: C libraries from the system (apt: libyaml-dev, libcurl4-openssl-dev)
        .systemLibrary(
            name: "CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"]), .brew(["libyaml"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]
        ),

        // MARK: Core: pure Swift, no I/O of its own
        .target(name: "PolicyChange"),

        // MARK: Edges
        .target(name: "RunbookYAML", dependencies: ["PolicyChange", "CLibYAML"]),
        .target(
            name: "RunStore",
            dependencies: ["PolicyChange", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "HTTP", dependencies: [.product(name: "Logging", package: "swift-log")]),
        .target(
            name: "CurlTransport",
            dependencies: ["HTTP", "CCurl", .product(name: "Logging", package: "swift-log")]
        ),
        // AWS Signature Version 4: pure computation over an HTTPRequest, no I/O
        // (soto-core keeps its signer in its own target the same way).
        .target(
            name: "SigV4",
            dependencies: ["HTTP", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "AWS",
            dependencies: [
                "PolicyChange", "HTTP", "SigV4",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .target(
            name: "GCP",
            dependencies: [
                "PolicyChange", "HTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .target(
            name: "Azure",
            dependencies: ["PolicyChange", "HTTP", .product(name: "Logging", package: "swift-log")]
        ),

        // MARK: Front end
        .target(
            name: "PolicyChangeCLI",
            dependencies: [
                "PolicyChange", "RunbookYAML", "RunStore", "HTTP", "CurlTransport", "AWS", "Azure", "GCP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "policy-change", dependencies: ["PolicyChangeCLI"]),
        // The real CLI with a file-backed AWS key and crash injection, for the
        // end-to-end and crash tests (DESIGN.md §9). Never shipped.
        .executableTarget(name: "policy-change-testbed", dependencies: ["PolicyChangeCLI", "PolicyChange"], path: "Tests/Testbed"),

        // The analysis benchmark (`make bench-analysis`): timed here, never in a test.
        .executableTarget(name: "policy-change-bench", dependencies: ["PolicyChange"], path: "Benchmarks/AnalysisBench"),

        // MARK: Tests
        .testTarget(name: "PolicyChangeTests", dependencies: ["PolicyChange"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "RunbookYAMLTests",
            dependencies: ["RunbookYAML", "PolicyChange"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "RunStoreTests", dependencies: ["RunStore", "PolicyChange"]),
        .testTarget(
            name: "HTTPTests",
            dependencies: ["HTTP", "CurlTransport", .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "SigV4Tests", dependencies: ["SigV4", "HTTP"]),
        .testTarget(
            name: "AWSTests",
            dependencies: ["AWS", "HTTP", "SigV4", "PolicyChange"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "GCPTests",
            dependencies: ["GCP", "HTTP", "PolicyChange", .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "AzureTests",
            dependencies: ["Azure", "HTTP", "PolicyChange", .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "PolicyChangeCLITests", dependencies: ["PolicyChangeCLI", "PolicyChange", "RunbookYAML"]),
        // Spawning and bounding child processes, running the product and reading
        // its run folders, for the end-to-end targets.
        .target(name: "ChildProcessSupport", dependencies: ["PolicyChange", "RunStore"], path: "Tests/ChildProcessSupport"),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["policy-change-testbed", "PolicyChange", "RunStore", "ChildProcessSupport"],
            resources: [.copy("Fixtures")]
        ),
        // The real `policy-change` binary against moto_server and the loopback
        // fakes and fault proxy of scripts/aws (DESIGN.md §9). Depending on the
        // executable makes `swift build --build-tests` build it.
        .testTarget(
            name: "AWSEndToEndTests",
            dependencies: ["policy-change", "PolicyChange", "RunStore", "ChildProcessSupport"],
            resources: [.copy("Fixtures")]
        ),
        // The real `policy-change` binary against the GCP conformance fake
        // (Tests/GCPEndToEndTests/Fake/gcp_fake.py).
        .testTarget(
            name: "GCPEndToEndTests",
            dependencies: ["policy-change", "PolicyChange", "RunStore", "ChildProcessSupport"],
            resources: [.copy("Fixtures"), .copy("Fake")]
        ),
        // The real `policy-change` binary against the Azure conformance fake
        // (Tests/AzureEndToEndTests/Fake/azure_fake.py).
        .testTarget(
            name: "AzureEndToEndTests",
            dependencies: ["policy-change", "PolicyChange", "RunStore", "ChildProcessSupport"],
            resources: [.copy("Fixtures"), .copy("Fake")]
        ),
    ]
)
