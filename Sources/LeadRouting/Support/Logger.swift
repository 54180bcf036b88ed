import Foundation
import Synchronization

/// A small logger shaped like swift-log: a label, a level and key=value metadata, one line per
/// message on standard error. Lead payloads and passwords are never passed to it; metadata holds
/// ids only.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error

        public static func < (lhs: Level, rhs: Level) -> Bool {
            lhs.rawValue < rhs.rawValue
        }

        var name: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warning: return "warning"
            case .error: return "error"
            }
        }
    }

    /// Metadata keys used across the project, in one place so log lines stay greppable.
    public enum Key {
        public static let pool = "pool"
        public static let worker = "worker"
        public static let lead = "lead_id"
        public static let manager = "manager"
        public static let error = "error"
        public static let count = "count"
    }

    public let label: String
    public let minimumLevel: Level
    private static let output = Mutex(())

    public init(label: String, minimumLevel: Level = Logger.levelFromEnvironment()) {
        self.label = label
        self.minimumLevel = minimumLevel
    }

    /// `LEADROUTER_LOG_LEVEL` = debug, info (default), warning or error. An unknown value is
    /// reported once on standard error and info is used.
    public static func levelFromEnvironment() -> Level {
        let value = ProcessInfo.processInfo.environment["LEADROUTER_LOG_LEVEL"]?.lowercased()
        switch value {
        case "debug": return .debug
        case "warning": return .warning
        case "error": return .error
        case nil, "", "info": return .info
        default:
            let line = "leadrouter: warning: LEADROUTER_LOG_LEVEL \(Identifiers.quoted(value ?? "")) is not debug, info, warning or error; using info\n"
            FileHandle.standardError.write(Data(line.utf8))
            return .info
        }
    }

    public func log(_ level: Level, _ message: String, _ metadata: [(String, String)] = []) {
        guard level >= self.minimumLevel else { return }
        let time = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        var line = "\(time) \(level.name) \(self.label): \(message)"
        for (key, value) in metadata {
            line += " \(key)=\(Self.format(value))"
        }
        line += "\n"
        Self.output.withLock { _ in
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    public func debug(_ message: String, _ metadata: [(String, String)] = []) { self.log(.debug, message, metadata) }
    public func info(_ message: String, _ metadata: [(String, String)] = []) { self.log(.info, message, metadata) }
    public func warning(_ message: String, _ metadata: [(String, String)] = []) { self.log(.warning, message, metadata) }
    public func error(_ message: String, _ metadata: [(String, String)] = []) { self.log(.error, message, metadata) }

    private static func format(_ value: String) -> String {
        if value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
            return Identifiers.quoted(value, limit: 200)
        }
        return value
    }
}
