import BlobStore
import Hummingbird
import NIOCore

/// A request's body as the registry API reads it: chunk by chunk as it arrives, not collected.
struct RequestBodyChunks: BodyChunks {
    let body: RequestBody

    func forEachChunk(_ each: (UnsafeRawBufferPointer) throws -> Void) async throws {
        for try await buffer in body { try buffer.withUnsafeReadableBytes(each) }
    }
}
