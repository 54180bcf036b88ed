import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("Metrics endpoint", .serialized)
struct MetricsTests {
    /// Fetches a URL on loopback; returns the status code and body.
    static func fetch(_ url: String) -> (Int, String)? {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, String)?
        let task = URLSession.shared.dataTask(with: URL(string: url)!) { data, response, _ in
            if let response = response as? HTTPURLResponse {
                result = (response.statusCode, String(decoding: data ?? Data(), as: UTF8.self))
            }
            done.signal()
        }
        task.resume()
        _ = done.wait(timeout: .now() + 5)
        return result
    }

    /// Parses Prometheus text into sample name with labels → value.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    @Test("metrics count assignments and dead letters")
    func metricsCountLeads() throws {
        let pool = try TestPool("metrics")
        try pool.addManagers(["m1", "m2"])
        let port = Int.random(in: 20_000...60_000)
        let worker = try pool.startWorkers(1, extraArguments: ["--metrics", "127.0.0.1:\(port)"])[0]
        try pool.push((1...10).map { "{\"id\":\"M\($0)\"}" } + ["not json", "[1,2]"])

        #expect(try pool.waitUntil { try pool.assignmentsByManager().values.reduce(0, +) == 10 })
        #expect(try pool.waitUntil { try pool.drained() })

        let metrics = try #require(Self.fetch("http://127.0.0.1:\(port)/metrics"), "worker log: \(worker.log())")
        #expect(metrics.0 == 200)
        let samples = Self.samples(metrics.1)
        let label = "pool=\"\(pool.name)\""
        #expect(samples["leadrouter_leads_assigned_total{\(label),group=\"default\",method=\"round_robin\",manager=\"m1\"}"] == 5)
        #expect(samples["leadrouter_leads_assigned_total{\(label),group=\"default\",method=\"round_robin\",manager=\"m2\"}"] == 5)
        #expect(samples["leadrouter_leads_dead_lettered_total{\(label),reason=\"invalid_json\"}"] == 1)
        #expect(samples["leadrouter_leads_dead_lettered_total{\(label),reason=\"not_an_object\"}"] == 1)
        #expect(samples["leadrouter_speed_to_lead_seconds_count{\(label)}"] == 10)
        #expect(samples["leadrouter_leads_waiting{\(label)}"] == 0)

        let health = Self.fetch("http://127.0.0.1:\(port)/healthz")
        #expect(health?.0 == 200)
        #expect(health?.1 == "ok\n")
        #expect(Self.fetch("http://127.0.0.1:\(port)/nothing")?.0 == 404)
        #expect(worker.stop() == 0)
    }

    @Test("metrics address must be host and port")
    func metricsAddressValidated() throws {
        let result = try LeadrouterBinary.run(["worker", "--metrics", "9464x"], pool: "t-metrics-bad")
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("leadrouter: error: invalid --metrics"))
    }
}
