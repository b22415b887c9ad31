import ArgumentParser
import Foundation
import LMDB
import RegistryLedger

/// `regledger`: the audit and maintenance tool over a RegistryLedger data directory.
/// Exit status: 0 success, 1 verification failure, 2 bad usage or bad input, 3 a storage fault
/// (disk full, I/O error, map limit).
@main
struct Regledger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regledger",
        abstract: "Serve, audit, replay and maintain a RegistryLedger store.",
        subcommands: [Serve.self, Audit.self, Rebuild.self, Export.self, Import.self, Lifecycle.self, GC.self])

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as VerificationFailed {
            FileHandle.standardError.write(Data("regledger: \(failure.message)\n".utf8))
            Foundation.exit(1)
        } catch let error as LedgerError {
            FileHandle.standardError.write(Data("regledger: \(error.message)\n".utf8))
            Foundation.exit(error.isStorageFault ? 3 : 2)
        } catch let error as LMDBError {
            FileHandle.standardError.write(Data("regledger: storage fault: \(error)\n".utf8))
            Foundation.exit(3)
        } catch let error as LogCorruption {
            FileHandle.standardError.write(Data("regledger: \(error)\n".utf8))
            Foundation.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}

/// Verification found a problem (exit status 1).
struct VerificationFailed: Error {
    let message: String
}

/// `--data DIR`, shared by every subcommand.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store's data directory.")
    var data: String

    /// Opens the store read-only, refusing a directory that holds no store.
    func openReadOnly() throws -> Ledger {
        try open { $0.readOnly = true }
    }

    /// Opens the store for writing (refused while a server holds it, naming its pid).
    func openWritable() throws -> Ledger {
        try open { _ in }
    }

    /// Opens the store for `rebuild`: writable, so that derived state an older version built (or a
    /// store of the earlier one-environment layout) is brought up to date as it opens. Returns
    /// whether the open already rebuilt it from the log.
    func openForRebuild() throws -> (ledger: Ledger, rebuilt: Bool) {
        let rebuilt = RebuiltFlag()
        let ledger = try open { options in
            options.onRecovery = { notice in
                if case .rebuilding = notice { rebuilt.set() }
                RecoveryNotice.toStandardError(notice)
            }
        }
        return (ledger, rebuilt.isSet)
    }

    private func open(_ configure: (inout Ledger.Options) -> Void) throws -> Ledger {
        try Ledger.refuseIncompleteImport(at: data)
        guard FileManager.default.fileExists(atPath: data + "/data.mdb") else {
            throw LedgerError.invalid("\(data) is not a RegistryLedger data directory (no data.mdb)")
        }
        var options = Ledger.Options()
        configure(&options)
        return try Ledger(path: data, options: options)
    }

    /// `name` in the store's default registry (the one its server was configured with).
    func repository(_ name: RepositoryName, in ledger: Ledger) -> RepositoryRef {
        RepositoryRef(registryId: ledger.defaultRegistryId, name: name)
    }
}

/// Parses a point argument: an ISO 8601 time, or a seq number.
func parsePoint(_ text: String, _ flag: String) throws -> LogPoint {
    if let seq = UInt64(text) { return .seq(seq) }
    if let time = ISO8601.parse(text) { return .time(time) }
    throw LedgerError.invalid("\(flag) takes an ISO 8601 time (2026-11-22T10:00:00Z) or a seq number, not '\(text)'")
}

func parseTime(_ text: String, _ flag: String) throws -> UInt64 {
    guard let time = ISO8601.parse(text) else {
        throw LedgerError.invalid("\(flag) takes an ISO 8601 time such as 2026-11-22T10:00:00Z, not '\(text)'")
    }
    return time
}

/// Writes progress to stderr when it is a terminal.
func progressReporter(_ label: String) -> ((UInt64, UInt64) -> Void)? {
    guard isatty(STDERR_FILENO) != 0 else { return nil }
    return { done, total in
        FileHandle.standardError.write(Data("\r\(label): \(done)/\(total)".utf8))
        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Set from a recovery callback when an open rebuilt the derived state.
final class RebuiltFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
