import LMDB

/// The projection databases of one generation. Two generations exist so that `rebuild` can
/// fill a fresh one and switch to it in one commit.
struct ProjectionDatabases: Sendable {
    let repos, images, tags, listing, policies, policyIndex, policyPatterns, organizations, counters: Database
    /// History indexes (see ``HistoryIndex``): derived from the log like the rest.
    let repoEvents, tagEvents, scopeEvents, repoHistory, checkpoints: Database

    /// Each database's position in ``all``: the state digest's order, and how checkpoints name them.
    enum Table: UInt8, CaseIterable {
        case repos, images, tags, listing, policies, policyIndex, policyPatterns, organizations, counters,
             repoEvents, tagEvents, scopeEvents, repoHistory, checkpoints
    }

    /// All of them, in ``Table`` order.
    var all: [Database] {
        [repos, images, tags, listing, policies, policyIndex, policyPatterns, organizations, counters,
         repoEvents, tagEvents, scopeEvents, repoHistory, checkpoints]
    }

    subscript(_ table: Table) -> Database { all[Int(table.rawValue)] }

    static func open(_ env: Environment, generation: Int, create: Bool) throws -> ProjectionDatabases {
        func db(_ name: String) throws -> Database { try env.openDatabase(named: "g\(generation).\(name)", create: create) }
        return ProjectionDatabases(
            repos: try db("repos"), images: try db("images"), tags: try db("tags"), listing: try db("listing"),
            policies: try db("policies"), policyIndex: try db("policyIndex"), policyPatterns: try db("policyPatterns"),
            organizations: try db("organizations"), counters: try db("counters"),
            repoEvents: try db("repoEvents"), tagEvents: try db("tagEvents"), scopeEvents: try db("scopeEvents"),
            repoHistory: try db("repoHistory"), checkpoints: try db("checkpoints"))
    }
}

/// Every database of a store: the log and what is not derived from it, plus both projection
/// generations.
struct StoreDatabases: Sendable {
    /// seq(8) → EventRecord.
    let log: Database
    /// seq(8) → Denial.
    let denials: Database
    /// digest(32) → manifest bytes (content store, written with the event that first names it).
    let manifests: Database
    /// Store metadata: head, generation, token secret.
    let meta: Database
    /// repository key, 0, tag, 0, denial seq(8) → empty: the refused attempts on one tag.
    let tagDenials: Database
    let generations: [ProjectionDatabases]

    static func open(_ env: Environment, create: Bool) throws -> StoreDatabases {
        StoreDatabases(
            log: try env.openDatabase(named: "log", create: create),
            denials: try env.openDatabase(named: "denials", create: create),
            manifests: try env.openDatabase(named: "manifests", create: create),
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
