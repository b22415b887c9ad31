// swift-tools-version: 6.1
// The benchmark harness: a package of its own, so that a plain `swift build` of RegistryLedger
// does not compile it. Run from this directory: `swift package benchmark` (see BENCHMARKS.md).
import PackageDescription

let package = Package(
    name: "RegistryLedgerBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "RegistryLedger", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .target(
            name: "BenchSupport",
            dependencies: [.product(name: "RegistryLedger", package: "RegistryLedger")]
        ),
        // The SQLite peers (GRDB) that goals are measured against.
        .target(
            name: "Peers",
            dependencies: [
                "BenchSupport", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // `make bench-check`: every goal of SPEC §5 this store owns, one JSON line each.
        .executableTarget(
            name: "bench-check",
            dependencies: [
                "BenchSupport", "Peers", .product(name: "RegistryLedger", package: "RegistryLedger"),
                .product(name: "RegistryLedgerPostgres", package: "RegistryLedger"),
                .product(name: "PostgresFixture", package: "RegistryLedger"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "http-paging",
            dependencies: ["BenchSupport", .product(name: "RegistryAPI", package: "RegistryLedger")]
        ),
    ]
)

// Synchronous drivers for callgrind, perf and strace (BENCHMARKS.md), one per Sources/<name>.
for probe in ["time-travel-probe", "replay-probe", "verify-probe", "append-probe", "paging-probe"] {
    package.targets.append(.executableTarget(
        name: probe,
        dependencies: ["BenchSupport", .product(name: "RegistryLedger", package: "RegistryLedger")]
    ))
}

// One executable per suite under Benchmarks/<Name>, discovered by the benchmark plugin.
for suite in ["Paging", "Append", "Replay", "TimeTravel"] {
    package.targets.append(.executableTarget(
        name: suite,
        dependencies: [
            "BenchSupport",
            .product(name: "RegistryLedger", package: "RegistryLedger"),
            .product(name: "Benchmark", package: "benchmark"),
        ] + (suite == "Paging" ? ["Peers", .product(name: "GRDB", package: "GRDB.swift")] : []),
        path: "Benchmarks/\(suite)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ))
}
