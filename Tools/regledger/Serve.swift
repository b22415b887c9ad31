import ArgumentParser
import BlobStore
import Foundation
import Logging
import RegistryAPI
@_spi(Cluster) import RegistryLedger
@_spi(Cluster) import RegistryLedgerPostgres
import RegistryServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the ECR JSON API, Quay's REST API and the OCI registry API over the store.",
        discussion: """
            Without --config, DIR/config.json is used, and created (mode 0600, one random credential \
            and token) on first start. SIGTERM or SIGINT stops accepting, finishes in-flight requests \
            and closes the store. LOG_LEVEL (trace…critical) sets the log level; logs go to stderr.
            """)

    @Option(name: .long, help: "The store's data directory (created when missing).") var data: String
    @Option(name: .long, help: "Address to listen on.") var host = "127.0.0.1"
    @Option(name: .long, help: "Port to listen on (0: any free port, printed at start).") var port = 5000
    @Option(name: .long, help: "Config file (SPEC §4.2).") var config: String?
    @Option(name: .long, help: "Cluster mode: the PostgreSQL URL of the log the nodes share (postgres://USER:PASS@HOST:PORT/DB).")
    var cluster: String?
    @Option(name: .long, help: "Cluster mode: this node's name, unique in the cluster (default HOST:PORT).") var node: String?
    @Option(name: .long, help: """
        Cluster mode: the URL other nodes forward writes to when this node is the writer \
        (http://HOST:PORT; default http://--host:--port, required when --host is a wildcard such as 0.0.0.0).
        """)
    var advertise: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        if let advertise {
            guard cluster != nil else { throw ValidationError("--advertise only applies to a cluster node (--cluster)") }
            guard Self.isNodeURL(advertise) else {
                throw ValidationError("--advertise must be a URL such as http://10.0.0.5:5000 (http or https, a host, no path)")
            }
        } else if cluster != nil, Self.wildcardHosts.contains(host) {
            throw ValidationError("--host \(host) listens on every address, so other nodes cannot be told which one reaches this node: "
                + "give --advertise http://ADDRESS:PORT")
        }
    }

    static let wildcardHosts: Set<String> = ["0.0.0.0", "::", "[::]", ""]

    /// Whether `url` is where a node can be reached: http(s), a host, an optional port, no path.
    static func isNodeURL(_ url: String) -> Bool {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme, ["http", "https"].contains(scheme),
              let host = parts.host, !host.isEmpty, parts.path.isEmpty || parts.path == "/",
              parts.query == nil, parts.fragment == nil, parts.user == nil else { return false }
        return true
    }

    func run() async throws {
        // Before any request task is made: handlers then run on the thread that read the request.
        let onEventLoops = RegistryHTTPServer.runTasksOnEventLoops()
        try Ledger.refuseIncompleteImport(at: data)  // before a config file is created in it
        let (serverConfig, configPath, created) = try loadConfig()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let logger = Logger(label: "regledger")
        if !onEventLoops { logger.warning("request handlers run on Swift's concurrency pool: another executor hook was installed first") }
        let metrics = ServerMetrics()
        var options = Ledger.Options()
        options.defaultRegistryId = serverConfig.registryId
        options.onCommit = { metrics.recordCommit(commands: $0) }
        let shared = try cluster.map(joinCluster)
        defer { shared?.shutdown() }
        options.sharedLog = shared
        let ledger = try Ledger(path: data, options: options)
        defer { ledger.close() }
        if let cluster { try recordClusterURL(cluster) }
        do {
            try ledger.verifyHead()
        } catch let corruption as LogCorruption {
            throw VerificationFailed(message: "refusing to serve \(data): \(corruption). "
                + "Run `regledger audit verify --data \(data)` for a full report, and `regledger audit log --data \(data)` "
                + "to read the events around seq \(corruption.seq); restore the directory from a backup or an export.")
        }

        let nodeName = self.node ?? (port == 0 ? "\(self.host):pid-\(getpid())" : "\(self.host):\(port)")
        let node = shared.map { ClusterNode(log: $0, name: nodeName) }
        let blobs = try BlobStore(directory: data)
        let server = RegistryHTTPServer(ledger: ledger, config: serverConfig, metrics: metrics, logger: logger,
                                        role: node.map { ClusterRole(node: $0, ledger: ledger) } ?? StandaloneRole(), blobs: blobs)
        node?.onTakingLease {
            do { try server.resumePendingActivations() } catch {
                logger.error("cannot resume pending restores after taking the writer lease", metadata: ["reason": "\(error)"])
            }
        }
        let following = node.map { node in Task { await node.run(ledger: ledger, logger: logger) } }
        defer { following?.cancel() }
        let lifecycle = Self.scheduleLifecycle(ledger, every: serverConfig.lifecycleIntervalSeconds, node: node, logger: logger)
        defer { lifecycle?.cancel() }
        let sweeper = Self.sweepAbandonedUploads(blobs, logger: logger)
        defer { sweeper?.cancel() }
        let collector = Self.scheduleGC(BlobCollector(ledger: ledger, blobs: blobs, graceSeconds: Self.gcGraceSeconds),
                                        every: serverConfig.gcIntervalSeconds, node: node, logger: logger)
        defer { collector?.cancel() }
        let host = self.host
        try await server.run(host: host, port: port) { port in
            var lines = ["regledger: serving ECR, Quay and OCI APIs at http://\(host):\(port) (registry \(serverConfig.registryId), region \(serverConfig.region))"]
            if let node {
                let address = advertise.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
                    ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
                node.advertise(address)
                lines.append("regledger: cluster node \(node.name) on \(shared!.location), following the shared log; "
                    + "the writer lease decides which node writes; as the writer it takes forwarded writes at \(address)")
            }
            lines.append("regledger: credentials and tokens are in \(configPath)\(created ? " (created now, mode 0600)" : "")")
            if let key = serverConfig.credentials.first?.accessKeyId {
                let secret = #"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["credentials"][0]["secretAccessKey"])' "#
                    + "\(configPath))"
                let aws = "aws ecr --region \(serverConfig.region) --endpoint-url http://\(host):\(port)"
                lines.append("regledger: try it (AWS CLI):")
                lines.append("  export AWS_ACCESS_KEY_ID=\(key) AWS_SECRET_ACCESS_KEY=\"\(secret)\"")
                lines.append("  \(aws) create-repository --repository-name acme/web")
                lines.append("  \(aws) list-images --repository-name acme/web")
            }
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        logger.info("stopped; closing the store")
    }

    /// Runs `work` every `interval` seconds, the first time one interval after start (0: never);
    /// with a cluster `node`, only while it is the writer. A failure is logged as `failure` and
    /// the schedule goes on.
    static func repeating(every interval: Double, onWriterOf node: ClusterNode?, logger: Logger, failure: String,
                          _ work: @escaping @Sendable () async throws -> Void) -> Task<Void, Never>? {
        guard interval > 0 else { return nil }
        return Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                guard !Task.isCancelled, node.map({ $0.role == .writer }) ?? true else { continue }
                do { try await work() } catch { logger.error("\(failure)", metadata: ["reason": "\(error)"]) }
            }
        }
    }

    /// Runs every repository's lifecycle policy every `interval` seconds (SPEC §2.8).
    static func scheduleLifecycle(_ ledger: Ledger, every interval: Double, node: ClusterNode?, logger: Logger) -> Task<Void, Never>? {
        repeating(every: interval, onWriterOf: node, logger: logger, failure: "lifecycle policies could not run") {
            let results = try await ledger.runLifecycle()
            let acted = results.reduce(0) { $0 + $1.outcomes.filter { $0.action != nil }.count }
            let kept = results.reduce(0) { $0 + $1.outcomes.filter { $0.action == nil }.count }
            if acted + kept > 0 {
                logger.notice("lifecycle policies ran", metadata: ["repositories": "\(results.count)", "actedOn": "\(acted)", "protectedKept": "\(kept)"])
            }
        }
    }

    /// How old an unreferenced blob link or file must be before the server's gc reclaims it: a
    /// push uploads its blobs before its manifest, and an upload session lives an hour idle.
    static let gcGraceSeconds: Double = 3600

    /// Reclaims unreferenced blobs every `interval` seconds (SPEC §8).
    static func scheduleGC(_ collector: BlobCollector, every interval: Double, node: ClusterNode?, logger: Logger) -> Task<Void, Never>? {
        repeating(every: interval, onWriterOf: node, logger: logger, failure: "blob gc could not run") {
            let report = try await collector.collect()
            if !report.unlinked.isEmpty || !report.removed.isEmpty {
                logger.notice("blob gc ran", metadata: ["unlinked": "\(report.unlinked.count)", "removedFiles": "\(report.removed.count)",
                                                        "reclaimedBytes": "\(report.reclaimedBytes)"])
            }
        }
    }

    /// Cancels upload sessions idle for an hour (a client that went away), checking every minute,
    /// on every node (sessions are the node's own).
    static func sweepAbandonedUploads(_ blobs: BlobStore, logger: Logger) -> Task<Void, Never>? {
        repeating(every: 60, onWriterOf: nil, logger: logger, failure: "cannot sweep uploads") {
            let swept = blobs.sweepAbandoned(idleSeconds: 3600)
            if swept > 0 { logger.notice("cancelled abandoned uploads", metadata: ["uploads": "\(swept)"]) }
        }
    }

    /// Connects to the cluster's database. - Throws: an invalid-input error (exit status 2) that
    /// says what is wrong without the password.
    private func joinCluster(_ url: String) throws -> PostgresLog {
        do { return try PostgresLog(url: url) } catch let error as ClusterError {
            throw LedgerError.invalid("cannot join the cluster: \(error)")
        }
    }

    /// Records the cluster's URL in the data directory (mode 0600), so that the audit tool run on
    /// this node finds the cluster without being told.
    private func recordClusterURL(_ url: String) throws {
        let path = data + "/cluster-url"
        FileManager.default.createFile(atPath: path, contents: Data((url + "\n").utf8), attributes: [.posixPermissions: 0o600])
    }

    private func loadConfig() throws -> (ServerConfig, String, Bool) {
        do {
            if let config { return (try ServerConfig.load(path: config), config, false) }
            let (loaded, created) = try ServerConfig.loadOrCreate(inDirectory: data)
            return (loaded, data + "/config.json", created)
        } catch {
            throw LedgerError.invalid(error.message)
        }
    }
}

/// A cluster node's place as the HTTP server sees it.
struct ClusterRole: NodeRole {
    let node: ClusterNode
    let ledger: Ledger
    var name: String { node.role.rawValue }
    var acceptsWrites: Bool { node.role == .writer }
    var writerAddress: String? { node.writerAddress }
    func waitUntilApplied(_ seq: UInt64) async { await node.waitUntilApplied(seq, ledger: ledger) }
    var cluster: (leaseChanges: Int, sharedHead: UInt64)? { (node.leaseChanges, node.sharedHead) }
    var isStale: Bool { node.isStale }
}
