/// ECR image status (archive support).
public enum ImageStatus: String, CaseIterable, Sendable {
    case active = "ACTIVE"
    case archived = "ARCHIVED"
    case activating = "ACTIVATING"
}
