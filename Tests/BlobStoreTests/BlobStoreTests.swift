import BlobStore
import Foundation
import RegistryLedger
import Testing

/// The blob store's files and upload sessions: a blob is visible whole or not at all.
@Suite struct BlobStoreTests {
    let directory = NSTemporaryDirectory() + "blobs-\(UUID().uuidString)"

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func chunksInOrderMakeTheBlobAndOutOfOrderChangeNothing() async throws {
        let store = try BlobStore(directory: directory)
        let id = try store.startUpload(repository: "r")
        #expect(try await store.append(id, repository: "r", range: 0...4, body: bytes("hello")) == 5)
        await #expect(throws: BlobStoreError.rangeNotSatisfiable(offset: 5)) {
            try await store.append(id, repository: "r", range: 3...7, body: self.bytes("xxxxx"))
        }
        // A body shorter than its range: nothing of it stays.
        await #expect(throws: BlobStoreError.self) { try await store.append(id, repository: "r", range: 5...9, body: self.bytes("ab")) }
        #expect(store.uploadOffset(id, repository: "r") == 5)
        #expect(try await store.append(id, repository: "r", body: bytes(" world")) == 11)
        let digest = Digest(of: bytes("hello world"))
        #expect(store.size(of: digest) == nil)
        #expect(try await store.finish(id, repository: "r", expected: digest, body: [UInt8]()) == 11)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: store.path(of: digest)))) == bytes("hello world"))
        #expect(store.uploadOffset(id, repository: "r") == nil)
        #expect(store.allBlobs().map(\.digest) == [digest])
    }

    /// A range as long as Int64 allows is a size mismatch, not an arithmetic overflow.
    @Test func aRangeUpToInt64MaxIsRefusedWithoutOverflow() async throws {
        let store = try BlobStore(directory: directory)
        let id = try store.startUpload(repository: "r")
        await #expect(throws: BlobStoreError.self) {
            try await store.append(id, repository: "r", range: 0...Int64.max, body: self.bytes("tiny"))
        }
        #expect(store.uploadOffset(id, repository: "r") == 0)
    }

    @Test func aWrongDigestStoresNothingAndEndsTheSession() async throws {
        let store = try BlobStore(directory: directory)
        let id = try store.startUpload(repository: "r")
        let claimed = Digest(of: bytes("something else"))
        await #expect(throws: BlobStoreError.self) { try await store.finish(id, repository: "r", expected: claimed, body: self.bytes("content")) }
        #expect(store.size(of: claimed) == nil && store.size(of: Digest(of: bytes("content"))) == nil)
        #expect(store.uploadOffset(id, repository: "r") == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.root + "/uploads").isEmpty)
    }

    @Test func aSessionIsItsRepositorysAndGoneAfterARestartOrWhenAbandoned() async throws {
        let store = try BlobStore(directory: directory)
        let id = try store.startUpload(repository: "r")
        _ = try await store.append(id, repository: "r", body: bytes("partial"))
        await #expect(throws: BlobStoreError.uploadUnknown) { try await store.append(id, repository: "other", body: self.bytes("x")) }
        #expect(!store.cancel(id, repository: "other"))
        #expect(store.sweepAbandoned(idleSeconds: 3600) == 0)
        #expect(store.sweepAbandoned(idleSeconds: -1) == 1)
        #expect(store.uploadOffset(id, repository: "r") == nil)
        let left = try store.startUpload(repository: "r")
        _ = try await store.append(left, repository: "r", body: bytes("partial"))
        let reopened = try BlobStore(directory: directory)  // a restart
        #expect(try FileManager.default.contentsOfDirectory(atPath: reopened.root + "/uploads").isEmpty)
        #expect(reopened.uploadOffset(left, repository: "r") == nil)
    }

    @Test func aBodyThatFailsMidwayLeavesTheSessionWhereItWas() async throws {
        struct Broken: BodyChunks {
            struct Disconnected: Error {}
            func forEachChunk(_ each: (UnsafeRawBufferPointer) throws -> Void) async throws {
                try [UInt8](repeating: 1, count: 1000).withUnsafeBytes(each)
                throw Disconnected()
            }
        }
        let store = try BlobStore(directory: directory)
        let id = try store.startUpload(repository: "r")
        _ = try await store.append(id, repository: "r", body: bytes("abc"))
        await #expect(throws: BlobStoreError.self) { try await store.append(id, repository: "r", body: Broken()) }
        #expect(store.uploadOffset(id, repository: "r") == 3)
        #expect(try await store.finish(id, repository: "r", expected: Digest(of: bytes("abcd")), body: bytes("d")) == 4)
    }
}
