import Foundation
import LeadRouting
import Testing

@Suite("Lead record retention")
struct RetentionTests {
    @Test("closed lead record expires")
    func closedLeadExpires() throws {
        let pool = try TestPool("retention")
        try pool.setConfig(#"{"closed_retention_days": 2, "groups": {"default": {"method": "round_robin"}}}"#)
        try pool.addManagers(["m1"])
        let worker = try pool.startWorkers(1)[0]
        try pool.push([#"{"id":"R1"}"#, #"{"id":"R2"}"#])
        #expect(try pool.waitUntil { try pool.lead("R1")["status"] == "assigned" && pool.lead("R2")["status"] == "assigned" })

        #expect(try pool.client.close(lead: "R1") == "closed")
        let ttl = try pool.redis.command(["TTL", pool.keys.lead("R1")]).integer ?? -3
        #expect(ttl > 2 * 86_400 - 60 && ttl <= 2 * 86_400, "TTL of a closed lead: \(ttl)")
        // An open lead is kept, because its manager's open count refers to it.
        #expect(try pool.redis.command(["TTL", pool.keys.lead("R2")]).integer == -1)
        #expect(worker.stop() == 0)
    }

    @Test("retention zero keeps closed leads")
    func retentionZeroKeeps() throws {
        let pool = try TestPool("retention-zero")
        try pool.setConfig(#"{"closed_retention_days": 0, "groups": {"default": {"method": "round_robin"}}}"#)
        try pool.addManagers(["m1"])
        let worker = try pool.startWorkers(1)[0]
        try pool.push([#"{"id":"K1"}"#])
        #expect(try pool.waitUntil { try pool.lead("K1")["status"] == "assigned" })

        #expect(try pool.client.close(lead: "K1") == "closed")
        #expect(try pool.redis.command(["TTL", pool.keys.lead("K1")]).integer == -1)
        #expect(worker.stop() == 0)
    }
}
