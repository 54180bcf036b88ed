import Foundation

/// Where and how to reach Redis: `redis://[user:password@]host[:port][/db]` or
/// `unix:///path/redis.sock[?db=N]`.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public static let defaultURL = "redis://127.0.0.1:6379"

    public var endpoint: Endpoint
    public var user: String?
    public var password: String?
    public var database: Int

    public init(endpoint: Endpoint, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses a URL. `passwordFromEnvironment` is used when the URL carries no password, so the
    /// password need not appear in a process list.
    public init(parsing text: String, passwordFromEnvironment: String? = nil) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme else {
            throw RedisError(.invalidURL, "'\(Self.redacted(text))' is not a URL; expected redis://host:port/db or unix:///path/redis.sock")
        }

        var database = 0
        switch scheme.lowercased() {
        case "redis":
            guard let rawHost = components.host, !rawHost.isEmpty else {
                throw RedisError(.invalidURL, "'\(Self.redacted(text))' names no host; expected redis://host:port/db")
            }
            let host = rawHost.hasPrefix("[") ? String(rawHost.dropFirst().dropLast()) : rawHost
            let port = components.port ?? 6379
            guard (1...65535).contains(port) else {
                throw RedisError(.invalidURL, "port \(port) in '\(Self.redacted(text))' is out of range 1-65535")
            }
            let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else {
                    throw RedisError(.invalidURL, "database '\(path)' in '\(Self.redacted(text))' is not a number; expected redis://host:port/0")
                }
                database = number
            }
            self.endpoint = .tcp(host: host, port: port)
        case "unix":
            let path = components.path
            guard path.hasPrefix("/") else {
                throw RedisError(.invalidURL, "'\(Self.redacted(text))' names no socket path; expected unix:///path/redis.sock")
            }
            if let item = components.queryItems?.first(where: { $0.name == "db" }), let value = item.value {
                guard let number = Int(value), number >= 0 else {
                    throw RedisError(.invalidURL, "database '\(value)' in '\(Self.redacted(text))' is not a number")
                }
                database = number
            }
            self.endpoint = .unix(path: path)
        default:
            throw RedisError(.invalidURL, "scheme '\(scheme)' is not supported; use redis:// or unix://")
        }

        let user = components.user.flatMap { $0.isEmpty ? nil : $0 }
        let password = components.password.flatMap { $0.isEmpty ? nil : $0 }
        self.user = user
        self.password = password ?? passwordFromEnvironment.flatMap { $0.isEmpty ? nil : $0 }
        self.database = database
    }

    /// The server as `host:port` or the socket path, with no credentials.
    public var endpointDescription: String {
        switch self.endpoint {
        case .tcp(let host, let port):
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path):
            return path
        }
    }

    /// The URL with the password replaced by `***`, safe to log.
    public var description: String {
        var credentials = ""
        if self.user != nil || self.password != nil {
            credentials = (self.user ?? "") + (self.password != nil ? ":***" : "") + "@"
        }
        switch self.endpoint {
        case .tcp:
            return "redis://\(credentials)\(self.endpointDescription)/\(self.database)"
        case .unix(let path):
            return "unix://\(credentials)\(path)?db=\(self.database)"
        }
    }

    /// Hides anything between `://` and `@`, so a malformed URL can be quoted in an error.
    static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text.range(of: "@", options: .backwards),
            at.lowerBound > schemeEnd.upperBound
        else {
            return text
        }
        return String(text[..<schemeEnd.upperBound]) + "***" + String(text[at.lowerBound...])
    }
}
