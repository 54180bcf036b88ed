import Foundation
import LeadRouting
import RedisClient

/// The target of a command: the Redis URL and the pool, from global options or the environment.
struct Context {
    let url: RedisURL
    /// The URL as given, for child processes (`bench` starts workers); the password, when it
    /// came from the environment, reaches them through the inherited environment.
    let urlText: String
    let keys: PoolKeys

    func connect() throws -> PoolClient {
        PoolClient(connection: try RedisConnection(url: self.url), keys: self.keys)
    }
}

enum CLI {
    static let version = "0.1.0"

    static let usage = """
        leadrouter: routes sales leads from a Redis list to managers.

        usage: leadrouter [--redis URL] [--pool NAME] COMMAND ...
               leadrouter --version

          worker [--concurrency N] [--name NAME] [--batch N] [--metrics HOST:PORT]
                                          take leads and assign them until SIGINT/SIGTERM;
                                          --metrics serves /metrics and /healthz (e.g. 127.0.0.1:9464)
          push [FILE] [--no-stamp]        push JSON objects, a JSON array or JSON lines (stdin without FILE)
          push --csv FILE --id-column NAME [--rename COLUMN=FIELD]...
                                          push one lead per CSV row; fields are named after the
                                          header unless renamed
          manager add ID [--groups a,b] [--max-open N]
          manager remove|on|off ID
          manager set ID [--open-deals N] [--empty-fields F] [--max-open N] [--metric NAME=VALUE]...
          manager list [--json]
          config set FILE                 validate and store the pool config
          config show
          assign ID MANAGER               assign a lead by hand, or reassign it
          claim MANAGER [ID]              take the named open lead, or the oldest one
          close ID                        the deal is finished; frees one open lead of the manager
          explain ID                      why the lead went where it went
          status [--json] [--watch] [--interval SECONDS]
          dlq list [--json] [--limit N]   dead-letter entries: id, time, lead id, size, reason
          dlq retry ID|--all              put entries back on the incoming list (after a fix)
          dlq drop ID|--all               delete entries for good
          bench [--leads N] [--workers K] [--concurrency C] [--managers M] [--method NAME]
                [--rate R --seconds S] [--json]
                                          measure throughput and speed-to-lead against the Redis floor

        global options:
          --redis URL    redis://[user:password@]host:port/db or unix:///path/redis.sock
                         (env LEADROUTER_REDIS_URL, default redis://127.0.0.1:6379;
                          password also from env LEADROUTER_REDIS_PASSWORD)
          --pool NAME    pool name, 1-64 of A-Z a-z 0-9 _ . - (env LEADROUTER_POOL, default "default")
        """

    /// Runs one command and returns the process exit code: 0 done, 1 failed, 2 bad usage.
    static func main(_ arguments: [String]) -> Int32 {
        do {
            try self.run(arguments)
            return 0
        } catch let error as UsageError {
            self.fail(error.description)
            return 2
        } catch let error as ConfigError {
            self.fail("\(error.description); nothing was changed")
            return 1
        } catch {
            self.fail("\(error)")
            return 1
        }
    }

    static func fail(_ message: String) {
        let line = "leadrouter: error: " + message.replacingOccurrences(of: "\n", with: " ") + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static func run(_ arguments: [String]) throws {
        let (globals, rest) = try self.splitGlobals(arguments)
        guard let command = rest.first, !["help", "--help", "-h"].contains(command) else {
            print(self.usage)
            return
        }
        if command == "--version" || command == "version" {
            print("leadrouter \(Self.version)")
            return
        }
        if command.hasPrefix("-") {
            throw UsageError("unknown option \(Identifiers.quoted(command)); global options are --redis URL and --pool NAME, and the command comes next (run `leadrouter help`)")
        }
        let environment = ProcessInfo.processInfo.environment
        let pool = globals["--pool"] ?? environment["LEADROUTER_POOL"] ?? "default"
        let keys = try PoolKeys(pool: pool)
        let urlText = globals["--redis"] ?? environment["LEADROUTER_REDIS_URL"] ?? RedisURL.defaultURL
        let url: RedisURL
        do {
            url = try RedisURL(parsing: urlText, passwordFromEnvironment: environment["LEADROUTER_REDIS_PASSWORD"])
        } catch let error as RedisError {
            throw UsageError("invalid --redis URL: \(error.message)")
        }
        let context = Context(url: url, urlText: urlText, keys: keys)
        let tail = Array(rest.dropFirst())

        switch command {
        case "worker":
            try WorkerCommand.run(tail, context)
        case "push":
            try PushCommand.run(tail, context)
        case "manager":
            try ManagerCommand.run(tail, context)
        case "config":
            try ConfigCommand.run(tail, context)
        case "assign", "claim", "close":
            try LeadCommands.run(command, tail, context)
        case "explain":
            let arguments = try Arguments(tail, command: "explain")
            let id = try arguments.expect(["ID"], command: "explain")[0]
            try Identifiers.validateLead(id)
            print(try context.connect().explain(id))
        case "status":
            try StatusCommand.run(tail, context)
        case "dlq":
            try DeadLetterCommand.run(tail, context)
        case "bench":
            try BenchCommand.run(tail, context)
        default:
            throw UsageError("unknown command \(Identifiers.quoted(command)); run `leadrouter help` for the commands")
        }
    }

    /// Takes `--redis` and `--pool` from anywhere on the line, so they may come before or after
    /// the command words.
    private static func splitGlobals(_ arguments: [String]) throws(UsageError) -> ([String: String], [String]) {
        var globals: [String: String] = [:]
        var rest: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if let name = Arguments.globalOptions.first(where: { argument == $0 || argument.hasPrefix($0 + "=") }) {
                if argument.count > name.count {
                    globals[name] = String(argument.dropFirst(name.count + 1))
                } else {
                    guard index < arguments.count else {
                        throw UsageError("option \(name) needs a value")
                    }
                    globals[name] = arguments[index]
                    index += 1
                }
                continue
            }
            rest.append(argument)
        }
        return (globals, rest)
    }
}
