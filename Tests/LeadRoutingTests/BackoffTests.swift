import RedisClient
import Testing

@Suite("Backoff")
struct BackoffTests {
    @Test("first delay within twice floor")
    func firstDelay() {
        var backoff = Backoff(floor: 0.05, cap: 5)
        let delay = backoff.nextDelay()
        #expect(delay >= 0.05)
        #expect(delay <= 0.1)
        #expect(backoff.failures == 1)
    }

    @Test("delays never exceed cap")
    func capped() {
        var backoff = Backoff(floor: 0.05, cap: 2)
        for _ in 0..<100 {
            let delay = backoff.nextDelay()
            #expect(delay >= 0.05)
            #expect(delay <= 2)
        }
        #expect(backoff.failures == 100)
    }

    @Test("ceiling doubles per failure")
    func ceilingGrows() {
        // After 4 failures the ceiling is 0.05 * 2^4 * 2 = 1.6 s. Over 200 draws, some exceed 0.8 s.
        var largest = 0.0
        for _ in 0..<200 {
            var backoff = Backoff(floor: 0.05, cap: 5)
            for _ in 0..<4 {
                _ = backoff.nextDelay()
            }
            let delay = backoff.nextDelay()
            #expect(delay <= 1.6)
            largest = max(largest, delay)
        }
        #expect(largest > 0.8)
    }

    @Test("reset starts over")
    func reset() {
        var backoff = Backoff(floor: 0.05, cap: 5)
        for _ in 0..<10 {
            _ = backoff.nextDelay()
        }
        backoff.reset()
        #expect(backoff.failures == 0)
        #expect(backoff.nextDelay() <= 0.1)
    }
}
