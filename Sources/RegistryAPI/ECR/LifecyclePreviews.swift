import Foundation
import RegistryLedger

/// The lifecycle policy previews this server started (`StartLifecyclePolicyPreview`), one per
/// repository, each computed against the state when it started and kept in memory until the
/// next one for that repository: a preview changes nothing, so it is not an event. In a cluster
/// a preview lives on the node that started it.
final class LifecyclePreviews: @unchecked Sendable {  // guarded by `lock`
    struct Preview {
        let id: UInt64
        let text: String
        let outcomes: [LifecycleOutcome]
    }

    private let lock = NSLock()
    private var previews: [RepositoryRef: Preview] = [:]
    private var nextId: UInt64 = 1

    func store(_ ref: RepositoryRef, text: String, outcomes: [LifecycleOutcome]) {
        lock.withLock {
            previews[ref] = Preview(id: nextId, text: text, outcomes: outcomes)
            nextId += 1
        }
    }

    func preview(_ ref: RepositoryRef) -> Preview? { lock.withLock { previews[ref] } }
}
