import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
@_spi(Cluster) import RegistryLedger

/// The log a cluster's nodes share, in PostgreSQL (SPEC §7): the log's records byte for byte as
/// the local LMDB log stores them, the manifests they name, the denial log and the store's
/// identity, in the tables ``PostgresSchema`` creates.
///
/// The database itself keeps the chain: a record whose seq is not the head's + 1 or whose
/// previous hash is not the head's hash violates a key, and nothing can update or delete a
/// record, so no writer, however stale, can fork, reorder or gap the log. A group is appended by
/// one statement (one transaction, one round trip).
///
/// Calls block the calling thread (the writer's log appender, a follower): they wait on the
/// connection's event loop, which runs on a thread of its own.
@_spi(Cluster) public final class PostgresLog: SharedLog, @unchecked Sendable {  // the connection is guarded by `lock`
    /// Where the log lives, for messages: the URL without its password.
    public let location: String
    private let configuration: PostgresConnection.Configuration
    private let events: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var nextConnectionId = 1

    /// Connects to the database `url` names (`postgres://user:password@host:port/database`),
    /// creating the schema on first use.
    ///
    /// - Throws: ``ClusterError`` saying what is wrong — a malformed URL, an unreachable server,
    ///   refused credentials, a schema of another version — never with the password.
    public init(url: String, logger: Logger = Logger(label: "regledger.postgres")) throws {
        let target = try ClusterURL(url)
        location = target.redacted
        var configuration = PostgresConnection.Configuration(host: target.host, port: target.port, username: target.user,
                                                             password: target.password, database: target.database, tls: try target.tls())
        configuration.options.connectTimeout = .seconds(Int64(target.connectTimeout))
        if let name = target.applicationName { configuration.options.additionalStartupParameters = [("application_name", name)] }
        self.configuration = configuration
        self.logger = logger
        events = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try withConnection { connection in try PostgresSchema.migrate(connection, logger: logger, location: location) }
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Closes the connection. Later calls reconnect.
    public func close() {
        lock.withLock {
            try? connection?.close().wait()
            connection = nil
        }
    }

    /// Stops the event loop; the log cannot be used afterwards.
    public func shutdown() {
        close()
        try? events.syncShutdownGracefully()
    }

    // MARK: SharedLog

    public func head() throws -> (seq: UInt64, hash: [UInt8]) {
        let rows = try query("SELECT seq, hash FROM regledger_log ORDER BY seq DESC LIMIT 1")
        guard let row = rows.first else { return (0, EventRecord.genesisHash) }
        let (seq, hash) = try row.decode((Int64, ByteBuffer).self)
        return (UInt64(seq), Array(buffer: hash))
    }

    public func lastDenial() throws -> UInt64 {
        let rows = try query("SELECT coalesce(max(number), 0) FROM regledger_denials")
        return UInt64(try rows.first?.decode(Int64.self) ?? 0)
    }

    public func append(_ group: SharedLogGroup) throws {
        guard !group.records.isEmpty || !group.denials.isEmpty || !group.manifests.isEmpty else { return }
        let statement = PostgresSchema.append(group)
        do {
            _ = try query(statement)
        } catch let error as PSQLError where error.code == .server {
            let state = error.serverInfo?[.sqlState] ?? ""
            let constraint = error.serverInfo?[.constraintName] ?? ""
            let message = error.serverInfo?[.message] ?? "\(error.code)"
            // A key or a link the group does not continue: another writer appended first.
            if state == "23505" || state == "23503" {
                throw SharedLogConflict(reason: "\(message) (\(constraint))")
            }
            throw ClusterError("the cluster's log at \(location) refused the group: \(message)")
        } catch where Self.isConnectionLoss(error) {
            // The statement may have committed before the connection broke.
            throw LogAppendOutcomeUnknown(reason: "the connection to \(location) broke while appending (\(error))")
        }
    }

    public func records(after seq: UInt64, limit: Int) throws -> [SharedLogGroup.Record] {
        let rows = try query("SELECT seq, previous_hash, hash, record FROM regledger_log WHERE seq > \(Int64(seq)) ORDER BY seq LIMIT \(limit)")
        return try rows.map { row in
            let (seq, previous, hash, bytes) = try row.decode((Int64, ByteBuffer, ByteBuffer, ByteBuffer).self)
            return SharedLogGroup.Record(seq: UInt64(seq), previousHash: Array(buffer: previous), hash: Array(buffer: hash),
                                         bytes: Array(buffer: bytes))
        }
    }

    public func denials(after number: UInt64, limit: Int) throws -> [SharedLogGroup.Denial] {
        let rows = try query("SELECT number, record FROM regledger_denials WHERE number > \(Int64(number)) ORDER BY number LIMIT \(limit)")
        return try rows.map { row in
            let (number, bytes) = try row.decode((Int64, ByteBuffer).self)
            return SharedLogGroup.Denial(number: UInt64(number), bytes: Array(buffer: bytes))
        }
    }

    public func manifests(_ digests: [[UInt8]]) throws -> [SharedLogGroup.Manifest] {
        var found: [SharedLogGroup.Manifest] = []
        for chunk in stride(from: 0, to: digests.count, by: 1000).map({ digests[$0..<min($0 + 1000, digests.count)] }) {
            var binds = PostgresBindings(capacity: chunk.count)
            for digest in chunk { binds.append(ByteBuffer(bytes: digest)) }
            let list = (1...chunk.count).map { "$\($0)" }.joined(separator: ", ")
            let rows = try query(PostgresQuery(unsafeSQL: "SELECT digest, bytes FROM regledger_manifests WHERE digest IN (\(list))", binds: binds))
            for row in rows {
                let (digest, bytes) = try row.decode((ByteBuffer, ByteBuffer).self)
                found.append(SharedLogGroup.Manifest(digest: Array(buffer: digest), bytes: Array(buffer: bytes)))
            }
        }
        return found
    }

    public func identity(proposing proposed: SharedLogIdentity) throws -> SharedLogIdentity {
        _ = try query("""
            INSERT INTO regledger_identity (singleton, default_registry, token_secret)
            VALUES (true, \(proposed.defaultRegistryId), \(ByteBuffer(bytes: proposed.tokenSecret))) ON CONFLICT (singleton) DO NOTHING
            """)
        guard let row = try query("SELECT default_registry, token_secret FROM regledger_identity").first else {
            throw ClusterError("the cluster's database at \(location) lost its identity row")
        }
        let (registry, secret) = try row.decode((String, ByteBuffer).self)
        return SharedLogIdentity(defaultRegistryId: registry, tokenSecret: Array(buffer: secret))
    }

    // MARK: the connection

    /// How long a statement may take before its connection is given up (a primary that died
    /// without closing its connections, a network that drops packets): the next call reconnects.
    static let statementTimeout = TimeAmount.seconds(10)

    /// Runs `query` and returns its rows; a lost or stalled connection is dropped (the next
    /// call reconnects).
    func query(_ query: PostgresQuery) throws -> [PostgresRow] {
        try withConnection { connection in try Self.rows(query, on: connection, logger: logger) }
    }

    /// The rows of `query` on `connection`, waited for at most ``statementTimeout``: past it the
    /// connection is closed and ``StalledConnection`` thrown, so no caller waits forever on a
    /// server that stopped answering.
    static func rows(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) throws -> [PostgresRow] {
        let future: EventLoopFuture<PostgresQueryResult> = connection.query(query, logger: logger)
        let done = DispatchSemaphore(value: 0)
        let outcome = Outcome<PostgresQueryResult>()
        future.whenComplete { result in
            outcome.result = result
            done.signal()
        }
        guard done.wait(timeout: .now() + .nanoseconds(Int(statementTimeout.nanoseconds))) == .success else {
            let _: EventLoopFuture<Void> = connection.close()
            throw StalledConnection()
        }
        return try outcome.result!.get().rows
    }

    /// The same, for async callers.
    static func rows(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRow] {
        let future: EventLoopFuture<PostgresQueryResult> = connection.query(query, logger: logger)
        return try await withCheckedThrowingContinuation { continuation in
            // Both callbacks run on the connection's event loop: the flag needs no lock.
            let answered = Outcome<Void>()
            let timer = connection.eventLoop.scheduleTask(in: statementTimeout) {
                guard answered.result == nil else { return }
                answered.result = .success(())
                let _: EventLoopFuture<Void> = connection.close()
                continuation.resume(throwing: StalledConnection())
            }
            future.whenComplete { result in
                timer.cancel()  // an answered statement leaves no timer behind
                guard answered.result == nil else { return }
                answered.result = .success(())
                continuation.resume(with: result.map(\.rows))
            }
        }
    }

    private func withConnection<R>(_ body: (PostgresConnection) throws -> R) throws -> R {
        try lock.withLock {
            let connection = try self.connection ?? connect()
            self.connection = connection
            do {
                return try body(connection)
            } catch where Self.isConnectionLoss(error) {
                try? connection.close().wait()
                self.connection = nil
                throw error
            }
        }
    }

    /// A connection of its own to the same database (the writer lease's session, LISTEN).
    func openConnection() async throws -> PostgresConnection {
        let id = lock.withLock { () -> Int in nextConnectionId += 1; return nextConnectionId }
        do {
            return try await PostgresConnection.connect(on: events.next(), configuration: configuration, id: id, logger: logger)
        } catch {
            throw ClusterError("cannot reach PostgreSQL at \(location): \(error)")
        }
    }

    private func connect() throws -> PostgresConnection {
        nextConnectionId += 1
        do {
            return try PostgresConnection.connect(on: events.next(), configuration: configuration, id: nextConnectionId, logger: logger).wait()
        } catch let error as PSQLError {
            if error.code == .server {
                let message = error.serverInfo?[.message] ?? "refused"
                throw ClusterError("PostgreSQL at \(location) refused the connection: \(message)")
            }
            throw ClusterError("cannot reach PostgreSQL at \(location): \(Self.reason(error))")
        } catch {
            throw ClusterError("cannot reach PostgreSQL at \(location): \(error)")
        }
    }

    /// Whether `error` says the connection is gone (or stalled), not that the server refused.
    static func isConnectionLoss(_ error: any Error) -> Bool {
        if error is StalledConnection { return true }
        guard let error = error as? PSQLError else { return false }
        return [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown].contains(error.code)
    }

    private static func reason(_ error: PSQLError) -> String {
        error.underlying.map { "\($0)" } ?? "\(error.code)"
    }
}

/// PostgreSQL did not answer a statement within ``PostgresLog/statementTimeout``.
struct StalledConnection: Error, CustomStringConvertible {
    var description: String { "PostgreSQL did not answer within \(PostgresLog.statementTimeout.nanoseconds / 1_000_000_000) s" }
}

/// A result handed from an event loop to the thread that waits for it.
final class Outcome<T>: @unchecked Sendable {  // written before the waiter is woken, read after
    var result: Result<T, any Error>?
}

/// What keeps a node from using the cluster's database, said for an operator (never with the
/// password): `regledger serve --cluster` exits with status 2 on it.
@_spi(Cluster) public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A `postgres://` URL taken apart, as libpq reads the parts cluster mode honours: `sslmode`
/// (`disable`, `prefer` — the default —, `require`), `application_name`, `connect_timeout`.
struct ClusterURL {
    enum SSLMode: String { case disable, prefer, require }

    let host: String
    let port: Int
    let user: String
    let password: String?
    let database: String?
    let sslMode: SSLMode
    let applicationName: String?
    /// Seconds.
    let connectTimeout: Int
    /// The URL with its password replaced.
    let redacted: String

    init(_ url: String) throws {
        let form = "--cluster takes a URL of the form postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=disable|prefer|require]"
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
              let host = parts.host, !host.isEmpty else {
            throw ClusterError(form)
        }
        guard let user = parts.user, !user.isEmpty else { throw ClusterError("the --cluster URL names no user: postgres://USER@\(host)/…") }
        self.host = host
        port = parts.port ?? 5432
        self.user = user
        password = parts.password
        let path = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        database = path.isEmpty ? nil : path
        var (sslMode, applicationName, connectTimeout) = (SSLMode.prefer, String?.none, 5)
        for item in parts.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("sslmode", let value?):
                guard let mode = SSLMode(rawValue: value) else { throw ClusterError("sslmode must be disable, prefer or require, not \(value)") }
                sslMode = mode
            case ("application_name", let value?): applicationName = value
            case ("connect_timeout", let value?):
                guard let seconds = Int(value), seconds > 0 else { throw ClusterError("connect_timeout must be a positive number of seconds") }
                connectTimeout = seconds
            default: throw ClusterError("the --cluster URL has a parameter cluster mode does not know: \(item.name)")
            }
        }
        (self.sslMode, self.applicationName, self.connectTimeout) = (sslMode, applicationName, connectTimeout)
        redacted = "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database ?? "")"
    }

    /// TLS as `sslmode` asks: like libpq without a root certificate, the server's is not verified.
    func tls() throws -> PostgresConnection.Configuration.TLS {
        guard sslMode != .disable else { return .disable }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context = try NIOSSLContext(configuration: configuration)
        return sslMode == .require ? .require(context) : .prefer(context)
    }
}

extension NSLock {
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
