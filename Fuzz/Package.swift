// swift-tools-version: 6.1
// libFuzzer targets for the decoders that read untrusted bytes. A package of its own (built with
// -sanitize=fuzzer through toolset.json), so the normal build never compiles it. `make fuzz`
// builds every target and runs each for a bounded time over its seed corpus in Corpus/<target>.
import PackageDescription

let targets = ["event-record", "page-token", "manifest", "tag-pattern", "ecr-request", "quay-request", "oci-request"]

let package = Package(
    name: "RegistryLedgerFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "RegistryLedger", path: "../")],
    targets: [
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "RegistryLedger", package: "RegistryLedger"),
                .product(name: "RegistryAPI", package: "RegistryLedger"),
            ]
        ),
    ] + targets.map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: [
                "FuzzSupport",
                .product(name: "RegistryLedger", package: "RegistryLedger"),
                .product(name: "RegistryAPI", package: "RegistryLedger"),
                .product(name: "BlobStore", package: "RegistryLedger"),
            ],
            path: "Targets/\(name)"
        )
    }
)
