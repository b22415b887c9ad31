/// The last record of the log: where the next one chains on.
struct LogHead: Sendable, Equatable {
    var seq: UInt64 = 0
    var hash: [UInt8] = EventRecord.genesisHash
    var timestamp: UInt64 = 0
}
