import LMDB

/// The projection databases of one generation. Two generations exist so that `rebuild` can
/// fill a fresh one and switch to it in one commit.
struct ProjectionDatabases: Sendable {
    let repos, images, tags, listing, policies, policyIndex, policyPatterns, organizations, counters: Database
    /// History indexes (see ``HistoryIndex``): derived from the log like the rest.
    let repoEvents, tagEvents, repoHistory: Database
    /// The temporal index time travel reads (see ``Versions``).
    let repoVersions, contentVersions, organizationVersions: Database

    /// Each database's position in ``all``: the state digest's order.
    enum Table: UInt8, CaseIterable {
        case repos, images, tags, listing, policies, policyIndex, policyPatterns, organizations, counters,
             repoEvents, tagEvents, repoHistory, repoVersions, contentVersions, organizationVersions
    }

    /// All of them, in ``Table`` order.
    var all: [Database] {
        [repos, images, tags, listing, policies, policyIndex, policyPatterns, organizations, counters,
         repoEvents, tagEvents, repoHistory, repoVersions, contentVersions, organizationVersions]
    }

    subscript(_ table: Table) -> Database { all[Int(table.rawValue)] }

    /// A table's database name in `generation`.
    static func name(_ table: Table, generation: Int) -> String { "g\(generation).\(table)" }

    static func open(_ env: Environment, generation: Int, create: Bool) throws -> ProjectionDatabases {
        func db(_ table: Table) throws -> Database { try env.openDatabase(named: name(table, generation: generation), create: create) }
        return ProjectionDatabases(
            repos: try db(.repos), images: try db(.images), tags: try db(.tags), listing: try db(.listing),
            policies: try db(.policies), policyIndex: try db(.policyIndex), policyPatterns: try db(.policyPatterns),
            organizations: try db(.organizations), counters: try db(.counters),
            repoEvents: try db(.repoEvents), tagEvents: try db(.tagEvents),
            repoHistory: try db(.repoHistory), repoVersions: try db(.repoVersions), contentVersions: try db(.contentVersions),
            organizationVersions: try db(.organizationVersions))
    }
}

/// The log environment's tables (`DIR/data.mdb`): the log and what reading it needs — the
/// manifests its events name, the denial log, the store's identity. The only durable truth:
/// written by durable group commits that touch nothing else (SPEC §3).
struct LogTables: Sendable {
    /// seq(8) → EventRecord.
    let log: Database
    /// denial number(8) → Denial.
    let denials: Database
    /// digest(32) → manifest bytes (content store, written with the event that first names it).
    let manifests: Database
    /// The store's identity: default registry id, page-token secret.
    let meta: Database

    static func open(_ env: Environment, create: Bool) throws -> LogTables {
        LogTables(log: try env.openDatabase(named: "log", create: create),
                  denials: try env.openDatabase(named: "denials", create: create),
                  manifests: try env.openDatabase(named: "manifests", create: create),
                  meta: try env.openDatabase(named: "meta", create: create))
    }
}

/// The derived-state environment's tables (`DIR/state/`): both projection generations, the
/// denial index, and what the state reflects. Everything here follows from the log tables.
struct StateTables: Sendable {
    /// generation, projection format, applied seq and hash, applied denial number.
    let meta: Database
    /// repository key, 0, tag, 0, denial number(8) → empty: the refused attempts on one tag.
    let tagDenials: Database
    /// Two generations, so that `rebuild` can fill a fresh one and switch to it in one commit.
    let generations: [ProjectionDatabases]

    static func open(_ env: Environment, create: Bool) throws -> StateTables {
        StateTables(
            meta: try env.openDatabase(named: "meta", create: create),
            tagDenials: try env.openDatabase(named: "tagDenials", create: create),
            generations: [try .open(env, generation: 0, create: create), try .open(env, generation: 1, create: create)])
    }

    static let generationKey = Array("generation".utf8)

    /// The projections readers should use in `txn`.
    func current(_ txn: Transaction) throws -> ProjectionDatabases {
        let g = try txn.get(meta, key: Self.generationKey)?.first ?? 0
        return generations[Int(g) & 1]
    }
}
