import Foundation
import LeadRouting
import Testing

extension WorkerProcessSuites {
    @Suite("Dead letters")
    struct DeadLetterTests {
        /// One kind of invalid input and a fragment its dead-letter reason must contain.
        struct InvalidLead {
            let kind: String
            let raw: [UInt8]
            let reason: String
            /// The id the dead-letter entry names, when the input has a readable valid id.
            var leadID: String? = nil
        }

        /// A phone number that appears only inside lead payloads. No log line may contain it.
        static let secret = "+1-555-0199-77"

        static func invalidLeads() -> [InvalidLead] {
            let longID = String(repeating: "x", count: 129)
            let deep = "{\"id\":\"deep-1\",\"x\":" + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}"
            var tooLarge = Array("{\"id\":\"big-1\",\"pad\":\"".utf8)
            tooLarge += [UInt8](repeating: UInt8(ascii: "x"), count: 65_537 - tooLarge.count - 2)
            tooLarge += Array("\"}".utf8)
            return [
                InvalidLead(kind: "truncated JSON", raw: Array("{\"id\":\"nj-1\",\"phone\":\"\(Self.secret)\",".utf8), reason: "not valid JSON"),
                InvalidLead(kind: "plain text", raw: Array("call me back \(Self.secret)".utf8), reason: "not valid JSON"),
                InvalidLead(kind: "empty string", raw: [], reason: "empty"),
                InvalidLead(kind: "array", raw: Array("[1,2,3]".utf8), reason: "not a JSON object"),
                InvalidLead(kind: "string", raw: Array("\"lead\"".utf8), reason: "not a JSON object"),
                InvalidLead(kind: "number", raw: Array("42".utf8), reason: "not a JSON object"),
                InvalidLead(kind: "null", raw: Array("null".utf8), reason: "not a JSON object"),
                InvalidLead(kind: "id with a space", raw: Array("{\"id\":\"has space\",\"phone\":\"\(Self.secret)\"}".utf8), reason: "field id"),
                InvalidLead(kind: "id is a number", raw: Array("{\"id\":12345}".utf8), reason: "field id is a number"),
                InvalidLead(kind: "empty id", raw: Array("{\"id\":\"\"}".utf8), reason: "field id"),
                InvalidLead(kind: "129-character id", raw: Array("{\"id\":\"\(longID)\"}".utf8), reason: "field id"),
                InvalidLead(kind: "non-ASCII id", raw: Array("{\"id\":\"лид-1\"}".utf8), reason: "field id"),
                InvalidLead(kind: "too large", raw: tooLarge, reason: "too large: 65537 bytes"),
                InvalidLead(kind: "invalid UTF-8", raw: Array("{\"id\":\"utf-1\",\"name\":\"".utf8) + [0xFF, 0xFE] + Array("\"}".utf8), reason: "not valid UTF-8"),
                InvalidLead(kind: "encoded surrogate", raw: Array("{\"id\":\"utf-2\",\"name\":\"".utf8) + [0xED, 0xA0, 0x80] + Array("\"}".utf8), reason: "not valid UTF-8"),
                InvalidLead(kind: "created_at is a boolean", raw: Array("{\"id\":\"ca-1\",\"created_at\":true}".utf8), reason: "field created_at is a boolean", leadID: "ca-1"),
                InvalidLead(kind: "created_at in seconds", raw: Array("{\"id\":\"ca-2\",\"created_at\":1700000000}".utf8), reason: "before the year 2000", leadID: "ca-2"),
                InvalidLead(kind: "nested 40 levels", raw: Array(deep.utf8), reason: "nested deeper"),
            ]
        }

        /// Returns the raw input of a dead-letter entry: `raw` text, or `raw_base64` for non-UTF-8 input.
        static func rawBytes(of entry: [String: Any]) -> [UInt8]? {
            if let text = entry["raw"] as? String {
                return Array(text.utf8)
            }
            if let encoded = entry["raw_base64"] as? String, let data = Data(base64Encoded: encoded) {
                return Array(data)
            }
            return nil
        }

        @Test("invalid input goes to dead letters", .timeLimit(.minutes(1)))
        func invalidInputGoesToDeadLetters() throws {
            let pool = try TestPool("dead")
            try pool.addManagers(["a", "b"])
            let workers = try pool.startWorkers(2)

            // Every invalid lead sits between two valid ones. One valid lead is exactly at the
            // default size limit of 65536 bytes.
            let invalid = Self.invalidLeads()
            var validIDs: [String] = []
            func valid() -> [UInt8] {
                let id = "ok-\(validIDs.count + 1)"
                validIDs.append(id)
                return Array("{\"id\":\"\(id)\",\"phone\":\"\(Self.secret)\"}".utf8)
            }
            var maxSize = Array("{\"id\":\"max-size\",\"pad\":\"".utf8)
            maxSize += [UInt8](repeating: UInt8(ascii: "y"), count: 65_536 - maxSize.count - 2)
            maxSize += Array("\"}".utf8)
            #expect(maxSize.count == 65_536)

            var pushes: [[UInt8]] = [valid()]
            for lead in invalid {
                pushes.append(lead.raw)
                pushes.append(valid())
            }
            pushes.append(maxSize)
            validIDs.append("max-size")
            try pool.pushRaw(pushes)

            #expect(try pool.waitUntil {
                try pool.nothingPending() && pool.redis.command(["LLEN", pool.keys.dead]).integer == Int64(invalid.count)
            })
            for worker in workers {
                #expect(worker.isRunning, "worker \(worker.pid) still running after invalid input")
            }

            // The workers go on with later leads.
            let later = (1...50).map { "later-\($0)" }
            try pool.push(later.map { "{\"id\":\"\($0)\"}" })
            let expected = Set(validIDs + later)
            #expect(try pool.waitForAssignments(of: expected))

            let entries = try pool.deadLetters()
            #expect(entries.count == invalid.count)
            for lead in invalid {
                let matches = entries.filter { Self.rawBytes(of: $0) == lead.raw }
                #expect(matches.count == 1, "dead-letter entries holding the \(lead.kind) input")
                guard let entry = matches.first else { continue }
                let reason = entry["reason"] as? String ?? ""
                #expect(reason.contains(lead.reason), "reason for \(lead.kind): \(reason)")
                #expect(!(entry["worker"] as? String ?? "").isEmpty, "worker named in the \(lead.kind) entry")
                #expect(entry["at"] != nil, "time in the \(lead.kind) entry")
                if let id = lead.leadID {
                    #expect(entry["lead_id"] as? String == id, "lead id in the \(lead.kind) entry")
                }
            }
            let nonUTF8 = entries.filter { $0["raw_base64"] != nil }
            #expect(nonUTF8.count == 2, "entries keeping non-UTF-8 input as base64")

            let deadEvents = try pool.events().filter { $0["type"] == "dead" }
            #expect(deadEvents.count == invalid.count)
            let status = try LeadrouterBinary.run(["status", "--json"], pool: pool.name)
            #expect(status.status == 0, "status --json: \(status.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            #expect(object?["dead"] as? Int == invalid.count)

            for worker in workers {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
                let log = worker.log()
                #expect(!log.contains(Self.secret), "worker log contains a payload value")
            }
            let logs = workers.map { $0.log() }.joined()
            let deadLines = logs.split(separator: "\n").filter { $0.contains("invalid lead moved to the dead-letter list") }
            #expect(deadLines.count == invalid.count, "log lines for dead-lettered leads")

            let report = try pool.deliveryReport(expectedIDs: expected, pushed: pushes.count + later.count)
            print("dead letters: \(invalid.count) invalid, \(report)")
            expectExactlyOnce(report)
        }
    }
}
