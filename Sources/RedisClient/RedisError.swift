/// The one error type of the Redis client: what failed, on which command, against which server.
public struct RedisError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The URL given for the server cannot be used.
        case invalidURL
        /// Connecting, authenticating or selecting the database failed.
        case connection
        /// The connection broke or timed out while a command was in flight; it must be reopened.
        case io
        /// The server answered with an error reply (for example `NOSCRIPT`, `OOM`, `WRONGTYPE`).
        case server
        /// The server's answer did not have the shape the caller expected.
        case unexpectedReply
    }

    public let kind: Kind
    public let message: String
    /// The command name (never its arguments, which may hold lead payloads or passwords).
    public let command: String?
    /// The server as `host:port` or a socket path, without credentials.
    public let endpoint: String?

    public init(_ kind: Kind, _ message: String, command: String? = nil, endpoint: String? = nil) {
        self.kind = kind
        self.message = message
        self.command = command
        self.endpoint = endpoint
    }

    /// The first word of a server error reply, such as `NOSCRIPT`, `OOM` or `BUSYGROUP`.
    public var serverCode: String? {
        guard self.kind == .server else { return nil }
        return self.message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    /// True when the connection must be reopened before the next command.
    public var needsReconnect: Bool {
        self.kind == .io || self.kind == .connection
    }

    public var description: String {
        var text = ""
        if let command = self.command {
            text += "\(command) failed"
        } else {
            text += "Redis request failed"
        }
        if let endpoint = self.endpoint {
            text += " on \(endpoint)"
        }
        text += ": \(self.message)"
        switch self.kind {
        case .connection, .io:
            text += " (is Redis running and reachable? check --redis or LEADROUTER_REDIS_URL)"
        case .server:
            switch self.serverCode {
            case "NOAUTH":
                text += " (Redis needs a password: put it in the URL or in LEADROUTER_REDIS_PASSWORD)"
            case "WRONGPASS":
                text += " (check the user in the URL and the password)"
            case "NOPERM":
                text += " (the Redis user lacks a permission; see ops/acl/README.md)"
            default:
                break
            }
        case .invalidURL, .unexpectedReply:
            break
        }
        return text
    }
}
