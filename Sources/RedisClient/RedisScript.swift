/// A Lua script called by SHA. The first call on a connection loads it with `SCRIPT LOAD`, which
/// returns the SHA-1; a `NOSCRIPT` reply (after a restart, a failover or `SCRIPT FLUSH`) loads it
/// again and repeats the call once, which is safe because Redis runs nothing of a script it does
/// not have.
public struct RedisScript: Sendable {
    public let name: String
    public let source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }
}

extension RedisConnection {
    /// Runs `script` with the given keys and arguments, loading it when the server lacks it.
    @discardableResult
    public func evaluate(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]]) throws -> RedisReply {
        let sha1 = try self.scriptSHA1s[script.name] ?? self.load(script)
        let tail: [[UInt8]] = [Array(String(keys.count).utf8)] + keys + arguments
        do {
            return try self.command([Array("EVALSHA".utf8), Array(sha1.utf8)] + tail)
        } catch let error as RedisError where error.serverCode == "NOSCRIPT" {
            let reloaded = try self.load(script)
            return try self.command([Array("EVALSHA".utf8), Array(reloaded.utf8)] + tail)
        } catch let error as RedisError where error.kind == .server {
            throw RedisError(.server, error.message, command: "script \(script.name)", endpoint: error.endpoint)
        }
    }

    /// Runs `script` with text keys and arguments.
    @discardableResult
    public func evaluate(_ script: RedisScript, keys: [String], arguments: [String]) throws -> RedisReply {
        try self.evaluate(script, keys: keys.map { Array($0.utf8) }, arguments: arguments.map { Array($0.utf8) })
    }

    /// Loads `script` into the server's script cache and remembers its SHA-1 on this connection.
    @discardableResult
    public func load(_ script: RedisScript) throws -> String {
        let reply = try self.command(["SCRIPT", "LOAD", script.source])
        guard let sha1 = reply.text, sha1.count == 40 else {
            throw RedisError(.unexpectedReply, "SCRIPT LOAD of \(script.name) returned no SHA-1", command: "SCRIPT LOAD")
        }
        self.scriptSHA1s[script.name] = sha1
        return sha1
    }
}
