import Foundation
import LeadRouting
import RedisClient
import Testing

extension WorkerProcessSuites {
    /// Runs a scenario that makes a pool use every kind of key, then checks each key's name and
    /// Redis type against the tables of `ops/KEYS.md`.
    @Suite("Key documentation")
    struct KeyDocumentationTests {
        /// A round robin group with a load cap (the default route), a manual group, a claim group
        /// and a weighted group. The long timeouts keep the manual and open leads where they are.
        static let config = """
            {
              "routes": [
                { "match": { "source": ["Manual"] }, "group": "vip" },
                { "match": { "source": ["Claim"] }, "group": "inbound" },
                { "match": { "source": ["Weighted"] }, "group": "general" },
                { "group": "finance" }
              ],
              "groups": {
                "finance": { "method": "round_robin", "max_open": 2, "max_empty_fields": 0.30 },
                "vip":     { "method": "manual", "manual_timeout_s": 600, "then": "round_robin" },
                "inbound": { "method": "claim", "claim_timeout_s": 600, "max_claimed": 3, "then": "least_loaded" },
                "general": { "method": "weighted", "rating": { "won_value": 1 }, "min_share": 0.05 }
              }
            }
            """

        /// Documented names of the keys this scenario must produce, so that the test cannot pass
        /// by finding too few keys.
        static let scenarioKeys: Set<String> = [
            "incoming", "processing:W", "dead", "waiting", "manual", "open", "timers",
            "lead:ID", "events", "deliveries:SHA1", "stats",
            "managers", "manager_seq", "manager:ID", "group:G", "turn", "swrr:G", "daily:YYYY-MM-DD",
            "config", "config_version", "wake", "workers", "worker:W",
        ]

        @Test("every pool key is in ops/KEYS.md", .timeLimit(.minutes(2)))
        func everyKeyDocumented() throws {
            let documented = try DocumentedKeys.load()
            try #require(!documented.isEmpty, "no key rows found in \(DocumentedKeys.path)")

            let pool = try TestPool("keys")
            var observed = ObservedKeys()
            try pool.setConfig(Self.config)
            try pool.addManagers(["f1", "f2"], groups: ["finance"])
            try pool.addManagers(["v1"], groups: ["vip"])
            try pool.addManagers(["c1", "c2"], groups: ["inbound"])
            try pool.addManagers(["g1", "g2", "g3"], groups: ["general"])
            try Self.expectSuccess(pool.cli(["manager", "set", "g1", "--metric", "won_value=300"]))
            try Self.expectSuccess(pool.cli(["manager", "set", "g2", "--metric", "won_value=100", "--empty-fields", "0.1"]))
            let workers = try pool.startWorkers(3)

            // Round robin with a cap: f1 and f2 take two leads each. Closing F1 frees one place,
            // so one of F5 and F6 takes it and the other waits. Which one depends on which of
            // the workers taking them commits first.
            try pool.push(pool.leads("F", 1...4))
            #expect(try pool.waitForAssignments(of: ["F1", "F2", "F3", "F4"]))
            try Self.expectSuccess(pool.cli(["close", "F1"]))
            try pool.push(pool.leads("F", 5...6))
            var lastStatuses: [String] = []
            let oneWaits = try pool.waitUntil {
                lastStatuses = try ["F5", "F6"].map { try pool.lead($0)["status"] ?? "" }
                return lastStatuses.sorted() == ["assigned", "waiting"]
            }
            #expect(oneWaits, "statuses of F5 and F6: \(lastStatuses)")
            #expect(try pool.lead("F1")["status"] == "closed")

            // A manual lead, an open lead and a claimed one.
            try pool.push([TestPool.leadJSON(id: "M1", fields: ["source": "Manual"])])
            try pool.push(pool.leads("C", 1...2, fields: ["source": "Claim"]))
            #expect(try pool.waitUntil { try pool.lead("M1")["status"] == "manual" }, "M1: \((try? pool.lead("M1")) ?? [:])")
            #expect(try pool.waitUntil { try pool.lead("C2")["status"] == "open" }, "C2: \((try? pool.lead("C2")) ?? [:])")
            try Self.expectSuccess(pool.cli(["claim", "c1", "C2"]))
            #expect(try pool.lead("C1")["status"] == "open")
            #expect(try pool.lead("C2")["claimed"] == "1")

            // Invalid input goes to the dead-letter list. A lead without an id gets one.
            try pool.pushRaw([Array("not json".utf8), Array("[1,2]".utf8), Array(#"{"id":"has space"}"#.utf8)])
            try pool.push([#"{"source":"Weighted","note":"no id"}"#])
            #expect(try pool.waitUntil { try pool.dead() == 3 }, "dead-letter entries")

            // Weighted leads, pushed until worker 0 is caught holding some in flight.
            var weightedIDs = Set<String>()
            func pushWeighted(_ count: Int) throws {
                let first = weightedIDs.count + 1
                let leads = pool.leads("W", first...(first + count - 1), fields: ["source": "Weighted"])
                try pool.push(leads)
                weightedIDs.formUnion((first...(first + count - 1)).map { "W\($0)" })
            }
            try pushWeighted(20)
            #expect(try pool.waitForAssignments(of: weightedIDs))

            let victim = workers[0]
            let victimID = try #require(try pool.workerID(of: victim))
            let inFlightAtPause = try pool.pauseHoldingLeads(victim, id: victimID, others: Array(workers.dropFirst())) {
                if try pool.incomingLength() < 100, weightedIDs.count < 5_000 {
                    try pushWeighted(200)
                }
            }
            try #require(inFlightAtPause > 0, "worker 0 was caught holding leads in flight")
            try observed.scan(pool, when: "a worker holds leads")

            // kill -9: after its heartbeat expires, another worker gives its leads back.
            victim.signal(SIGKILL)
            victim.kill()
            #expect(try pool.waitForAssignments(of: weightedIDs, timeout: 30), "leads of the killed worker recovered")
            #expect(!(try pool.scanKeys("deliveries:*").isEmpty), "recovery counted its redeliveries")
            try observed.scan(pool, when: "after recovery")

            // With every worker stopped, a pushed lead stays in the incoming list.
            stopWorkers(Array(workers.dropFirst()))
            try pool.push([TestPool.leadJSON(id: "late")])
            try observed.scan(pool, when: "workers stopped")

            let undocumented = observed.names.subtracting(documented.keys).sorted()
            #expect(undocumented.isEmpty, "keys missing from ops/KEYS.md: \(undocumented.map { "\($0) (e.g. \(observed.examples[$0] ?? ""))" })")

            var mismatches: [String] = []
            for (name, types) in observed.types.sorted(by: { $0.key < $1.key }) {
                guard let documentedType = documented[name] else { continue }
                let expected = DocumentedKeys.redisType(of: documentedType)
                if types != [expected] {
                    mismatches.append("\(name): Redis TYPE \(types.sorted()), documented \(documentedType) (\(expected))")
                }
            }
            #expect(mismatches.isEmpty, "key types differ from ops/KEYS.md: \(mismatches)")

            // KEYS.md gives these keys an expiry: a heartbeat, a daily count and a redelivery counter.
            let expiring: Set<String> = ["worker:W", "daily:YYYY-MM-DD", "deliveries:SHA1"]
            let persistent = observed.withoutExpiry.intersection(expiring).sorted()
            #expect(persistent.isEmpty, "keys without a TTL that KEYS.md says expire: \(persistent)")

            let notProduced = Self.scenarioKeys.subtracting(observed.names).sorted()
            #expect(notProduced.isEmpty, "keys the scenario should have produced: \(notProduced)")
            let documentedNotSeen = Set(documented.keys).subtracting(observed.names).sorted()
            if !documentedNotSeen.isEmpty {
                print("documented keys this scenario does not produce: \(documentedNotSeen)")
            }
        }

        static func expectSuccess(_ result: LeadrouterBinary.Result, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(result.status == 0, "leadrouter exit status; stderr: \(result.stderr)", sourceLocation: sourceLocation)
        }
    }
}

/// The key tables of `ops/KEYS.md`: documented key name (after `lr:{P}:`) to documented type.
enum DocumentedKeys {
    static var path: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("ops/KEYS.md").path
    }

    /// Reads every table row whose first cell is a key in backticks, such as
    /// "| `lead:ID` | hash | worker, CLI | ... |".
    static func load() throws -> [String: String] {
        let text = try String(contentsOfFile: self.path, encoding: .utf8)
        var keys: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 3 else { continue }
            let name = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            keys[name] = cells[2]
        }
        return keys
    }

    /// Returns the reply of Redis TYPE for a type as KEYS.md writes it ("sorted set",
    /// "string (counter)").
    static func redisType(of documented: String) -> String {
        switch documented {
        case "sorted set": return "zset"
        case let type where type.hasPrefix("string"): return "string"
        default: return documented
        }
    }

    /// Returns the documented form of a key name after the pool prefix: ids, group names,
    /// worker ids, dates and hashes become the placeholders KEYS.md uses. A suffix without the
    /// documented form (a date that is not YYYY-MM-DD) is kept, so the key shows as undocumented.
    static func documentedName(of name: String) -> String {
        guard let colon = name.firstIndex(of: ":") else { return name }
        let family = String(name[..<colon])
        let suffix = String(name[name.index(after: colon)...])
        switch family {
        case "lead", "manager":
            return family + ":ID"
        case "group", "swrr":
            return family + ":G"
        case "processing", "worker":
            return family + ":W"
        case "daily":
            return suffix.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}/) != nil ? "daily:YYYY-MM-DD" : name
        case "deliveries":
            return suffix.wholeMatch(of: /[0-9a-f]{40}/) != nil ? "deliveries:SHA1" : name
        default:
            return name
        }
    }
}

/// Keys of a pool seen over several SCANs, by documented name.
struct ObservedKeys {
    /// Documented name to the Redis types its keys had.
    var types: [String: Set<String>] = [:]
    /// Documented name to one full key name with that form, for messages.
    var examples: [String: String] = [:]
    /// Documented names of which at least one key had no TTL.
    var withoutExpiry: Set<String> = []

    var names: Set<String> { Set(self.types.keys) }

    /// SCANs every key of the pool and records its documented name and TYPE.
    mutating func scan(_ pool: TestPool, when moment: String) throws {
        let keys = try pool.scanKeys("*")
        let replies = try pool.redis.pipeline(keys.map { ["TYPE", $0].map { Array($0.utf8) } })
        let ttls = try pool.redis.pipeline(keys.map { ["PTTL", $0].map { Array($0.utf8) } })
        var names = Set<String>()
        for (key, (reply, ttl)) in zip(keys, zip(replies, ttls)) {
            let name = DocumentedKeys.documentedName(of: String(key.dropFirst(pool.keys.prefix.count)))
            // A key that expired or was deleted between SCAN and TYPE has type "none".
            guard let type = reply.text, type != "none" else { continue }
            names.insert(name)
            self.types[name, default: []].insert(type)
            self.examples[name] = self.examples[name] ?? key
            // PTTL is -1 for a key without expiry (and -2 for one already gone).
            if ttl.integer == -1 {
                self.withoutExpiry.insert(name)
            }
        }
        print("key scan (\(moment)): \(keys.count) keys of \(names.count) kinds: \(names.sorted().joined(separator: " "))")
    }
}
