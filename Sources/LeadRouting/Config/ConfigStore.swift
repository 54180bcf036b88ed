import Foundation
import RedisClient
import Synchronization

/// A pool config as workers apply it: the parsed config, its version, the group table the
/// scripts read and the lead parser with the config's limits.
public struct LoadedConfig: Sendable {
    public let version: Int64
    public let config: PoolConfig
    /// Compiled groups for the Lua scripts; "" when the pool has no config, which the scripts
    /// read as "one round-robin group `default` of every manager".
    public let groupsJSON: String
    public let parser: LeadParser

    public init(version: Int64, config: PoolConfig?) {
        self.version = version
        self.config = config ?? .implicit
        self.groupsJSON = config?.compiledGroupsJSON() ?? ""
        self.parser = LeadParser(maxBytes: self.config.maxLeadBytes, routingFields: self.config.routingFields)
    }

    public static let implicit = LoadedConfig(version: 0, config: nil)

    /// Reads the pool's config from Redis. A stored document that no longer validates (written
    /// around `config set`) is reported, and the caller keeps what it had.
    public static func load(from connection: RedisConnection, keys: PoolKeys) throws -> LoadedConfig {
        let replies = try connection.pipeline([
            [Array("GET".utf8), Array(keys.configVersion.utf8)],
            [Array("GET".utf8), Array(keys.config.utf8)],
        ])
        let version = replies[0].integer ?? 0
        guard let document = replies[1].bytes else {
            return LoadedConfig(version: version, config: nil)
        }
        let config = try PoolConfig.parse(Data(document))
        return LoadedConfig(version: version, config: config)
    }

    /// Reads only the version counter, which `config set` bumps with every change.
    public static func version(from connection: RedisConnection, keys: PoolKeys) throws -> Int64 {
        try connection.command(["GET", keys.configVersion]).integer ?? 0
    }
}

/// The config shared by a worker's threads; the maintenance thread replaces it when the version
/// in Redis changes.
final class ConfigStore: Sendable {
    private let state: Mutex<LoadedConfig>

    init(_ initial: LoadedConfig) {
        self.state = Mutex(initial)
    }

    var current: LoadedConfig {
        self.state.withLock { $0 }
    }

    func replace(_ config: LoadedConfig) {
        self.state.withLock { $0 = config }
    }
}
