import LMDB

extension Ledger {
    /// A zero-copy LMDB cursor walk over the keys ListImages pages through for `ref` (every
    /// listing entry, tagged and untagged): the floor the benchmarks measure paging against.
    /// Returns the number of keys and a checksum of their last bytes, so the walk is not elided.
    @_spi(Benchmarks)
    public func rawListingScan(_ ref: RepositoryRef) throws -> (keys: Int, checksum: UInt64) {
        try read { reader in
            guard let repo = try reader.repository(ref) else { throw LedgerError.repositoryNotFound(ref) }
            var keys = 0
            var checksum: UInt64 = 0
            try reader.txn.forEach(reader.dbs.listing, prefix: ListingKey.prefix(repo.repoId)) { e in
                keys += 1
                checksum &+= UInt64(e.rawKey.last!)
                return true
            }
            return (keys, checksum)
        }
    }
}
