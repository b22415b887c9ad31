import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL server of a test's or a benchmark's own — never for production: Debian's
/// binaries, a temporary data directory, a free loopback port, password authentication. Runs as
/// the `postgres` user when the caller runs as root (PostgreSQL refuses root; CI runs as root).
/// Never the system service. Stopped by ``stop()`` (call it in a `defer`) or when released.
public final class PostgresServer: @unchecked Sendable {
    public static let password = "s3cret-pg"
    public let directory: String
    public let port: Int
    private let bin: String
    private var stopped = false

    /// `postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres`
    public var url: String { "postgres://postgres:\(Self.password)@127.0.0.1:\(port)/postgres" }

    /// Starts a new server. With `durable` false (tests) it runs with `fsync=off`; with
    /// `synchronousStandby` it is a primary that acknowledges a commit only once a standby has it
    /// (start that standby with ``startSynchronousStandby()`` before anything commits).
    /// - Throws: when PostgreSQL is not installed (`make test` installs Debian's `postgresql`) or
    ///   does not start (its log is in the message).
    public static func start(durable: Bool = false, synchronousStandby: Bool = false) throws -> PostgresServer {
        guard let bin = binaries() else {
            throw Failure("PostgreSQL is not installed: `apt-get install postgresql` (make test does)")
        }
        let server = try PostgresServer(directory: newDirectory(), port: try freePort(), bin: bin)
        var settings = ["listen_addresses=127.0.0.1"]
        if !durable { settings.append("fsync=off") }
        if synchronousStandby { settings += ["wal_level=replica", "max_wal_senders=4", "synchronous_standby_names='*'"] }
        do {
            try server.asPostgres(bin + "/initdb", ["-D", server.data, "-U", "postgres", "-A", "scram-sha-256",
                                                    "--pwfile", server.directory + "/pwfile", "--no-sync", "-E", "UTF8"])
            try server.startServer(settings)
        } catch {
            server.stop()
            throw Failure("PostgreSQL did not start: \(error)\n\(server.log)")
        }
        return server
    }

    /// Starts a standby of this primary (`pg_basebackup -R`, streaming) on its own port; a primary
    /// started with `synchronousStandby` then waits for it on every commit.
    public func startSynchronousStandby() throws -> PostgresServer {
        let standby = try PostgresServer(directory: Self.newDirectory(), port: try Self.freePort(), bin: bin)
        do {
            try standby.asPostgres("/usr/bin/env", ["PGPASSWORD=\(Self.password)", bin + "/pg_basebackup", "-h", "127.0.0.1", "-p", "\(port)",
                                                    "-U", "postgres", "-D", standby.data, "-R", "-X", "stream"])
            try standby.startServer(["listen_addresses=127.0.0.1"])
            // The primary names it synchronous once it streams.
            var waited = 0
            while try psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'").trimmingCharacters(in: .whitespacesAndNewlines) != "1" {
                waited += 1
                guard waited < 200 else { throw Failure("the primary did not take the standby as synchronous within 20 s") }
                usleep(100_000)
            }
        } catch {
            standby.stop()
            throw Failure("the standby did not start: \(error)\n\(standby.log)")
        }
        return standby
    }

    private var data: String { directory + "/data" }
    private var log: String { (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "" }

    private func startServer(_ settings: [String]) throws {
        let options = (["-p \(port)", "-k \(directory)"] + settings.map { "-c \($0)" }).joined(separator: " ")
        try asPostgres(bin + "/pg_ctl", ["-D", data, "-l", directory + "/server.log", "-w", "-t", "30", "-o", options, "start"])
    }

    /// A new temporary directory, with the password file, that the postgres user owns.
    private static func newDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "regledger-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try password.write(toFile: directory + "/pwfile", atomically: true, encoding: .utf8)
        if getuid() == 0 { try run("/bin/chown", ["-R", "postgres:postgres", directory]) }
        return directory
    }

    private init(directory: String, port: Int, bin: String) {
        (self.directory, self.port, self.bin) = (directory, port, bin)
    }

    deinit { stop() }

    /// Stops the server at once (`immediate`) and removes its directory. Idempotent.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        if FileManager.default.fileExists(atPath: data + "/postmaster.pid") {
            try? asPostgres(bin + "/pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `sql` with psql as the superuser; returns its output (unaligned, tuples only).
    @discardableResult
    public func psql(_ sql: String) throws -> String {
        try Self.run("/usr/bin/env", ["PGPASSWORD=\(Self.password)", "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                      "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-c", sql])
    }

    private func asPostgres(_ program: String, _ arguments: [String]) throws {
        if getuid() == 0 {
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", program] + arguments)
        } else {
            try Self.run(program, arguments)
        }
    }

    /// The newest installed PostgreSQL's binaries.
    private static func binaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).sorted().reversed().map { "\(root)/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }

    /// Runs `program` and returns its standard output. The child is spawned and reaped here
    /// (`posix_spawn`, `waitpid`), its output goes to files: a server it starts in the background
    /// must keep neither a pipe nor the wait open.
    @discardableResult
    private static func run(_ program: String, _ arguments: [String]) throws -> String {
        let base = NSTemporaryDirectory() + "regledger-run-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure("cannot run \(program): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0, code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let errors = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
            throw Failure("\(program) \(arguments.prefix(3).joined(separator: " ")) … failed (status \(status)): \(errors)")
        }
        return output
    }

    /// A loopback port nothing listens on now.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// PostgreSQL is missing or did not start; the description says why.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
