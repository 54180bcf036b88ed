/// Capped exponential backoff with full jitter, for reconnecting to Redis without a thundering
/// herd: each delay is a random value between `floor` and the current ceiling, and the ceiling
/// doubles per failure up to `cap`.
public struct Backoff: Sendable {
    public let floor: Double
    public let cap: Double
    public private(set) var failures = 0

    public init(floor: Double = 0.05, cap: Double = 5.0) {
        self.floor = floor
        self.cap = cap
    }

    /// Returns the next delay in seconds and counts one more failure.
    public mutating func nextDelay() -> Double {
        let exponent = min(self.failures, 16)
        let ceiling = min(self.cap, self.floor * Double(1 << exponent) * 2)
        self.failures += 1
        return Double.random(in: self.floor...max(self.floor, ceiling))
    }

    public mutating func reset() {
        self.failures = 0
    }
}
