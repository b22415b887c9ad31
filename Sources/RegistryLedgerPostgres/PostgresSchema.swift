import Logging
import NIOCore
import PostgresNIO
@_spi(Cluster) import RegistryLedger

/// The cluster's tables in PostgreSQL, created on first start and recorded with a version.
///
/// | table                 | holds |
/// |-----------------------|-------|
/// | `regledger_schema`    | the schema version (one row) |
/// | `regledger_identity`  | the default registry id and the page-token key (one row) |
/// | `regledger_log`       | seq, previous hash, hash, record (the bytes the local log stores) |
/// | `regledger_manifests` | digest → manifest bytes (checked: the digest is their SHA-256) |
/// | `regledger_denials`   | number → refusal bytes, dense from 1 |
/// | `regledger_writer`    | the node holding the writer lease and where it takes forwarded writes (one row) |
///
/// The chain is the database's to keep: `(seq − 1, previous hash)` references `(seq, hash)`,
/// seq 1 must follow the genesis hash, the record's bytes must end with its previous hash and
/// hash and hash to it, and a trigger refuses every update, delete and truncate.
enum PostgresSchema {
    /// The version this code creates and reads. Another version is refused, not migrated blind.
    static let version = 1

    static let creation = [
        """
        CREATE TABLE regledger_schema (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version integer NOT NULL)
        """,
        """
        CREATE TABLE regledger_identity (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            default_registry text NOT NULL,
            token_secret bytea NOT NULL)
        """,
        """
        CREATE TABLE regledger_log (
            seq bigint PRIMARY KEY CHECK (seq >= 1),
            previous_seq bigint GENERATED ALWAYS AS (CASE WHEN seq > 1 THEN seq - 1 END) STORED,
            previous_hash bytea NOT NULL,
            hash bytea NOT NULL,
            record bytea NOT NULL,
            UNIQUE (seq, hash),
            FOREIGN KEY (previous_seq, previous_hash) REFERENCES regledger_log (seq, hash),
            CONSTRAINT regledger_log_genesis CHECK (seq > 1 OR previous_hash = '\\x\(String(repeating: "00", count: 32))'::bytea),
            CONSTRAINT regledger_log_record_hash CHECK (
                length(hash) = 32 AND length(record) > 64
                AND substring(record FROM length(record) - 31) = hash
                AND substring(record FROM length(record) - 63 FOR 32) = previous_hash
                AND sha256(substring(record FOR length(record) - 32)) = hash))
        """,
        """
        CREATE TABLE regledger_manifests (
            digest bytea PRIMARY KEY,
            bytes bytea NOT NULL,
            CONSTRAINT regledger_manifest_digest CHECK (sha256(bytes) = digest))
        """,
        """
        CREATE TABLE regledger_denials (
            number bigint PRIMARY KEY CHECK (number >= 1),
            previous_number bigint GENERATED ALWAYS AS (CASE WHEN number > 1 THEN number - 1 END) STORED
                REFERENCES regledger_denials (number),
            record bytea NOT NULL)
        """,
        """
        CREATE FUNCTION regledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the RegistryLedger log is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
        END $$
        """,
        "CREATE TRIGGER regledger_log_append_only BEFORE UPDATE OR DELETE ON regledger_log FOR EACH ROW EXECUTE FUNCTION regledger_append_only()",
        "CREATE TRIGGER regledger_log_no_truncate BEFORE TRUNCATE ON regledger_log FOR EACH STATEMENT EXECUTE FUNCTION regledger_append_only()",
        "CREATE TRIGGER regledger_denials_append_only BEFORE UPDATE OR DELETE ON regledger_denials FOR EACH ROW EXECUTE FUNCTION regledger_append_only()",
        "CREATE TRIGGER regledger_denials_no_truncate BEFORE TRUNCATE ON regledger_denials FOR EACH STATEMENT EXECUTE FUNCTION regledger_append_only()",
        "CREATE TRIGGER regledger_manifests_append_only BEFORE UPDATE ON regledger_manifests FOR EACH ROW EXECUTE FUNCTION regledger_append_only()",
        """
        CREATE TABLE regledger_writer (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            node text NOT NULL,
            address text NOT NULL,
            since timestamptz NOT NULL DEFAULT now())
        """,
        "INSERT INTO regledger_schema (version) VALUES (\(version))",
    ]

    /// Creates the tables in an empty database, or checks the recorded version; one node at a
    /// time (an advisory lock held for the transaction).
    static func migrate(_ connection: PostgresConnection, logger: Logger, location: String) throws {
        func run(_ sql: String) throws -> [PostgresRow] {
            try PostgresLog.rows(PostgresQuery(unsafeSQL: sql), on: connection, logger: logger)
        }
        _ = try run("BEGIN")
        do {
            _ = try run("SELECT pg_advisory_xact_lock(\(advisoryLockKey))")
            let exists = try run("SELECT to_regclass('regledger_schema') IS NOT NULL").first?.decode(Bool.self) ?? false
            if exists {
                let recorded = try run("SELECT version FROM regledger_schema").first?.decode(Int32.self)
                guard recorded == Int32(version) else {
                    throw ClusterError("the database at \(location) holds RegistryLedger schema version \(recorded.map(String.init) ?? "none"); "
                        + "this version of regledger uses \(version)")
                }
            } else {
                let foreign = try run("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'regledger\\_%'").first?.decode(Int64.self) ?? 0
                guard foreign == 0 else {
                    throw ClusterError("the database at \(location) holds regledger_ tables but no schema version: not a RegistryLedger cluster's")
                }
                for statement in creation { _ = try run(statement) }
            }
            _ = try run("COMMIT")
        } catch {
            _ = try? run("ROLLBACK")
            throw error
        }
    }

    /// The key of the advisory lock that serialises schema creation.
    static let advisoryLockKey: Int64 = 0x7265_676C_6467_7200  // "regldgr"

    /// One statement that appends `group` (manifests, records, denials) and notifies followers.
    static func append(_ group: SharedLogGroup) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 4 * group.records.count + 2 * group.manifests.count + 2 * group.denials.count + 1)
        var parts: [String] = []
        func placeholders(_ rows: Int, _ columns: Int, _ cast: [String]) -> String {
            (0..<rows).map { row in
                "(" + (0..<columns).map { column in "$\(binds.count - (rows - row) * columns + column + 1)\(cast[column])" }.joined(separator: ", ") + ")"
            }.joined(separator: ", ")
        }
        if !group.manifests.isEmpty {
            for manifest in group.manifests {
                binds.append(ByteBuffer(bytes: manifest.digest))
                binds.append(ByteBuffer(bytes: manifest.bytes))
            }
            parts.append("manifests AS (INSERT INTO regledger_manifests (digest, bytes) VALUES "
                + placeholders(group.manifests.count, 2, ["::bytea", "::bytea"]) + " ON CONFLICT (digest) DO NOTHING)")
        }
        if !group.records.isEmpty {
            for record in group.records {
                binds.append(Int64(record.seq))
                binds.append(ByteBuffer(bytes: record.previousHash))
                binds.append(ByteBuffer(bytes: record.hash))
                binds.append(ByteBuffer(bytes: record.bytes))
            }
            parts.append("records AS (INSERT INTO regledger_log (seq, previous_hash, hash, record) VALUES "
                + placeholders(group.records.count, 4, ["::bigint", "::bytea", "::bytea", "::bytea"]) + ")")
        }
        if !group.denials.isEmpty {
            for denial in group.denials {
                binds.append(Int64(denial.number))
                binds.append(ByteBuffer(bytes: denial.bytes))
            }
            parts.append("denials AS (INSERT INTO regledger_denials (number, record) VALUES "
                + placeholders(group.denials.count, 2, ["::bigint", "::bytea"]) + ")")
        }
        binds.append(String(group.records.last?.seq ?? 0))
        let sql = "WITH " + parts.joined(separator: ", ") + " SELECT pg_notify('\(notifyChannel)', $\(binds.count))"
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The channel followers LISTEN on: each append notifies it with its last seq.
    static let notifyChannel = "regledger_log"
}
