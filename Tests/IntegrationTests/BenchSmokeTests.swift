import Foundation
import Testing

extension WorkerProcessSuites {
    /// A short `bench` run: it must work end to end and print sane figures. Timings are never
    /// asserted here; they belong in docs/BENCHMARKS.md.
    @Suite("Bench smoke")
    struct BenchSmokeTests {
        @Test("bench prints sane json figures")
        func benchPrintsFigures() throws {
            let before = try TestRedis.connect().command(["KEYS", "lr:{bench-*"]).elements?.count ?? 0
            let result = try LeadrouterBinary.run(["bench", "--leads", "300", "--rate", "200", "--seconds", "0.5", "--managers", "4", "--json"])
            #expect(result.status == 0, "\(result.stderr)")

            let data = Data(result.stdout.utf8)
            let figures = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(result.stdout)")
            for key in ["throughput_leads_per_s", "floor_leads_per_s", "ratio", "p50_ms", "p99_ms", "max_ms", "worker_rss_mb", "round_trips_per_lead"] {
                #expect(figures[key] is NSNumber, "missing \(key)")
            }
            let number = { (key: String) in (figures[key] as? NSNumber)?.doubleValue ?? -1 }
            #expect(number("throughput_leads_per_s") > 0)
            #expect(number("floor_leads_per_s") > 0)
            #expect(number("ratio") > 0)
            #expect(number("p50_ms") <= number("p99_ms"))
            #expect(number("p99_ms") <= number("max_ms"))
            #expect(number("worker_rss_mb") > 0)
            #expect(number("round_trips_per_lead") > 0)

            // The private bench pool is removed afterwards.
            let after = try TestRedis.connect().command(["KEYS", "lr:{bench-*"]).elements?.count ?? 0
            #expect(after == before)
        }
    }
}
