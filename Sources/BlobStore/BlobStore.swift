import struct Crypto.SHA256
import CFileWriteback
import Foundation
import RegistryLedger
import Synchronization

/// Content-addressed blob files under a store's directory (SPEC §8): `DIR/blobs/sha256/ab/<hex>`,
/// each written to a temporary file under `DIR/blobs/uploads/`, verified against its digest,
/// fsynced and renamed into place, so a blob is visible whole or not at all.
///
/// Upload sessions live in memory: a restart fails them (their temporary files are removed at
/// open), and ``sweepAbandoned(idleSeconds:)`` removes the ones nobody has touched for a while.
/// Which repository holds which blob is not kept here but in the log (`blob.linked` events).
public final class BlobStore: Sendable {
    /// `DIR/blobs`.
    public let root: String
    private let sessions = Mutex<[String: UploadSession]>([:])

    /// Opens (creating) the blob store of the store at `directory`, failing every upload a
    /// previous run left unfinished.
    public init(directory: String) throws {
        root = directory + "/blobs"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/sha256", withIntermediateDirectories: true)
        try? fm.removeItem(atPath: root + "/uploads")
        try fm.createDirectory(atPath: root + "/uploads", withIntermediateDirectories: true)
    }

    /// Where blob `digest` lives (whether or not it is there).
    public func path(of digest: Digest) -> String {
        let hex = digest.hex
        return "\(root)/sha256/\(hex.prefix(2))/\(hex)"
    }

    /// The blob's size, or nil when the store does not have it.
    public func size(of digest: Digest) -> Int64? {
        var info = stat()
        guard stat(path(of: digest), &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    /// When blob `digest`'s file was last modified (seconds since the epoch), or nil when absent.
    public func modified(_ digest: Digest) -> Double? {
        var info = stat()
        guard stat(path(of: digest), &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec)
    }

    /// Every blob file: digest, size and last modification (seconds since the epoch).
    public func allBlobs() -> [(digest: Digest, size: Int64, modified: Double)] {
        let fm = FileManager.default
        var out: [(digest: Digest, size: Int64, modified: Double)] = []
        for shard in (try? fm.contentsOfDirectory(atPath: root + "/sha256")) ?? [] {
            for name in (try? fm.contentsOfDirectory(atPath: "\(root)/sha256/\(shard)")) ?? [] {
                guard let digest = try? Digest("sha256:" + name) else { continue }
                var info = stat()
                guard stat(path(of: digest), &info) == 0 else { continue }
                out.append((digest, Int64(info.st_size), Double(info.st_mtim.tv_sec)))
            }
        }
        return out.sorted { $0.digest < $1.digest }
    }

    /// Removes blob `digest`'s file (gone already is fine).
    public func remove(_ digest: Digest) throws(BlobStoreError) {
        guard unlink(path(of: digest)) == 0 || errno == ENOENT else { throw .io("removing blob \(digest)", errno) }
    }

    // MARK: uploads

    /// Starts an upload session for `repository`; returns its id.
    public func startUpload(repository: String) throws(BlobStoreError) -> String {
        let id = UUID().uuidString.lowercased()
        let fd = open(temporaryPath(id), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("creating an upload file", errno) }
        sessions.withLock { $0[id] = UploadSession(repository: repository, fd: fd) }
        return id
    }

    /// How many bytes session `id` of `repository` holds, or nil when there is no such session.
    public func uploadOffset(_ id: String, repository: String) -> Int64? {
        sessions.withLock { all in all[id].flatMap { $0.repository == repository ? $0.offset : nil } }
    }

    /// Appends the body to session `id`. `range` is the client's `Content-Range` (inclusive
    /// byte positions), which must start at the session's offset; when given, the body must be
    /// exactly that long. On any failure the session is as it was before. Returns the new offset.
    public func append(_ id: String, repository: String, range: ClosedRange<Int64>? = nil,
                       body: some BodyChunks) async throws(BlobStoreError) -> Int64 {
        var session = try checkOut(id, repository: repository)
        defer { checkIn(id, session) }
        if let range, range.lowerBound != session.offset { throw .rangeNotSatisfiable(offset: session.offset) }
        let before = session
        do {
            try await session.write(body)
            // Compared as last positions: a range ending at Int64.max must not overflow a length.
            let received = session.offset - before.offset
            if let range, received - 1 != range.upperBound - range.lowerBound {
                throw BlobStoreError.sizeInvalid("the body holds \(received) bytes where Content-Range says bytes \(range.lowerBound)-\(range.upperBound)")
            }
        } catch {
            _ = ftruncate(before.fd, off_t(before.offset))
            session = before
            throw error as? BlobStoreError ?? .io("receiving the upload", EIO)
        }
        return session.offset
    }

    /// Ends session `id`: appends `body` (if any), checks the content against `expected`, and
    /// makes it the blob `expected` (fsynced, renamed into place). The session is gone afterwards
    /// whatever happens. Returns the blob's size.
    /// - Throws: ``BlobStoreError/digestInvalid(_:)`` when the content has another digest.
    public func finish(_ id: String, repository: String, expected: Digest,
                       body: (some BodyChunks)?) async throws(BlobStoreError) -> Int64 {
        var session = try checkOut(id, repository: repository)
        defer { discard(session, id) }
        if let body {
            do { try await session.write(body) } catch { throw error as? BlobStoreError ?? .io("receiving the upload", EIO) }
        }
        let computed = Digest(sha256: session.hasher.finalize())
        guard computed == expected else {
            throw .digestInvalid("the uploaded content has digest \(computed), not \(expected)")
        }
        let (fd, from, destination) = (session.fd, temporaryPath(id), path(of: expected))
        try await Self.waitingOnDisk { () throws(BlobStoreError) in
            // Modified now, so that gc's grace period counts from the blob's arrival.
            _ = futimens(fd, nil)
            guard fsync(fd) == 0 else { throw .io("syncing the upload", errno) }
            let shard = (destination as NSString).deletingLastPathComponent
            if mkdir(shard, 0o755) != 0, errno != EEXIST { throw .io("creating \(shard)", errno) }
            guard rename(from, destination) == 0 else { throw .io("moving the blob into place", errno) }
            Self.syncDirectory(shard)
        }
        return session.offset
    }

    /// Runs `work`, which waits for the disk (fsync), on a thread of Dispatch's pool: the caller's
    /// thread may be a server's event loop, which other connections share.
    private static func waitingOnDisk(_ work: @escaping @Sendable () throws(BlobStoreError) -> Void) async throws(BlobStoreError) {
        let result = await withCheckedContinuation { (done: CheckedContinuation<Result<Void, BlobStoreError>, Never>) in
            DispatchQueue.global(qos: .utility).async { done.resume(returning: Result { () throws(BlobStoreError) in try work() }) }
        }
        try result.get()
    }

    /// Cancels session `id` of `repository`; false when there is no such session.
    @discardableResult
    public func cancel(_ id: String, repository: String) -> Bool {
        guard let session = try? checkOut(id, repository: repository) else { return false }
        discard(session, id)
        return true
    }

    /// Cancels the sessions idle for more than `idleSeconds`; returns how many.
    @discardableResult
    public func sweepAbandoned(idleSeconds: Double) -> Int {
        let now = Date().timeIntervalSince1970
        let abandoned = sessions.withLock { all in
            let ids = all.filter { !$0.value.busy && now - $0.value.lastUsed > idleSeconds }.map(\.key)
            return ids.map { id in (id, all.removeValue(forKey: id)!) }
        }
        for (id, session) in abandoned { discard(session, id) }
        return abandoned.count
    }

    private func temporaryPath(_ id: String) -> String { "\(root)/uploads/\(id)" }

    /// Takes a session for one request: a second request on it meanwhile finds it busy.
    private func checkOut(_ id: String, repository: String) throws(BlobStoreError) -> UploadSession {
        let found: UploadSession? = sessions.withLock { all in
            guard var session = all[id], session.repository == repository, !session.busy else { return nil }
            session.busy = true
            all[id] = session
            return session
        }
        guard let found else { throw .uploadUnknown }
        return found
    }

    private func checkIn(_ id: String, _ session: UploadSession) {
        var session = session
        session.busy = false
        session.lastUsed = Date().timeIntervalSince1970
        sessions.withLock { $0[id] = session }
    }

    private func discard(_ session: UploadSession, _ id: String) {
        close(session.fd)
        unlink(temporaryPath(id))
        sessions.withLock { _ = $0.removeValue(forKey: id) }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}

/// A request body as it arrives, chunk by chunk; each buffer is valid only during the call.
public protocol BodyChunks: Sendable {
    func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) async throws
}

extension BodyChunks {
    /// The whole body, or nil when it is longer than `limit` bytes.
    public func collect(upTo limit: Int) async throws -> [UInt8]? {
        var bytes: [UInt8] = []
        var tooLong = false
        try await forEachChunk { chunk in
            guard !tooLong else { return }
            if bytes.count + chunk.count > limit { tooLong = true; return }
            bytes.append(contentsOf: chunk)
        }
        return tooLong ? nil : bytes
    }
}

/// A body held in memory.
extension Array: BodyChunks where Element == UInt8 {
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) async throws {
        try withUnsafeBytes(body)
    }
}

/// Why a blob operation failed.
public enum BlobStoreError: Error, Equatable, Sendable {
    /// No such upload session (never started, finished, cancelled, or lost in a restart).
    case uploadUnknown
    /// A chunk that does not start where the upload stands.
    case rangeNotSatisfiable(offset: Int64)
    case digestInvalid(String)
    case sizeInvalid(String)
    /// The disk is full.
    case noSpace
    /// An I/O error, described.
    case failed(String)

    static func io(_ doing: String, _ code: Int32) -> BlobStoreError {
        code == ENOSPC ? .noSpace : .failed("\(doing): \(String(cString: strerror(code)))")
    }
}

/// One upload in progress: its temporary file, how much it holds and the digest so far.
/// Unchecked: `SHA256` is a copy-on-write value (a copy keeps its own state) that swift-crypto
/// does not mark `Sendable`; a session is used by one request at a time (``BlobStore`` checks
/// it out).
struct UploadSession: @unchecked Sendable {
    let repository: String
    let fd: Int32
    var offset: Int64 = 0
    var hasher = SHA256()
    var busy = false
    var lastUsed = Date().timeIntervalSince1970

    init(repository: String, fd: Int32) {
        self.repository = repository
        self.fd = fd
    }

    /// Bytes between starts of writeback (see ``write(_:)``).
    static let writebackStride: Int64 = 8 << 20

    /// Writes every chunk of `body` at the end, hashing it. Every ``writebackStride`` bytes the
    /// kernel is told to start writing the last stride to disk (`sync_file_range`, which does not
    /// wait), so the disk works while the body still arrives and the final fsync has little left.
    mutating func write(_ body: some BodyChunks) async throws {
        let fd = fd
        var offset = offset
        var hasher = hasher
        try await body.forEachChunk { chunk in
            defer {
                let stride = Self.writebackStride
                if (offset - Int64(chunk.count)) / stride != offset / stride {
                    let end = offset / stride * stride
                    _ = regledger_start_writeback(fd, end - stride, stride)
                }
            }
            var done = 0
            while done < chunk.count {
                let n = pwrite(fd, chunk.baseAddress! + done, chunk.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw BlobStoreError.io("writing the upload", errno)
                }
                done += n
            }
            hasher.update(bufferPointer: chunk)
            offset += Int64(chunk.count)
        }
        self.offset = offset
        self.hasher = hasher
    }
}
