import Foundation
import LeadRouting
import Testing

@Suite("Smoke", .serialized)
struct SmokeTests {
    @Test("one worker assigns pushed leads by round robin")
    func oneWorkerAssigns() throws {
        let pool = try TestPool("smoke")
        try pool.addManagers(["a", "b", "c"])
        try pool.push((1...30).map { "{\"id\":\"L\($0)\"}" })
        try pool.startWorkers(1)

        #expect(try pool.waitUntil { try pool.drained() && pool.assignmentsByManager().values.reduce(0, +) == 30 })
        #expect(try pool.assignmentsByManager() == ["a": 10, "b": 10, "c": 10])
    }
}
