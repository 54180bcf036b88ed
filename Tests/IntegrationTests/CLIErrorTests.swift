import Foundation
import LeadRouting
import RedisClient
import Testing

@Suite("CLI errors")
struct CLIErrorTests {
    /// One invalid command line and what it gets wrong.
    struct BadCommand: CustomTestStringConvertible {
        let label: String
        /// Arguments after `--redis`, with `POOL` replaced by the test's pool name.
        let arguments: [String]
        var environment: [String: String] = [:]

        var testDescription: String { self.label }
    }

    static let longName = String(repeating: "p", count: 200)

    static let usageErrors: [BadCommand] = [
        BadCommand(label: "unknown flag", arguments: ["--pool", "POOL", "manager", "add", "m1", "--colour", "red"]),
        BadCommand(label: "unknown worker flag", arguments: ["--pool", "POOL", "worker", "--threads", "4"]),
        BadCommand(label: "unknown command", arguments: ["--pool", "POOL", "assignn", "L1", "m1"]),
        BadCommand(label: "max-open not a number", arguments: ["--pool", "POOL", "manager", "add", "m1", "--max-open", "abc"]),
        BadCommand(label: "max-open negative", arguments: ["--pool", "POOL", "manager", "add", "m1", "--max-open", "-1"]),
        BadCommand(label: "concurrency 0", arguments: ["--pool", "POOL", "worker", "--concurrency", "0"]),
        BadCommand(label: "concurrency not a number", arguments: ["--pool", "POOL", "worker", "--concurrency", "two"]),
        BadCommand(label: "batch 0", arguments: ["--pool", "POOL", "worker", "--batch", "0"]),
        BadCommand(label: "batch above 1000", arguments: ["--pool", "POOL", "worker", "--batch", "5000"]),
        BadCommand(label: "inline max-open not a number", arguments: ["--pool", "POOL", "manager", "add", "m1", "--max-open=abc"]),
        BadCommand(label: "empty worker name", arguments: ["--pool", "POOL", "worker", "--name="]),
        BadCommand(label: "worker with a positional argument", arguments: ["--pool", "POOL", "worker", "now"]),
        BadCommand(label: "unknown global flag", arguments: ["--pool", "POOL", "--verbose", "manager", "list"]),
        BadCommand(label: "missing manager action", arguments: ["--pool", "POOL", "manager"]),
        BadCommand(label: "pool option without value", arguments: ["manager", "list", "--pool"]),
        BadCommand(label: "option without value", arguments: ["--pool", "POOL", "manager", "add", "m1", "--max-open"]),
        BadCommand(label: "empty-fields above 1", arguments: ["--pool", "POOL", "manager", "set", "m1", "--empty-fields", "1.5"]),
        BadCommand(label: "manager id with a space", arguments: ["--pool", "POOL", "manager", "add", "m 1"]),
        BadCommand(label: "manager id with a newline", arguments: ["--pool", "POOL", "manager", "add", "m\n1"]),
        BadCommand(label: "manager id of 200 characters", arguments: ["--pool", "POOL", "manager", "add", longName]),
        BadCommand(label: "manager id not ASCII", arguments: ["--pool", "POOL", "manager", "add", "менеджер"]),
        BadCommand(label: "empty manager id", arguments: ["--pool", "POOL", "manager", "add", ""]),
        BadCommand(label: "manager off with a space", arguments: ["--pool", "POOL", "manager", "off", "m 1"]),
        BadCommand(label: "group name with a brace", arguments: ["--pool", "POOL", "manager", "add", "m1", "--groups", "a}b"]),
        BadCommand(label: "worker name with a brace", arguments: ["--pool", "POOL", "worker", "--name", "w}1"]),
        BadCommand(label: "missing manager id", arguments: ["--pool", "POOL", "manager", "off"]),
        BadCommand(label: "pool name with a brace", arguments: ["--pool", "a}b", "manager", "add", "m1"]),
        BadCommand(label: "pool name with a space", arguments: ["--pool", "sales team", "manager", "add", "m1"]),
        BadCommand(label: "pool name with a newline", arguments: ["--pool", "sales\nteam", "manager", "add", "m1"]),
        BadCommand(label: "pool name of 200 characters", arguments: ["--pool", longName, "manager", "add", "m1"]),
        BadCommand(label: "empty pool name", arguments: ["--pool=", "manager", "add", "m1"]),
        BadCommand(label: "pool name from environment", arguments: ["manager", "add", "m1"], environment: ["LEADROUTER_POOL": "a}b"]),
        BadCommand(label: "pool name with a brace for a worker", arguments: ["--pool", "a}b", "worker"]),
    ]

    /// Pool names of the cases that pass one, so the test can look for keys under them.
    static func poolName(of command: BadCommand, testPool: String) -> String {
        if let index = command.arguments.firstIndex(of: "--pool"), index + 1 < command.arguments.count {
            let name = command.arguments[index + 1]
            return name == "POOL" ? testPool : name
        }
        return command.environment["LEADROUTER_POOL"] ?? testPool
    }

    /// Keys whose name starts with `lr:{NAME}`, for any pool name (glob characters escaped).
    static func keys(ofPool name: String, _ redis: RedisConnection) throws -> [String] {
        var pattern = "lr:{"
        for character in name {
            if "*?[]\\".contains(character) {
                pattern.append("\\")
            }
            pattern.append(character)
        }
        pattern += "}*"
        var found: [String] = []
        var cursor = "0"
        repeat {
            let reply = try redis.command(["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"])
            guard let parts = reply.elements, parts.count == 2 else { break }
            cursor = parts[0].text ?? "0"
            found += (parts[1].elements ?? []).compactMap(\.text)
        } while cursor != "0"
        return found
    }

    @Test("usage error exits 2 with one line", .timeLimit(.minutes(1)), arguments: usageErrors)
    func usageErrorExitsTwo(_ command: BadCommand) throws {
        let pool = try TestPool("cli")
        let arguments = command.arguments.map { $0 == "POOL" ? pool.name : $0 }
        let result = try runLeadrouter(arguments, environment: command.environment, timeout: 15)

        #expect(!result.timedOut, "still running after 15 s")
        #expect(result.status == 2, "exit status; stderr: \(result.stderr)")
        #expect(result.stderrLines.count == 1, "stderr lines: \(result.stderr)")
        #expect(result.stderr.hasPrefix("leadrouter: error: "), "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty, "stdout: \(result.stdout)")
        let name = Self.poolName(of: command, testPool: pool.name)
        #expect(try Self.keys(ofPool: name, pool.redis).isEmpty, "keys written for pool \(name)")
    }

    @Test("manager off of unknown id exits 1", .timeLimit(.minutes(1)))
    func managerOffUnknownExitsOne() throws {
        let pool = try TestPool("cli")
        for action in ["off", "on", "remove"] {
            let result = try runLeadrouter(["--pool", pool.name, "manager", action, "ghost"])
            #expect(result.status == 1, "manager \(action): exit status; stderr: \(result.stderr)")
            #expect(result.stderrLines.count == 1, "manager \(action): stderr lines: \(result.stderr)")
            #expect(result.stderr.hasPrefix("leadrouter: error: "), "manager \(action): stderr: \(result.stderr)")
            #expect(result.stderr.contains("ghost"), "manager \(action): the message names the id")
            #expect(result.stdout.isEmpty, "manager \(action): stdout: \(result.stdout)")
        }
        let written = try pool.scanKeys("*")
        #expect(written.isEmpty, "keys written: \(written)")
    }

    @Test("edge-case valid names are accepted", .timeLimit(.minutes(1)))
    func edgeCaseValidNamesAccepted() throws {
        let pool = try TestPool("cli")
        // Manager ids follow the lead-id rule: printable ASCII without spaces, braces included.
        let braced = try runLeadrouter(["--pool", pool.name, "manager", "add", "a}b"])
        #expect(braced.status == 0, "manager id a}b: \(braced.stderr)")

        let managerID = String(repeating: "m", count: 128)
        let added = try runLeadrouter(["--pool", pool.name, "manager", "add", managerID])
        #expect(added.status == 0, "128-character manager id: \(added.stderr)")
        let off = try runLeadrouter(["--pool", pool.name, "manager", "off", managerID])
        #expect(off.status == 0, "manager off of a 128-character id: \(off.stderr)")

        let poolName = pool.name + String(repeating: "q", count: 64 - pool.name.count)
        defer {
            if let keys = try? Self.keys(ofPool: poolName, pool.redis), !keys.isEmpty {
                _ = try? pool.redis.command(["DEL"] + keys)
            }
        }
        let longPool = try runLeadrouter(["--pool", poolName, "manager", "add", "m1"])
        #expect(longPool.status == 0, "64-character pool name: \(longPool.stderr)")
        let tooLong = try runLeadrouter(["--pool", poolName + "q", "manager", "add", "m1"])
        #expect(tooLong.status == 2, "65-character pool name: \(tooLong.stderr)")
    }
}
