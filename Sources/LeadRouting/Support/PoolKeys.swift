/// Key names of one pool. Every key starts with `lr:{P}:`; the braces are a Redis Cluster hash
/// tag, so all of a pool's keys share one slot and one script may touch them all.
/// `ops/KEYS.md` documents each key, its type and who writes it.
public struct PoolKeys: Sendable {
    public let pool: String
    public let prefix: String

    public init(pool: String) throws(UsageError) {
        try Identifiers.validatePool(pool)
        self.pool = pool
        self.prefix = "lr:{\(pool)}:"
    }

    public var incoming: String { self.prefix + "incoming" }
    public var redelivered: String { self.prefix + "redelivered" }
    public var dead: String { self.prefix + "dead" }
    public var events: String { self.prefix + "events" }
    public var config: String { self.prefix + "config" }
    public var configVersion: String { self.prefix + "config_version" }
    public var managers: String { self.prefix + "managers" }
    public var waiting: String { self.prefix + "waiting" }
    public var manual: String { self.prefix + "manual" }
    public var open: String { self.prefix + "open" }
    public var timers: String { self.prefix + "timers" }
    public var workers: String { self.prefix + "workers" }
    public var wake: String { self.prefix + "wake" }
    public var stats: String { self.prefix + "stats" }

    public func lead(_ id: String) -> String { self.prefix + "lead:" + id }
    public func manager(_ id: String) -> String { self.prefix + "manager:" + id }
    public func group(_ name: String) -> String { self.prefix + "group:" + name }
    public func processing(_ worker: String) -> String { self.prefix + "processing:" + worker }
    public func heartbeat(_ worker: String) -> String { self.prefix + "worker:" + worker }
    public func daily(_ date: String) -> String { self.prefix + "daily:" + date }
}
