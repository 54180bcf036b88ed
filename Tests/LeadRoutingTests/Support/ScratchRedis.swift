import Foundation
import RedisClient

/// A connection to the Redis under test (`REDIS_URL`, set by `ops/test` to a private server on
/// loopback) and a key prefix `lr:{t-unit-<random>}:` of its own. Call `removeKeys()` in a
/// `defer`, so the keys go away also when the test fails.
final class ScratchRedis {
    static var urlText: String {
        ProcessInfo.processInfo.environment["REDIS_URL"] ?? "redis://127.0.0.1:6379"
    }

    static var url: RedisURL {
        get throws {
            try RedisURL(parsing: Self.urlText)
        }
    }

    let connection: RedisConnection
    /// `t-unit-<random>`, usable as a pool name: `PoolKeys(pool: pool).prefix == prefix`.
    let pool: String
    let prefix: String

    init(url: RedisURL? = nil) throws {
        self.connection = try RedisConnection(url: try url ?? Self.url)
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        self.pool = "t-unit-\(suffix)"
        self.prefix = "lr:{\(self.pool)}:"
    }

    func key(_ name: String) -> String {
        self.prefix + name
    }

    /// Deletes every key under the prefix in the connection's database.
    func removeKeys() {
        var cursor = "0"
        repeat {
            guard let reply = try? self.connection.command(["SCAN", cursor, "MATCH", self.prefix + "*", "COUNT", "1000"]),
                let parts = reply.elements, parts.count == 2
            else { return }
            cursor = parts[0].text ?? "0"
            let keys = (parts[1].elements ?? []).compactMap(\.bytes)
            if !keys.isEmpty {
                _ = try? self.connection.command([Array("DEL".utf8)] + keys)
            }
        } while cursor != "0"
    }
}
