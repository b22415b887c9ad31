extension MemoryProjections {
    /// Loads an encoded checkpoint (``Checkpoint``): its repository and policies into memory,
    /// its images and tags as a ``CheckpointContents`` base, searched in place.
    /// The checkpoint's bytes must stay valid (its read transaction open) while this store is used.
    /// Its policies' pattern and index rows are implied by the policies themselves.
    func restore(checkpoint encoded: UnsafeRawBufferPointer) throws {
        var r = BinaryReader(encoded)
        var base: CheckpointContents?
        for _ in 0..<(try r.varint()) {
            let tableCode = try r.u8()
            guard let table = Table(rawValue: tableCode) else { throw DecodingError(reason: "checkpoint names database \(tableCode)") }
            let key = try r.dataBuffer(), value = try r.dataBuffer()
            switch table {
            case .repos:
                guard key.count > 12, base == nil else { throw DecodingError(reason: "malformed checkpoint repository row") }
                let ref = RepositoryRef(registryId: RegistryId(unchecked: try BinaryReader.string(UnsafeRawBufferPointer(rebasing: key[..<12]))),
                                        name: RepositoryName(unchecked: try BinaryReader.string(UnsafeRawBufferPointer(rebasing: key[12...]))))
                let record = try RepoRecord(value)
                putRepository(ref, record)
                base = CheckpointContents(repoId: record.repoId)
            case .images, .tags:
                guard base != nil else { throw DecodingError(reason: "checkpoint rows before their repository") }
                try base!.add(table, key: key, value: value)
            case .policies:
                guard key.count > 8 else { throw DecodingError(reason: "checkpoint policy key of \(key.count) bytes") }
                let scope = try KeyLayout.scope(decoding: UnsafeRawBufferPointer(rebasing: key[..<(key.count - 8)]))
                createPolicy(scope, createdSeq: KeyLayout.readU64(key, at: key.count - 8), try PolicyRecord.decode(value))
            case .policyPatterns, .policyIndex:
                break  // written with each policy above
            default:
                throw DecodingError(reason: "checkpoint holds a row of \(table)")
            }
        }
        guard r.isAtEnd else { throw DecodingError(reason: "trailing bytes in checkpoint") }
        if var base {
            base.sort()
            contents(base.repoId, create: true)!.base = base
        }
    }

    /// The state of `ref` as held here, or nil if it does not exist.
    func repositoryState(_ ref: RepositoryRef) throws -> RepositoryState? {
        guard let repo = repositories[ref] else { return nil }
        var images: [ImageState] = [], tags: [TagState] = []
        if let c = contents(repo.repoId) {
            try Self.merge(base: c.base?.images ?? [], key: \.digest, memory: c.images.keys.sorted(), removed: c.removedImages.sorted(),
                           fromBase: { ($0.digest, try ImageRecord($0.value, mediaType: false)) }, fromMemory: { ($0, c.images[$0]!) }) {
                images.append(ImageState(digest: $0, tags: $1.tags, status: $1.status))
            }
            let baseTags = try (c.base?.tags ?? []).map { (name: try BinaryReader.string($0.name), value: $0.value) }
            try Self.merge(base: baseTags, key: \.name, memory: c.tags.keys.sorted(), removed: c.removedTags.sorted(),
                           fromBase: { ($0.name, try TagRecord($0.value)) }, fromMemory: { ($0, c.tags[$0]!) }) {
                tags.append(TagState(tag: $0, digest: $1.digest, immutable: $1.immutable))
            }
        }
        return RepositoryState(registryId: ref.registryId, name: ref.name, mutability: repo.mutability,
                               policies: sortedPolicies(.repository(ref.registryId, ref.name)).map(\.policy), images: images, tags: tags)
    }

    /// Visits, in key order, the rows of a checkpoint base and the entries held in memory, all
    /// sorted: an entry in memory hides the base row of its key, and so does a removed key.
    private static func merge<Row, Key: Comparable, Value>(
        base: [Row], key: (Row) -> Key, memory: [Key], removed: [Key],
        fromBase: (Row) throws -> (Key, Value), fromMemory: (Key) -> (Key, Value), _ body: (Key, Value) -> Void
    ) throws {
        var (m, r) = (memory[...], removed[...])
        for row in base {
            let k = key(row)
            while let next = m.first, next < k {
                let (key, value) = fromMemory(next)
                body(key, value)
                m = m.dropFirst()
            }
            while let next = r.first, next < k { r = r.dropFirst() }
            if m.first == k || r.first == k { continue }
            let (key, value) = try fromBase(row)
            body(key, value)
        }
        for next in m {
            let (key, value) = fromMemory(next)
            body(key, value)
        }
    }
}
