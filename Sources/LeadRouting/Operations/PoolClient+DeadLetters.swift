import Foundation
import RedisClient

/// A dead-letter entry as read back from `lr:{P}:dead`.
public struct DeadLetter: Sendable {
    public let id: String
    public let reason: String
    public let leadID: String?
    public let atMillis: Int64
    /// The raw input, decoded from `raw` or `raw_base64`.
    public let raw: [UInt8]
    /// The entry exactly as stored, which `LREM` needs to remove it.
    let stored: [UInt8]
}

extension PoolClient {
    /// Reads the newest `limit` dead-letter entries, newest first.
    public func deadLetters(limit: Int = 1_000) throws -> [DeadLetter] {
        let reply = try self.connection.command(["LRANGE", self.keys.dead, "0", String(max(0, limit - 1))])
        return (reply.elements ?? []).compactMap { $0.bytes }.compactMap(Self.decodeDeadLetter)
    }

    /// Puts dead-letter entries back on the incoming list, raw input unchanged, for a worker to
    /// validate again (after the producer or the config was fixed). `id` nil means all.
    /// Returns how many went back.
    public func retryDeadLetters(id: String?) throws -> Int {
        try self.moveDeadLetters(id: id, retry: true)
    }

    /// Deletes dead-letter entries for good. Returns how many were removed.
    public func dropDeadLetters(id: String?) throws -> Int {
        try self.moveDeadLetters(id: id, retry: false)
    }

    private func moveDeadLetters(id: String?, retry: Bool) throws -> Int {
        let entries = try self.deadLetters(limit: id == nil ? 100_000 : 1_000_000)
        let chosen = entries.filter { id == nil || $0.id == id }
        if let id, chosen.isEmpty {
            throw PoolError("dead-letter entry \(id) not found; list entries with `leadrouter dlq list`")
        }
        var moved = 0
        for entry in chosen {
            // LREM first: only the caller that removed the entry pushes its lead, so two people
            // retrying at once cannot push it twice.
            let reply = try self.connection.evaluate(
                Self.moveScript, keys: [Array(self.keys.dead.utf8), Array(self.keys.incoming.utf8)],
                arguments: [entry.stored, Array((retry ? "retry" : "drop").utf8), entry.raw]
            )
            moved += Int(reply.integer ?? 0)
        }
        return moved
    }

    /// KEYS[1] = dead list, KEYS[2] = incoming; ARGV[1] = stored entry, ARGV[2] = "retry" or
    /// "drop", ARGV[3] = the raw lead to push back (may be empty: an empty push is a lead too).
    /// Atomic so the entry leaves the dead list exactly when its lead is queued.
    static let moveScript = RedisScript(
        name: "dead_letter_move",
        source: #"""
            #!lua
            if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then
              return 0
            end
            if ARGV[2] == 'retry' then
              redis.call('LPUSH', KEYS[2], ARGV[3])
            end
            return 1
            """#
    )

    /// The stored entry's fields. Decoded with JSONDecoder, because JSONSerialization on Linux
    /// drops a leading U+FEFF from strings and the raw input must come back byte for byte.
    private struct StoredEntry: Decodable {
        var id: String?
        var reason: String?
        var lead_id: String?
        var at: Double?
        var raw: String?
        var raw_base64: String?
    }

    static func decodeDeadLetter(_ stored: [UInt8]) -> DeadLetter? {
        guard let entry = try? JSONDecoder().decode(StoredEntry.self, from: Data(stored)) else { return nil }
        var raw: [UInt8] = []
        if let text = entry.raw {
            raw = Array(text.utf8)
        } else if let encoded = entry.raw_base64, let data = Data(base64Encoded: encoded) {
            raw = Array(data)
        }
        return DeadLetter(
            id: entry.id ?? "", reason: entry.reason ?? "", leadID: entry.lead_id,
            atMillis: Int64(entry.at ?? 0), raw: raw, stored: stored
        )
    }
}
