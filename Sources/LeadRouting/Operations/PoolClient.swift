import Foundation
import RedisClient

/// A failed operation on a pool, with what to do next; the CLI prints it as one line.
public struct PoolError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// The operations behind the `leadrouter` commands other than `worker`: managers, config, lead
/// actions, status and explain. One connection, used from one thread.
public struct PoolClient {
    public let connection: RedisConnection
    public let keys: PoolKeys

    public init(connection: RedisConnection, keys: PoolKeys) {
        self.connection = connection
        self.keys = keys
    }

    /// Runs a pool script with the prefix as ARGV[1] and a pool key as KEYS[1].
    func run(_ script: RedisScript, _ arguments: [String]) throws -> RedisReply {
        try self.connection.evaluate(script, keys: [self.keys.incoming], arguments: [self.keys.prefix] + arguments)
    }

    /// Runs a lifecycle script, which also needs the compiled groups and the events cap, and turns
    /// its `{ "error", message }` reply into a thrown `PoolError`.
    func runLifecycle(_ script: RedisScript, _ arguments: [String], extra: (PoolConfig) -> [String] = { _ in [] }) throws -> [String] {
        let loaded = try LoadedConfig.load(from: self.connection, keys: self.keys)
        let reply = try self.run(script, [loaded.groupsJSON, String(loaded.config.eventsMaxLength)] + arguments + extra(loaded.config))
        let items = (reply.elements ?? []).map { $0.text ?? "" }
        guard let first = items.first else {
            throw PoolError("unexpected reply from script \(script.name)")
        }
        if first == "error" {
            throw PoolError(items.count > 1 ? items[1] : "\(script.name) failed")
        }
        return Array(items.dropFirst())
    }

    // MARK: - Config

    /// Validates and stores a config document; an invalid one throws and changes nothing.
    public func setConfig(_ document: Data) throws -> PoolConfig {
        let config = try PoolConfig.parse(document)
        // MULTI/EXEC so the document and its version change together, and the wake signal makes
        // workers route waiting leads by the new rules.
        let replies = try self.connection.pipeline([
            ["MULTI"], ["SET", self.keys.config, String(decoding: document, as: UTF8.self)],
            ["INCR", self.keys.configVersion], ["INCR", self.keys.wake], ["EXEC"],
        ].map { $0.map { Array($0.utf8) } })
        if case .error(let message)? = replies.last {
            throw RedisError(.server, message, command: "EXEC")
        }
        return config
    }

    /// Returns the stored config document, or nil when the pool has none.
    public func configDocument() throws -> String? {
        try self.connection.command(["GET", self.keys.config]).text
    }

    // MARK: - Lead actions

    /// Assigns a lead by hand, or reassigns it. Returns "assigned" or "reassigned" and the
    /// previous status or manager.
    public func assign(lead: String, to manager: String) throws -> (action: String, previous: String) {
        let result = try self.runLifecycle(LifecycleScripts.assign, [lead, manager])
        return (result.first ?? "", result.count > 1 ? result[1] : "")
    }

    /// Claims the named open lead, or the oldest open lead of the manager's groups. Returns the id.
    public func claim(manager: String, lead: String?) throws -> String {
        let result = try self.runLifecycle(LifecycleScripts.claim, [manager, lead ?? ""])
        return result.first ?? ""
    }

    /// Closes a lead; returns "closed" or "already closed".
    public func close(lead: String) throws -> String {
        let result = try self.runLifecycle(LifecycleScripts.close, [lead]) { config in
            [String(config.closedRetentionDays * 86_400)]
        }
        return result.first ?? ""
    }

    /// Returns the lead record, field by field, or nil when it does not exist.
    public func leadRecord(_ id: String) throws -> [String: String]? {
        let reply = try self.connection.command(["HGETALL", self.keys.lead(id)])
        let map = reply.fieldMap.compactMapValues(\.text)
        return map.isEmpty ? nil : map
    }
}

extension PoolClient {
    /// Deletes every key of the pool, found with SCAN on its prefix. For throwaway pools
    /// (`bench`, tests); returns how many keys were deleted.
    @discardableResult
    public func deleteAllKeys() throws -> Int {
        var deleted = 0
        var cursor = "0"
        repeat {
            let reply = try self.connection.command(["SCAN", cursor, "MATCH", self.keys.prefix + "*", "COUNT", "1000"])
            guard let parts = reply.elements, parts.count == 2 else { break }
            cursor = parts[0].text ?? "0"
            let keys = (parts[1].elements ?? []).compactMap(\.bytes)
            if !keys.isEmpty {
                deleted += Int(try self.connection.command([Array("DEL".utf8)] + keys).integer ?? 0)
            }
        } while cursor != "0"
        return deleted
    }
}
