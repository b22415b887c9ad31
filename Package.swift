// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "RegistryLedger",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "RegistryLedger", targets: ["RegistryLedger"]),
        .library(name: "LMDB", targets: ["LMDB"]),
        .library(name: "RegistryAPI", targets: ["RegistryAPI"]),
        .library(name: "RegistryServer", targets: ["RegistryServer"]),
        .library(name: "RegistryLedgerPostgres", targets: ["RegistryLedgerPostgres"]),
        .library(name: "PostgresFixture", targets: ["PostgresFixture"]),
        .library(name: "BlobStore", targets: ["BlobStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        .target(
            name: "RegistryLedger",
            dependencies: [
                "LMDB", "CPCRE2",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // `sync_file_range`, which Glibc's Swift module does not export.
        .target(name: "CFileWriteback"),
        // Content-addressed blob files and upload sessions (SPEC §8).
        .target(
            name: "BlobStore",
            dependencies: [
                "RegistryLedger", "CFileWriteback",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // ECR, Quay and OCI requests in and responses out, with their authentication: no
        // transport, so the fuzz targets build without the HTTP stack.
        .target(
            name: "RegistryAPI",
            dependencies: [
                "RegistryLedger", "BlobStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RegistryServer",
            dependencies: [
                "RegistryLedger", "RegistryAPI", "BlobStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Cluster mode's shared log in PostgreSQL (postgres-nio): only what runs a cluster builds it.
        .target(
            name: "RegistryLedgerPostgres",
            dependencies: [
                "RegistryLedger",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A PostgreSQL of a test's or a benchmark's own (Debian's binaries, a temporary directory).
        .target(name: "PostgresFixture"),
        .executableTarget(name: "ledger-demo", dependencies: ["RegistryLedger"], path: "Tools/ledger-demo"),
        .executableTarget(
            name: "regledger",
            dependencies: [
                "RegistryLedger", "RegistryAPI", "RegistryServer", "RegistryLedgerPostgres", "LMDB", "BlobStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/regledger"
        ),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB"]),
        .testTarget(name: "RegistryLedgerTests", dependencies: ["RegistryLedger", "LMDB", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "RegledgerCLITests", dependencies: ["RegistryLedger", "LMDB"]),
        .testTarget(name: "RegistryAPITests", dependencies: ["RegistryAPI", "BlobStore"]),
        .testTarget(name: "BlobStoreTests", dependencies: ["BlobStore", "RegistryLedger"]),
        .testTarget(name: "RegistryServerTests", dependencies: ["RegistryAPI", "RegistryServer"]),
        .testTarget(name: "RegistryLedgerPostgresTests", dependencies: ["RegistryLedgerPostgres", "RegistryLedger", "LMDB", "PostgresFixture"]),
    ]
)

for target in package.targets where target.type != .system && target.name != "CFileWriteback" {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
    ]
}
