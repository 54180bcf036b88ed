import CHiredis
import Foundation

/// One synchronous connection to Redis through hiredis.
///
/// Every hiredis call of the project goes through this file, and the `redisContext` pointer never
/// leaves it. A connection is used by one thread at a time and its calls block, so callers run it
/// on their own threads, never on Swift's cooperative pool. After an `.io` error the context is
/// dropped and the next command reconnects (callers add backoff between attempts).
public final class RedisConnection {
    public let url: RedisURL
    public let commandTimeout: Double
    private var context: UnsafeMutablePointer<redisContext>?
    /// SHA-1 of each script this connection has loaded, by script name.
    var scriptSHA1s: [String: String] = [:]

    /// Opens the connection, authenticates and selects the database.
    public init(url: RedisURL, commandTimeout: Double = 5) throws {
        self.url = url
        self.commandTimeout = commandTimeout
        try self.connect()
    }

    deinit {
        self.close()
    }

    public var isConnected: Bool {
        self.context != nil
    }

    public func close() {
        if let context = self.context {
            redisFree(context)
            self.context = nil
        }
    }

    /// Drops the current socket, if any, and opens a new one.
    public func reconnect() throws {
        self.close()
        try self.connect()
    }

    private func connect() throws {
        let timeout = Self.timeval(seconds: 2)
        let opened: UnsafeMutablePointer<redisContext>?
        switch self.url.endpoint {
        case .tcp(let host, let port):
            opened = redisConnectWithTimeout(host, Int32(port), timeout)
        case .unix(let path):
            opened = redisConnectUnixWithTimeout(path, timeout)
        }
        guard let context = opened else {
            throw RedisError(.connection, "could not allocate a hiredis context", endpoint: self.url.endpointDescription)
        }
        guard context.pointee.err == 0 else {
            let message = Self.errorText(context)
            redisFree(context)
            throw RedisError(.connection, "cannot connect: \(message)", endpoint: self.url.endpointDescription)
        }
        if case .tcp = self.url.endpoint {
            _ = redisEnableKeepAlive(context)
        }
        _ = redisSetTimeout(context, Self.timeval(seconds: self.commandTimeout))
        self.context = context

        do {
            if let password = self.url.password {
                var arguments = ["AUTH"]
                if let user = self.url.user {
                    arguments.append(user)
                }
                arguments.append(password)
                _ = try self.command(arguments)
            }
            if self.url.database != 0 {
                _ = try self.command(["SELECT", String(self.url.database)])
            }
        } catch let error as RedisError {
            self.close()
            // The server answered, so this is not a reachability problem; the AUTH reply never
            // echoes the password.
            throw RedisError(error.kind, error.message, command: error.command, endpoint: self.url.endpointDescription)
        }
    }

    // MARK: - Commands

    /// Sends one command and waits for its reply. An error reply is thrown as `.server`.
    @discardableResult
    public func command(_ arguments: [String]) throws -> RedisReply {
        try self.command(arguments.map { Array($0.utf8) })
    }

    /// Sends one binary-safe command and waits for its reply. An error reply is thrown as `.server`.
    @discardableResult
    public func command(_ arguments: [[UInt8]]) throws -> RedisReply {
        let replies = try self.pipeline([arguments])
        let reply = replies[0]
        if case .error(let message) = reply {
            throw RedisError(.server, message, command: Self.commandName(arguments), endpoint: self.url.endpointDescription)
        }
        return reply
    }

    /// Sends a blocking command (BLMOVE, BLPOP, XREADGROUP BLOCK…) whose server-side timeout is
    /// `blockSeconds`; the socket timeout is raised above it for this one call.
    @discardableResult
    public func blockingCommand(_ arguments: [[UInt8]], blockSeconds: Double) throws -> RedisReply {
        try self.ensureConnected(arguments)
        _ = redisSetTimeout(self.context, Self.timeval(seconds: blockSeconds + self.commandTimeout))
        defer {
            if let context = self.context {
                _ = redisSetTimeout(context, Self.timeval(seconds: self.commandTimeout))
            }
        }
        return try self.command(arguments)
    }

    /// Sends several commands in one write and reads their replies in order. Error replies come
    /// back as `.error` values in place; only a broken connection throws.
    public func pipeline(_ commands: [[[UInt8]]]) throws -> [RedisReply] {
        guard let first = commands.first else { return [] }
        try self.ensureConnected(first)

        for arguments in commands {
            let status = Self.withArgv(arguments) { argc, argv, lengths in
                redisAppendCommandArgv(self.context, argc, argv, lengths)
            }
            guard status == REDIS_OK else {
                throw self.connectionFailure(Self.commandName(arguments))
            }
        }

        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for arguments in commands {
            var raw: UnsafeMutableRawPointer?
            let status = redisGetReply(self.context, &raw)
            guard status == REDIS_OK, let pointer = raw else {
                throw self.connectionFailure(Self.commandName(arguments))
            }
            let reply = pointer.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.decode(reply))
            freeReplyObject(pointer)
        }
        return replies
    }

    // MARK: - hiredis plumbing

    private func ensureConnected(_ arguments: [[UInt8]]) throws {
        if self.context == nil {
            do {
                try self.connect()
            } catch let error as RedisError {
                throw RedisError(error.kind, error.message, command: Self.commandName(arguments), endpoint: error.endpoint)
            }
        }
    }

    /// Turns `c->err`/`c->errstr` into an `.io` error and drops the context, which hiredis
    /// leaves unusable after any I/O or protocol error.
    private func connectionFailure(_ command: String) -> RedisError {
        var message = "connection lost"
        if let context = self.context, context.pointee.err != 0 {
            message = Self.errorText(context)
        }
        self.close()
        return RedisError(.io, message, command: command, endpoint: self.url.endpointDescription)
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        var errstr = context.pointee.errstr
        let text = withUnsafeBytes(of: &errstr) { buffer -> String in
            let bytes = buffer.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return text.isEmpty ? "error \(context.pointee.err)" : text
    }

    /// Lays all arguments out in one buffer and hands hiredis pointers into it, so no argument
    /// is copied again or needs to be NUL-terminated (payloads may contain NUL bytes).
    private static func withArgv(
        _ arguments: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Int32
    ) -> Int32 {
        var storage: [UInt8] = []
        storage.reserveCapacity(arguments.reduce(0) { $0 + $1.count } + 1)
        var offsets: [Int] = []
        var lengths: [Int] = []
        for argument in arguments {
            offsets.append(storage.count)
            lengths.append(argument.count)
            storage.append(contentsOf: argument)
        }
        // A trailing byte keeps the base address valid when every argument is empty.
        storage.append(0)

        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var pointers: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { lengthBuffer in
                    body(Int32(arguments.count), argv.baseAddress!, lengthBuffer.baseAddress!)
                }
            }
        }
    }

    private static func decode(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(Self.bytes(value.str, value.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: Self.bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: Self.bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(Int(value.elements))
            for index in 0..<Int(value.elements) {
                if let element = value.element[index] {
                    elements.append(Self.decode(element))
                } else {
                    elements.append(.null)
                }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    private static func commandName(_ arguments: [[UInt8]]) -> String {
        guard let first = arguments.first else { return "(empty command)" }
        return String(decoding: first, as: UTF8.self).uppercased()
    }

    private static func timeval(seconds: Double) -> timeval {
        let whole = Int(seconds)
        let micros = Int((seconds - Double(whole)) * 1_000_000)
        return Glibc.timeval(tv_sec: whole, tv_usec: micros)
    }
}
