import Foundation
import RedisClient
import Testing

private func bytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}

/// Reply decoding and error handling of `RedisConnection` against the real Redis under test.
@Suite("Reply decoding")
struct ReplyDecodingTests {
    // MARK: - Reply types

    @Test("status reply")
    func statusReply() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }

        #expect(try redis.connection.command(["PING"]) == .status("PONG"))
        #expect(try redis.connection.command(["SET", redis.key("s"), "v"]) == .status("OK"))
    }

    @Test("integer replies")
    func integerReplies() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let key = redis.key("counter")

        #expect(try redis.connection.command(["INCR", key]) == .integer(1))
        #expect(try redis.connection.command(["INCRBY", key, "-6"]) == .integer(-5))
        try redis.connection.command(["SET", key, "9223372036854775806"])
        #expect(try redis.connection.command(["INCR", key]) == .integer(Int64.max))
        #expect(try redis.connection.command(["EXISTS", redis.key("missing")]) == .integer(0))
    }

    @Test("bulk with binary bytes")
    func binaryBulk() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let key = Array(redis.key("binary").utf8)
        // NUL bytes, an invalid UTF-8 sequence, a lone continuation byte and CR LF.
        let value: [UInt8] = [0x00, 0x41, 0x00, 0xFF, 0xFE, 0xC3, 0x28, 0x80, 0x0D, 0x0A, 0x00]

        #expect(try redis.connection.command([bytes("SET"), key, value]) == .status("OK"))
        let reply = try redis.connection.command([bytes("GET"), key])
        #expect(reply == .bulk(value))
        #expect(reply.bytes == value)
        #expect(try redis.connection.command([bytes("STRLEN"), key]) == .integer(Int64(value.count)))
    }

    @Test("binary key and LREM by bytes")
    func binaryKeyAndLREM() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let key = Array(redis.key("list-").utf8) + [0x00, 0xFF]
        let payload: [UInt8] = [0x7B, 0x00, 0xFF, 0x7D]

        try redis.connection.command([bytes("RPUSH"), key, payload, bytes("other")])
        #expect(try redis.connection.command([bytes("LREM"), key, bytes("1"), payload]) == .integer(1))
        #expect(try redis.connection.command([bytes("LRANGE"), key, bytes("0"), bytes("-1")]) == .array([.bulk(bytes("other"))]))
        #expect(try redis.connection.command([bytes("DEL"), key]) == .integer(1))
    }

    @Test("empty bulk string")
    func emptyBulk() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let key = redis.key("empty")

        try redis.connection.command(["SET", key, ""])
        let reply = try redis.connection.command(["GET", key])
        #expect(reply == .bulk([]))
        #expect(reply.text == "")
        #expect(!reply.isNull)
    }

    @Test("large bulk round trip")
    func largeBulk() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let key = Array(redis.key("large").utf8)
        let value = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }

        try redis.connection.command([bytes("SET"), key, value])
        #expect(try redis.connection.command([bytes("GET"), key]).bytes == value)
    }

    @Test("null reply")
    func nullReply() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }

        let reply = try redis.connection.command(["GET", redis.key("missing")])
        #expect(reply == .null)
        #expect(reply.isNull)
        #expect(reply.text == nil)
    }

    @Test("null elements inside array")
    func nullInArray() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }

        try redis.connection.command(["SET", redis.key("a"), "1"])
        let reply = try redis.connection.command(["MGET", redis.key("a"), redis.key("missing")])
        #expect(reply == .array([.bulk(bytes("1")), .null]))
    }

    @Test("empty array reply")
    func emptyArray() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }

        #expect(try redis.connection.command(["LRANGE", redis.key("missing"), "0", "-1"]) == .array([]))
    }

    @Test("blocking pop timeout is null")
    func blockingTimeout() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }

        let reply = try redis.connection.blockingCommand([bytes("BLPOP"), bytes(redis.key("nothing")), bytes("0.1")], blockSeconds: 0.1)
        #expect(reply == .null)
    }

    @Test("nested table from EVAL")
    func nestedArrays() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }

        let reply = try redis.connection.command([
            "EVAL", "return {1, {2, 'x', {}}, 'y', {{-3}}, {ok='done'}, {err='not inside'}}", "0",
        ])
        let expected: RedisReply = .array([
            .integer(1),
            .array([.integer(2), .bulk(bytes("x")), .array([])]),
            .bulk(bytes("y")),
            .array([.array([.integer(-3)])]),
            .status("done"),
            .error("not inside"),
        ])
        #expect(reply == expected)
    }

    @Test("HGETALL pairs into field map")
    func fieldMap() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let key = redis.key("hash")

        try redis.connection.command(["HSET", key, "status", "assigned", "open", "3"])
        let map = try redis.connection.command(["HGETALL", key]).fieldMap
        #expect(map.count == 2)
        #expect(map["status"]?.text == "assigned")
        #expect(map["open"]?.integer == 3)
    }

    // MARK: - Errors

    @Test("error reply thrown as server error")
    func serverError() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let key = redis.key("string")
        try redis.connection.command(["SET", key, "v"])

        do {
            try redis.connection.command(["LPUSH", key, "x"])
            Issue.record("LPUSH on a string key did not throw")
        } catch let error as RedisError {
            #expect(error.kind == .server)
            #expect(error.serverCode == "WRONGTYPE")
            #expect(error.command == "LPUSH")
            #expect(error.message.hasPrefix("WRONGTYPE"))
            #expect(!error.needsReconnect)
        }
        #expect(redis.connection.isConnected)
        #expect(try redis.connection.command(["GET", key]) == .bulk(bytes("v")))
    }

    @Test("unknown command error code")
    func unknownCommand() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }

        let error = #expect(throws: RedisError.self) {
            try redis.connection.command(["NOSUCHCOMMAND", "a"])
        }
        #expect(error?.kind == .server)
        #expect(error?.serverCode == "ERR")
        #expect(error?.command == "NOSUCHCOMMAND")
    }

    @Test("script error reply thrown")
    func scriptErrorReply() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }

        let error = #expect(throws: RedisError.self) {
            try redis.connection.command(["EVAL", "return redis.error_reply('BUSYLEAD lead is taken')", "0"])
        }
        #expect(error?.kind == .server)
        #expect(error?.serverCode == "BUSYLEAD")
    }

    @Test("pipeline keeps errors in place")
    func pipelineErrors() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let key = bytes(redis.key("string"))

        let replies = try redis.connection.pipeline([
            [bytes("SET"), key, bytes("v")],
            [bytes("LPUSH"), key, bytes("x")],
            [bytes("GET"), key],
            [bytes("INCR"), key],
            [bytes("PING")],
        ])
        #expect(replies.count == 5)
        #expect(replies[0] == .status("OK"))
        if case .error(let message) = replies[1] {
            #expect(message.hasPrefix("WRONGTYPE"))
        } else {
            Issue.record("LPUSH reply was \(replies[1]), expected a WRONGTYPE error")
        }
        #expect(replies[2] == .bulk(bytes("v")))
        if case .error(let message) = replies[3] {
            #expect(message.hasPrefix("ERR"))
        } else {
            Issue.record("INCR reply was \(replies[3]), expected an ERR error")
        }
        #expect(replies[4] == .status("PONG"))
    }

    @Test("empty pipeline returns nothing")
    func emptyPipeline() throws {
        let redis = try ScratchRedis()
        #expect(try redis.connection.pipeline([]).isEmpty)
    }

    // MARK: - Scripts

    @Test("evaluate survives SCRIPT FLUSH")
    func evaluateAfterFlush() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let unique = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let script = RedisScript(
            name: "unit-incr-\(unique)",
            source: "-- \(unique)\nreturn {redis.call('INCRBY', KEYS[1], ARGV[1]), ARGV[2]}"
        )
        let key = redis.key("script-counter")

        let first = try redis.connection.evaluate(script, keys: [key], arguments: ["2", "first"])
        #expect(first == .array([.integer(2), .bulk(bytes("first"))]))

        try redis.connection.command(["SCRIPT", "FLUSH"])
        let second = try redis.connection.evaluate(script, keys: [key], arguments: ["3", "second"])
        #expect(second == .array([.integer(5), .bulk(bytes("second"))]))

        // The reload must not run the script twice, so the counter moved by 3 only.
        #expect(try redis.connection.command(["GET", key]) == .bulk(bytes("5")))
    }

    @Test("evaluate on a second connection")
    func evaluateOnTwoConnections() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let other = try RedisConnection(url: try ScratchRedis.url)
        let script = RedisScript(name: "unit-echo", source: "return ARGV[1]")

        #expect(try redis.connection.evaluate(script, keys: [], arguments: ["a"]) == .bulk(bytes("a")))
        try other.command(["SCRIPT", "FLUSH"])
        #expect(try other.evaluate(script, keys: [], arguments: ["b"]) == .bulk(bytes("b")))
        #expect(try redis.connection.evaluate(script, keys: [], arguments: ["c"]) == .bulk(bytes("c")))
    }

    @Test("evaluate passes binary arguments")
    func evaluateBinary() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let script = RedisScript(name: "unit-echo-binary", source: "return ARGV[1]")
        let value: [UInt8] = [0x00, 0xFF, 0x0A, 0x00]

        #expect(try redis.connection.evaluate(script, keys: [], arguments: [value]) == .bulk(value))
    }

    @Test("script error names the script")
    func scriptErrorNamesScript() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let script = RedisScript(name: "unit-fails", source: "return redis.error_reply('LEADGONE no such lead')")

        let error = #expect(throws: RedisError.self) {
            try redis.connection.evaluate(script, keys: [String](), arguments: [String]())
        }
        #expect(error?.kind == .server)
        #expect(error?.serverCode == "LEADGONE")
        #expect(error?.command == "script unit-fails")
    }

    // MARK: - Connection

    @Test("close then reconnect on demand")
    func reconnectAfterClose() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }

        #expect(redis.connection.isConnected)
        redis.connection.close()
        #expect(!redis.connection.isConnected)
        #expect(try redis.connection.command(["PING"]) == .status("PONG"))
        #expect(redis.connection.isConnected)
    }

    @Test("database from URL selected")
    func databaseSelected() throws {
        var url = try ScratchRedis.url
        url.database = 2
        let inDatabase2 = try ScratchRedis(url: url)
        defer { inDatabase2.removeKeys() }
        let key = inDatabase2.key("db")

        try inDatabase2.connection.command(["SET", key, "two"])
        let inDefault = try RedisConnection(url: try ScratchRedis.url)
        #expect(try inDefault.command(["GET", key]) == .null)
        #expect(try inDatabase2.connection.command(["GET", key]) == .bulk(bytes("two")))

        // A reconnect selects the database again.
        try inDatabase2.connection.reconnect()
        #expect(try inDatabase2.connection.command(["GET", key]) == .bulk(bytes("two")))
    }

    @Test("unknown database is connection error")
    func unknownDatabase() throws {
        var url = try ScratchRedis.url
        url.database = 100_000

        do {
            _ = try RedisConnection(url: url)
            Issue.record("SELECT 100000 succeeded")
        } catch let error as RedisError {
            // The server answered, so it is a server error, not a reachability problem.
            #expect(error.kind == .server)
            #expect(error.command == "SELECT")
            #expect(error.message.contains("out of range"))
        }
    }

    @Test("command timeout drops connection")
    func commandTimeout() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let slow = try RedisConnection(url: try ScratchRedis.url, commandTimeout: 0.3)

        // A plain command, not blockingCommand, so the 0.3 s socket timeout applies to BLPOP 3.
        do {
            try slow.command(["BLPOP", redis.key("never"), "3"])
            Issue.record("BLPOP 3 returned within a 0.3 s command timeout")
        } catch let error as RedisError {
            #expect(error.kind == .io)
            #expect(error.needsReconnect)
            #expect(error.command == "BLPOP")
        }
        #expect(!slow.isConnected)
        #expect(try slow.command(["PING"]) == .status("PONG"))
    }

    @Test("blocking command outlasts timeout")
    func blockingCommandTimeout() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let connection = try RedisConnection(url: try ScratchRedis.url, commandTimeout: 0.2)

        let reply = try connection.blockingCommand([bytes("BLPOP"), bytes(redis.key("never")), bytes("0.5")], blockSeconds: 0.5)
        #expect(reply == .null)
        #expect(connection.isConnected)
    }

    @Test("failed AUTH hides password")
    func failedAuthentication() throws {
        var url = try ScratchRedis.url
        let secret = "unit-secret-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        url.user = "unit-nobody"
        url.password = secret

        do {
            _ = try RedisConnection(url: url)
            Issue.record("AUTH with an unknown user succeeded")
        } catch let error as RedisError {
            #expect(error.kind == .server)
            #expect(error.command == "AUTH")
            #expect(error.description.contains("check the user in the URL and the password"))
            #expect(!error.message.contains(secret))
            #expect(!error.description.contains(secret))
            #expect(error.description.contains(url.endpointDescription))
        }
    }

    @Test("missing socket is connection error")
    func missingSocket() throws {
        let path = NSTemporaryDirectory() + "lr-unit-\(UInt64.random(in: 0...UInt64.max))/redis.sock"
        let url = RedisURL(endpoint: .unix(path: path))

        do {
            _ = try RedisConnection(url: url)
            Issue.record("connecting to \(path) succeeded")
        } catch let error as RedisError {
            #expect(error.kind == .connection)
            #expect(error.needsReconnect)
            #expect(error.endpoint == path)
            #expect(error.description.contains("is Redis running"))
        }
    }
}
