// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "leadrouter",
    products: [
        .executable(name: "leadrouter", targets: ["leadrouter"])
    ],
    targets: [
        // hiredis 0.14 from Debian (libhiredis-dev); only the module map and a shim header live here.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // GNU libmicrohttpd from Debian (libmicrohttpd-dev), for the worker's metrics endpoint.
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .target(name: "MetricsHTTP", dependencies: ["CMicroHTTPD"]),
        // The one module that calls hiredis: no redisContext pointer leaves it.
        .target(name: "RedisClient", dependencies: ["CHiredis"]),
        // Leads, pool config, routing, the Lua scripts and the worker.
        .target(name: "LeadRouting", dependencies: ["RedisClient"]),
        .executableTarget(name: "leadrouter", dependencies: ["LeadRouting", "RedisClient", "MetricsHTTP"]),
        .testTarget(name: "LeadRoutingTests", dependencies: ["LeadRouting", "RedisClient"]),
        .testTarget(name: "IntegrationTests", dependencies: ["LeadRouting", "RedisClient"]),
    ],
    swiftLanguageModes: [.v6]
)
