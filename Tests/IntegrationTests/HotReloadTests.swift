import Foundation
import LeadRouting
import Testing

extension DistributionMethodTests {
    @Suite("Config hot reload")
    struct HotReloadTests {
        static let firstConfig = """
            { "routes": [ { "group": "east" } ],
              "groups": { "east": { "method": "round_robin" }, "west": { "method": "round_robin" } } }
            """
        static let secondConfig = """
            { "routes": [ { "match": { "region": ["north"] }, "group": "east" }, { "group": "west" } ],
              "groups": { "east": { "method": "round_robin" }, "west": { "method": "least_loaded", "max_open": 3 } } }
            """

        @Test("config change applies without restart")
        func configChangeApplies() throws {
            let pool = try TestPool("reload")
            try pool.setConfig(Self.firstConfig)
            try pool.addManagers(["e1", "e2"], groups: ["east"])
            try pool.addManagers(["w1", "w2"], groups: ["west"])
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let before = (1...10).map { "before-\($0)" }
            try pool.push(pool.leads("before-", 1...10))
            #expect(try pool.waitUntil { try pool.count(of: before, status: "assigned") == 10 })
            #expect(try pool.assignedCounts(of: before) == ["e1": 5, "e2": 5])

            let file = try temporaryFile(Self.secondConfig)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let stored = try pool.cli(["config", "set", file])
            #expect(stored.status == 0, "\(stored.stderr)")
            Thread.sleep(forTimeInterval: 1.0)

            let after = (1...10).map { "after-\($0)" }
            try pool.push(pool.leads("after-", 1...10))
            let north = (1...2).map { "north-\($0)" }
            try pool.push(pool.leads("north-", 1...2, fields: ["region": "north"]))
            // West now has a cap of 3 per manager: 6 leads assigned, 4 wait.
            #expect(try pool.waitUntil { try pool.drained() && pool.count(of: after, status: "waiting") == 4 })
            #expect(try pool.assignedCounts(of: after) == ["w1": 3, "w2": 3])
            // Which six are assigned depends on which worker commits first, so check them all.
            for id in after where try pool.lead(id)["status"] == "assigned" {
                #expect(try pool.lead(id)["method"] == "least_loaded", "lead \(id)")
            }
            #expect(try pool.waitUntil { try pool.count(of: north, status: "assigned") == 2 })
            #expect(try pool.assignedCounts(of: north) == ["e1": 1, "e2": 1])

            // Workers kept running through the change.
            for worker in workers {
                #expect(worker.isRunning)
                #expect(worker.log().contains("config applied"), "\(worker.log())")
            }
        }

        @Test("invalid config is rejected, nothing changes")
        func invalidConfigRejected() throws {
            let pool = try TestPool("reload-bad")
            try pool.setConfig(Self.firstConfig)
            try pool.addManagers(["e1"], groups: ["east"])
            let workers = try pool.startWorkers(2)
            defer { stopWorkers(workers) }

            let storedBefore = try pool.client.configDocument()
            let versionBefore = try pool.redis.command(["GET", pool.keys.configVersion]).integer

            let cases: [(document: String, path: String)] = [
                (#"{ "routes": [ { "group": "east" } ], "groups": { "east": { "method": "round_robin", "max_open": -1 } } }"#, "$.groups.east.max_open"),
                (#"{ "routes": [ { "group": "east" } ], "groups": { "east": { "method": "fastest" } } }"#, "$.groups.east.method"),
                (#"{ "routes": [ { "group": "nowhere" } ], "groups": { "east": { "method": "round_robin" } } }"#, "$.routes[0].group"),
                (#"{ "routes": [ { "group": "a" } ], "groups": { "a": { "method": "round_robin", "fallback": "b" }, "b": { "method": "round_robin", "fallback": "a" } } }"#, "fallback"),
                (#"{ "routes": [ { "group": "w" } ], "groups": { "w": { "method": "weighted" } } }"#, "$.groups.w.rating"),
                (#"{ "routes": [ { "group": "m" } ], "groups": { "m": { "method": "manual", "then": "round_robin" } } }"#, "$.groups.m.manual_timeout_s"),
                (#"{ "routes": [ { "group": "east" } ], "groups": { "east": { "method": "round_robin" } }"#, "at $: not valid JSON"),
            ]
            for item in cases {
                let file = try temporaryFile(item.document)
                defer { try? FileManager.default.removeItem(atPath: file) }
                let result = try pool.cli(["config", "set", file])
                #expect(result.status != 0, "accepted: \(item.document)")
                #expect(result.stderr.contains(item.path), "expected \(item.path) in: \(result.stderr)")
                #expect(try pool.client.configDocument() == storedBefore)
            }
            #expect(try pool.redis.command(["GET", pool.keys.configVersion]).integer == versionBefore)

            let configShown = try pool.cli(["config", "show"])
            #expect(configShown.status == 0)
            #expect(configShown.stdout.contains("\"east\""))

            try pool.push(pool.leads("still-", 1...3))
            let ids = (1...3).map { "still-\($0)" }
            #expect(try pool.waitUntil { try pool.count(of: ids, status: "assigned") == 3 })
            #expect(try pool.assignedCounts(of: ids) == ["e1": 3])
        }
    }
}
