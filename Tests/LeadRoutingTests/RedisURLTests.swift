import RedisClient
import Testing

/// Parses `text` and returns the error it raises, or nil when it parses.
private func parseError(_ text: String) -> RedisError? {
    do {
        _ = try RedisURL(parsing: text)
        return nil
    } catch let error as RedisError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

@Suite("RedisURL")
struct RedisURLTests {
    // MARK: - redis://

    @Test("host and port")
    func hostAndPort() throws {
        let url = try RedisURL(parsing: "redis://redis.internal:6380")
        #expect(url.endpoint == .tcp(host: "redis.internal", port: 6380))
        #expect(url.database == 0)
        #expect(url.user == nil)
        #expect(url.password == nil)
    }

    @Test("default port 6379")
    func defaultPort() throws {
        let url = try RedisURL(parsing: "redis://127.0.0.1")
        #expect(url.endpoint == .tcp(host: "127.0.0.1", port: 6379))
    }

    @Test("default URL parses")
    func defaultURL() throws {
        let url = try RedisURL(parsing: RedisURL.defaultURL)
        #expect(url.endpoint == .tcp(host: "127.0.0.1", port: 6379))
        #expect(url.database == 0)
    }

    @Test("scheme is case-insensitive")
    func schemeCase() throws {
        let url = try RedisURL(parsing: "REDIS://127.0.0.1:6380")
        #expect(url.endpoint == .tcp(host: "127.0.0.1", port: 6380))
    }

    @Test("database from path")
    func databaseFromPath() throws {
        let url = try RedisURL(parsing: "redis://127.0.0.1:6379/3")
        #expect(url.database == 3)
    }

    @Test("trailing slash means database 0")
    func trailingSlash() throws {
        let url = try RedisURL(parsing: "redis://127.0.0.1:6379/")
        #expect(url.database == 0)
    }

    @Test("user and password")
    func userAndPassword() throws {
        let url = try RedisURL(parsing: "redis://worker:s3cret@127.0.0.1:6379/2")
        #expect(url.user == "worker")
        #expect(url.password == "s3cret")
        #expect(url.database == 2)
        #expect(url.endpoint == .tcp(host: "127.0.0.1", port: 6379))
    }

    @Test("password without user")
    func passwordWithoutUser() throws {
        let url = try RedisURL(parsing: "redis://:s3cret@127.0.0.1:6379")
        #expect(url.user == nil)
        #expect(url.password == "s3cret")
    }

    @Test("percent-encoded password decoded")
    func percentEncodedPassword() throws {
        let url = try RedisURL(parsing: "redis://worker:p%40ss%3Aw%2Frd@127.0.0.1:6379")
        #expect(url.password == "p@ss:w/rd")
    }

    // MARK: - Password from the environment

    @Test("environment password used when URL has none")
    func environmentPasswordUsed() throws {
        let url = try RedisURL(parsing: "redis://127.0.0.1:6379", passwordFromEnvironment: "from-env")
        #expect(url.password == "from-env")
    }

    @Test("environment password with URL user")
    func environmentPasswordWithUser() throws {
        let url = try RedisURL(parsing: "redis://worker@127.0.0.1:6379", passwordFromEnvironment: "from-env")
        #expect(url.user == "worker")
        #expect(url.password == "from-env")
    }

    @Test("URL password wins over environment")
    func urlPasswordWins() throws {
        let url = try RedisURL(parsing: "redis://worker:from-url@127.0.0.1:6379", passwordFromEnvironment: "from-env")
        #expect(url.password == "from-url")
    }

    @Test("empty environment password ignored")
    func emptyEnvironmentPassword() throws {
        let url = try RedisURL(parsing: "redis://127.0.0.1:6379", passwordFromEnvironment: "")
        #expect(url.password == nil)
    }

    // MARK: - unix://

    @Test("unix socket path")
    func unixSocket() throws {
        let url = try RedisURL(parsing: "unix:///run/redis/redis.sock")
        #expect(url.endpoint == .unix(path: "/run/redis/redis.sock"))
        #expect(url.database == 0)
        #expect(url.endpointDescription == "/run/redis/redis.sock")
    }

    @Test("unix socket with db query")
    func unixSocketDatabase() throws {
        let url = try RedisURL(parsing: "unix:///run/redis/redis.sock?db=4")
        #expect(url.endpoint == .unix(path: "/run/redis/redis.sock"))
        #expect(url.database == 4)
    }

    @Test("unix socket with environment password")
    func unixSocketPassword() throws {
        let url = try RedisURL(parsing: "unix:///run/redis/redis.sock", passwordFromEnvironment: "from-env")
        #expect(url.password == "from-env")
    }

    @Test("unix URL without path rejected")
    func unixWithoutPath() {
        let error = parseError("unix://")
        #expect(error?.kind == .invalidURL)
        #expect(error?.message.contains("socket path") == true)
    }

    @Test("unix db not a number rejected")
    func unixBadDatabase() {
        let error = parseError("unix:///run/redis/redis.sock?db=two")
        #expect(error?.kind == .invalidURL)
        #expect(error?.message.contains("database 'two'") == true)
    }

    // MARK: - IPv6

    @Test("IPv6 loopback with port")
    func ipv6WithPort() throws {
        let url = try RedisURL(parsing: "redis://[::1]:6380/1")
        #expect(url.endpoint == .tcp(host: "::1", port: 6380))
        #expect(url.database == 1)
        #expect(url.endpointDescription == "[::1]:6380")
        #expect(url.description == "redis://[::1]:6380/1")
    }

    @Test("IPv6 loopback default port")
    func ipv6DefaultPort() throws {
        let url = try RedisURL(parsing: "redis://[::1]")
        #expect(url.endpoint == .tcp(host: "::1", port: 6379))
    }

    // MARK: - Invalid URLs

    @Test("unsupported scheme rejected")
    func badScheme() {
        let http = parseError("http://127.0.0.1:6379")
        #expect(http?.kind == .invalidURL)
        #expect(http?.message.contains("scheme 'http' is not supported") == true)

        let tls = parseError("rediss://127.0.0.1:6379")
        #expect(tls?.kind == .invalidURL)
        #expect(tls?.message.contains("scheme 'rediss'") == true)
    }

    @Test("missing scheme rejected")
    func missingScheme() {
        #expect(parseError("127.0.0.1:6379")?.kind == .invalidURL)
        #expect(parseError("")?.kind == .invalidURL)
    }

    @Test("missing host rejected")
    func missingHost() {
        let error = parseError("redis:///0")
        #expect(error?.kind == .invalidURL)
        #expect(error?.message.contains("names no host") == true)
    }

    @Test("port zero rejected")
    func portZero() {
        let error = parseError("redis://127.0.0.1:0")
        #expect(error?.kind == .invalidURL)
        #expect(error?.message.contains("port 0") == true)
    }

    @Test("port above 65535 rejected")
    func portTooLarge() {
        #expect(parseError("redis://127.0.0.1:65536")?.kind == .invalidURL)
        #expect(parseError("redis://127.0.0.1:99999")?.kind == .invalidURL)
    }

    @Test("non-numeric port rejected")
    func portNotNumber() {
        #expect(parseError("redis://127.0.0.1:abc")?.kind == .invalidURL)
    }

    @Test("non-numeric database rejected")
    func databaseNotNumber() {
        let error = parseError("redis://127.0.0.1:6379/sales")
        #expect(error?.kind == .invalidURL)
        #expect(error?.message.contains("database 'sales'") == true)
    }

    @Test("negative database rejected")
    func databaseNegative() {
        let error = parseError("redis://127.0.0.1:6379/-1")
        #expect(error?.kind == .invalidURL)
        #expect(error?.message.contains("database '-1'") == true)
    }

    @Test("nested database path rejected")
    func databaseNestedPath() {
        #expect(parseError("redis://127.0.0.1:6379/1/2")?.kind == .invalidURL)
    }

    // MARK: - Password never shown

    @Test("description hides URL password")
    func descriptionHidesPassword() throws {
        let url = try RedisURL(parsing: "redis://worker:s3cret-pw@127.0.0.1:6379/2")
        #expect(!url.description.contains("s3cret-pw"))
        #expect(url.description == "redis://worker:***@127.0.0.1:6379/2")
        #expect(!url.endpointDescription.contains("s3cret-pw"))
    }

    @Test("description hides environment password")
    func descriptionHidesEnvironmentPassword() throws {
        let url = try RedisURL(parsing: "redis://127.0.0.1:6379", passwordFromEnvironment: "env-s3cret")
        #expect(!url.description.contains("env-s3cret"))
        #expect(url.description == "redis://:***@127.0.0.1:6379/0")
    }

    @Test("unix description hides password")
    func unixDescriptionHidesPassword() throws {
        let url = try RedisURL(parsing: "unix:///run/redis/redis.sock?db=1", passwordFromEnvironment: "env-s3cret")
        #expect(!url.description.contains("env-s3cret"))
        #expect(url.description.contains("***"))
        #expect(url.description.contains("/run/redis/redis.sock"))
    }

    @Test("description without credentials")
    func descriptionWithoutCredentials() throws {
        let url = try RedisURL(parsing: "redis://127.0.0.1:6380/5")
        #expect(url.description == "redis://127.0.0.1:6380/5")
    }

    @Test("parse errors hide password", arguments: [
        "redis://worker:s3cret-pw@127.0.0.1:0",
        "redis://worker:s3cret-pw@127.0.0.1:abc",
        "redis://worker:s3cret-pw@127.0.0.1:6379/sales",
        "redis://worker:s3cret-pw@/0",
        "http://worker:s3cret-pw@127.0.0.1:6379",
    ])
    func parseErrorsHidePassword(text: String) {
        let error = parseError(text)
        #expect(error?.kind == .invalidURL)
        #expect(error?.message.contains("s3cret-pw") == false)
        #expect(error.map { String(describing: $0) }?.contains("s3cret-pw") == false)
    }
}
