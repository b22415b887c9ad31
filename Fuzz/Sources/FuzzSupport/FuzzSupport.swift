import Foundation
import RegistryLedger

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                 _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// Runs libFuzzer with `callback` as the target (SwiftPM names an executable's entry point
/// `<module>_main`; each target defines that and calls this).
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                      _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}

/// The input as bytes.
public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Waits for an async call from libFuzzer's synchronous callback.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let box = Box<T>()
    Task {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

private final class Box<T>: @unchecked Sendable { var value: T? }

/// A non-durable store in a temporary directory holding repository `fuzz/web` with one tagged
/// image, shared by every input of one fuzzing process.
public let fuzzLedger: Ledger = {
    var options = Ledger.Options()
    options.durable = false
    let ledger = try! Ledger(path: NSTemporaryDirectory() + "regledger-fuzz-\(UUID().uuidString)", options: options)
    let ref = try! RepositoryRef("fuzz/web")
    let manifest = try! Manifest(bytes: Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"size":1},"layers":[]}"#.utf8))
    blocking {
        _ = try? await ledger.createRepository(ref, context: CommandContext(actor: "fuzz"))
        _ = try? await ledger.putImage(ref, manifest: manifest, tag: try! Tag("v1"), context: CommandContext(actor: "fuzz"))
    }
    return ledger
}()
