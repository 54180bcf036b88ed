import Foundation
import LeadRouting
import RedisClient
import Testing

extension WorkerProcessSuites {
    /// Runs the programs of `examples/` and the producers the README shows (`redis-cli`,
    /// `leadrouter push --csv`) against real worker processes.
    @Suite("Examples")
    struct ExamplesTests {
        @Test("producer.py leads are all assigned", .timeLimit(.minutes(1)))
        func pythonProducer() throws {
            try ExampleProgram.requireRedisPy()
            let pool = try TestPool("ex-producer")
            try pool.addManagers(["m1", "m2", "m3"])
            try pool.startWorkers(2)

            // URL and pool from the environment, as the producer's help describes.
            let producer = try ExampleProgram(
                ["python3", ExampleProgram.script("producer.py"), "--count", "200", "--id-prefix", "py-"],
                environment: ["LEADROUTER_REDIS_URL": TestRedis.urlText, "LEADROUTER_POOL": pool.name]
            )
            let status = producer.wait(timeout: 30)
            #expect(status == 0, "producer.py exit status; stderr: \(producer.stderr)")
            #expect(producer.stdout.contains("pushed 200 leads to \(pool.keys.incoming)"), "producer.py output: \(producer.stdout)")

            let ids = Set((1...200).map { "py-\($0)" })
            #expect(try pool.waitForAssignments(of: ids))
            expectExactlyOnce(try pool.deliveryReport(expectedIDs: ids, pushed: 200))

            let record = try pool.lead("py-1")
            #expect(Int64(record["created_at"] ?? "") != nil, "created_at of the producer kept: \(record)")
            let payload = try ExampleProgram.jsonObject(record["payload"] ?? "")
            #expect(payload["specialization"] is String, "payload \(payload)")
            #expect(payload["source"] is String, "payload \(payload)")
        }

        @Test("redis-cli LPUSH lead is assigned", .timeLimit(.minutes(1)))
        func redisCLIProducer() throws {
            let redisCLI = try #require(
                ExampleProgram.findOnPath("redis-cli"),
                "redis-cli not found on PATH; it comes with redis-server (Debian package redis-tools), which ops/test installs"
            )
            let pool = try TestPool("ex-cli")
            try pool.addManagers(["m1", "m2"])
            try pool.startWorkers(1)

            let lead = #"{"id":"crm-10342","specialization":"Finance Management","source":"Google"}"#
            let push = try ExampleProgram([redisCLI, "-u", TestRedis.urlText, "LPUSH", pool.keys.incoming, lead])
            #expect(push.wait(timeout: 10) == 0, "redis-cli exit status; stderr: \(push.stderr)")

            #expect(try pool.waitForAssignments(of: ["crm-10342"]))
            let record = try pool.lead("crm-10342")
            #expect(record["status"] == "assigned")
            #expect(["m1", "m2"].contains(record["manager"] ?? ""), "manager \(record["manager"] ?? "none")")
            #expect(record["payload"] == lead, "payload kept exactly as pushed")
        }

        @Test("push --csv keeps quoted commas", .timeLimit(.minutes(1)))
        func csvProducer() throws {
            let pool = try TestPool("ex-csv")
            try pool.addManagers(["m1", "m2"])
            try pool.startWorkers(1)

            // Quoted commas, a doubled quote inside quotes, an empty last field and a quoted
            // line break.
            let csv = """
                Prospect ID,Lead Source,Specialization,City,Notes
                csv-1,Google,Finance Management,Mumbai,plain row
                csv-2,Reference,"Banking, Investment And Insurance",Pune,"said ""call me"" after 6"
                csv-3,Olark Chat,Select,"Thane, MH",
                csv-4,Google,Finance Management,Delhi,"line one
                line two"

                """
            let path = try temporaryFile(csv, suffix: ".csv")
            defer { try? FileManager.default.removeItem(atPath: path) }

            let push = try runLeadrouter(["--pool", pool.name, "push", "--csv", path, "--id-column", "Prospect ID"])
            #expect(push.status == 0, "push --csv exit status; stderr: \(push.stderr)")
            #expect(push.stdout.contains("pushed 4 leads"), "push --csv output: \(push.stdout)")

            let ids: Set<String> = ["csv-1", "csv-2", "csv-3", "csv-4"]
            #expect(try pool.waitForAssignments(of: ids))
            expectExactlyOnce(try pool.deliveryReport(expectedIDs: ids, pushed: 4))
            #expect(try pool.dead() == 0, "no row dead-lettered")

            let second = try ExampleProgram.jsonObject(try pool.lead("csv-2")["payload"] ?? "")
            #expect(second["Specialization"] as? String == "Banking, Investment And Insurance")
            #expect(second["Notes"] as? String == #"said "call me" after 6"#)
            #expect(second["Lead Source"] as? String == "Reference")
            let third = try ExampleProgram.jsonObject(try pool.lead("csv-3")["payload"] ?? "")
            #expect(third["City"] as? String == "Thane, MH")
            #expect(third["Notes"] as? String == "")
            let fourth = try ExampleProgram.jsonObject(try pool.lead("csv-4")["payload"] ?? "")
            #expect(fourth["Notes"] as? String == "line one\nline two")
        }

        /// Three runs of one consumer (same group and consumer name) over 120 `assigned` events:
        /// a run that stops after 50 entries, a run that crashes on reading its 5th entry, and a
        /// run that finishes the rest. The output file must hold every lead id exactly once.
        @Test("crm_consumer.py resumes without loss or repeat", .timeLimit(.minutes(2)))
        func crmConsumerResumes() throws {
            try ExampleProgram.requireRedisPy()
            let pool = try TestPool("ex-crm")
            try pool.addManagers(["m1", "m2", "m3"])
            try pool.startWorkers(2)

            let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("lr-crm-\(UUID().uuidString).txt").path
            defer { try? FileManager.default.removeItem(atPath: outputPath) }
            let consumer = [
                "python3", ExampleProgram.script("crm_consumer.py"), "--redis", TestRedis.urlText, "--pool", pool.name,
                "--group", "crm", "--consumer", "crm-1", "--count", "10", "--block-ms", "200", "--output", outputPath,
            ]
            let ids = (1...120).map { "crm-lead-\($0)" }

            // Run 1 reads while the workers are still assigning the leads, and stops after 50.
            let first = try ExampleProgram(consumer + ["--max-entries", "50"])
            for start in stride(from: 0, to: ids.count, by: 20) {
                try pool.push(ids[start..<start + 20].map { TestPool.leadJSON(id: $0) })
                Thread.sleep(forTimeInterval: 0.05)
            }
            #expect(first.wait(timeout: 30) == 0, "run 1 exit status; stderr: \(first.stderr)")
            #expect(try ExampleProgram.lines(of: outputPath).count == 50, "lead ids written by run 1")
            let printed = first.stdout.split(separator: "\n")
            #expect(printed.count == 50, "lines printed by run 1")
            #expect(printed.allSatisfy { $0.hasPrefix("assigned ") }, "run 1 output: \(printed.prefix(3))")
            #expect(printed.allSatisfy { $0.contains(" manager=m") }, "run 1 output: \(printed.prefix(3))")
            #expect(printed.allSatisfy { $0.contains(" speed_ms=") }, "run 1 output: \(printed.prefix(3))")

            #expect(try pool.waitForAssignments(of: Set(ids)))
            let entries = try ExampleProgram.streamEntries(pool)
            #expect(entries.count == 120, "one assigned event per lead")
            #expect(entries.allSatisfy { $0.fields["type"] == "assigned" })

            // Run 2 takes 10 entries in one XREADGROUP, handles 4 and exits hard on reading the
            // 5th, so entries 5 to 10 of that read stay pending, read but neither handled nor acked.
            let second = try ExampleProgram(consumer + ["--crash-after", "5"])
            #expect(second.wait(timeout: 30) == 3, "run 2 exit status (--crash-after exits with 3); stderr: \(second.stderr)")
            #expect(second.stderr.contains("--crash-after 5"), "run 2 stderr: \(second.stderr)")
            #expect(try ExampleProgram.lines(of: outputPath).count == 54, "lead ids written by runs 1 and 2")
            let pendingEntryIDs = try ExampleProgram.pendingEntryIDs(pool, group: "crm")
            #expect(pendingEntryIDs.count == 6, "entries pending after the crash")
            let leadByEntry = Dictionary(uniqueKeysWithValues: entries.map { ($0.id, $0.fields["lead"] ?? "") })
            let pendingLeads = pendingEntryIDs.map { leadByEntry[$0] ?? "?" }

            // Run 3 reads the pending entries first, then the 60 entries no consumer has read yet.
            let third = try ExampleProgram(consumer + ["--max-entries", "66"])
            #expect(third.wait(timeout: 30) == 0, "run 3 exit status; stderr: \(third.stderr)")

            let handled = try ExampleProgram.lines(of: outputPath)
            #expect(handled.count == 120, "lead ids written by all runs")
            #expect(Set(handled) == Set(ids), "missing: \(Set(ids).subtracting(handled).sorted().prefix(10))")
            var seen: [String: Int] = [:]
            for id in handled {
                seen[id, default: 0] += 1
            }
            #expect(seen.filter { $0.value > 1 }.isEmpty, "lead ids written twice: \(seen.filter { $0.value > 1 }.keys.sorted())")
            if handled.count >= 60 {
                #expect(Array(handled[54..<60]) == pendingLeads, "run 3 handles the pending entries first")
            }
            #expect(handled == entries.map { $0.fields["lead"] ?? "" }, "handled in stream order")

            let group = try ExampleProgram.groupInfo(pool, group: "crm")
            #expect(group["pending"] == "0", "nothing left unacknowledged: \(group)")
            #expect(group["last-delivered-id"] == entries.last?.id, "every entry delivered: \(group)")
        }
    }
}

/// A program run by the examples tests, with standard output and error in temporary files
/// (pipes could fill up and block the program). It is killed when the value is released.
final class ExampleProgram {
    let process = Process()
    private let stdoutURL: URL
    private let stderrURL: URL

    /// Starts `arguments[0]` (looked up on PATH by `/usr/bin/env`) with the other arguments.
    /// The test server's variables replace any `LEADROUTER_*` variables of the test run.
    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        let token = UUID().uuidString
        self.stdoutURL = FileManager.default.temporaryDirectory.appendingPathComponent("lr-example-\(token).out")
        self.stderrURL = FileManager.default.temporaryDirectory.appendingPathComponent("lr-example-\(token).err")
        FileManager.default.createFile(atPath: self.stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: self.stderrURL.path, contents: nil)

        var env = ProcessInfo.processInfo.environment
        for name in ["LEADROUTER_REDIS_URL", "LEADROUTER_POOL", "LEADROUTER_REDIS_PASSWORD"] {
            env.removeValue(forKey: name)
        }
        env.merge(environment) { _, new in new }

        self.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        self.process.arguments = arguments
        self.process.environment = env
        self.process.standardOutput = try FileHandle(forWritingTo: self.stdoutURL)
        self.process.standardError = try FileHandle(forWritingTo: self.stderrURL)
        self.process.standardInput = FileHandle.nullDevice
        try self.process.run()
    }

    deinit {
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
            self.process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: self.stdoutURL)
        try? FileManager.default.removeItem(at: self.stderrURL)
    }

    /// Waits up to `timeout` seconds for the program to exit and returns its exit status, or nil
    /// when it was still running and had to be killed.
    func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while self.process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
            self.process.waitUntilExit()
            return nil
        }
        return self.process.terminationStatus
    }

    var stdout: String {
        (try? String(contentsOf: self.stdoutURL, encoding: .utf8)) ?? ""
    }

    var stderr: String {
        (try? String(contentsOf: self.stderrURL, encoding: .utf8)) ?? ""
    }

    /// Path of a file in `examples/` of this repository.
    static func script(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples").appendingPathComponent(name).path
    }

    /// Fails the test unless `python3 -c "import redis"` succeeds.
    static func requireRedisPy() throws {
        let check = try ExampleProgram(["python3", "-c", "import redis"])
        let status = check.wait(timeout: 30)
        try #require(
            status == 0,
            "redis-py is missing for python3 on PATH (import redis: \(check.stderr.split(separator: "\n").last ?? "")); install it with `python3 -m pip install redis`, as ops/test does"
        )
    }

    /// Full path of the executable `name` in a directory of PATH, or nil.
    static func findOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }

    static func jsonObject(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    /// Non-empty lines of a file, or none when the file does not exist.
    static func lines(of path: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// Returns every entry of the pool's events stream, oldest first, with its entry id.
    static func streamEntries(_ pool: TestPool) throws -> [(id: String, fields: [String: String])] {
        let reply = try pool.redis.command(["XRANGE", pool.keys.events, "-", "+"])
        return (reply.elements ?? []).compactMap { entry in
            guard let parts = entry.elements, parts.count == 2, let id = parts[0].text else { return nil }
            return (id, parts[1].fieldMap.compactMapValues(\.text))
        }
    }

    /// Returns the entry ids in the pending entries list of a consumer group of the events
    /// stream, oldest first.
    static func pendingEntryIDs(_ pool: TestPool, group: String) throws -> [String] {
        let reply = try pool.redis.command(["XPENDING", pool.keys.events, group, "-", "+", "1000"])
        return (reply.elements ?? []).compactMap { $0.elements?.first?.text }
    }

    /// Returns the XINFO GROUPS fields of one consumer group of the events stream, as text.
    static func groupInfo(_ pool: TestPool, group: String) throws -> [String: String] {
        let reply = try pool.redis.command(["XINFO", "GROUPS", pool.keys.events])
        for element in reply.elements ?? [] {
            let fields = element.fieldMap.compactMapValues(\.text)
            if fields["name"] == group {
                return fields
            }
        }
        return [:]
    }
}
