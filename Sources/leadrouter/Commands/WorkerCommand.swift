import Dispatch
import Foundation
import Synchronization
import LeadRouting
import MetricsHTTP

/// The last SIGINT or SIGTERM received (0 = none); written by the signal handler.
private let receivedStopSignal = Atomic<Int32>(0)

enum WorkerCommand {
    static func installStopHandlers() {
        for number in [SIGINT, SIGTERM] {
            signal(number) { received in
                receivedStopSignal.store(received, ordering: .relaxed)
            }
        }
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    static func run(_ tail: [String], _ context: Context) throws {
        // A C signal handler only records the signal; a watcher thread below turns it into a
        // stop request. It is installed, and the signals unblocked (a parent may start us with
        // them blocked), before anything else, so a SIGTERM during start-up is not lost: the
        // worker then stops right after it starts, with exit status 0.
        Self.installStopHandlers()
        let arguments = try Arguments(tail, command: "worker", options: ["--concurrency", "--name", "--batch", "--metrics"])
        _ = try arguments.expect([], command: "worker")
        let defaultName = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "worker"
        let name = arguments.value("--name") ?? defaultName
        guard Identifiers.isValidGroup(name) else {
            throw UsageError("invalid worker name \(Identifiers.quoted(name)): use 1-64 characters of A-Z a-z 0-9 _ . -")
        }
        var options = WorkerOptions(name: name)
        options.concurrency = try arguments.integer("--concurrency", range: 1...256) ?? 1
        options.batchSize = try arguments.integer("--batch", range: 1...1000) ?? options.batchSize

        let logger = Logger(label: "leadrouter.worker")
        if let listen = arguments.value("--metrics") {
            _ = try self.listenAddress(listen)
        }
        let worker = Worker(url: context.url, keys: context.keys, options: options, logger: logger)

        // The handler installed at the top of run() has recorded any signal so far; this thread
        // turns it into a stop request.
        let watcher = Thread {
            while true {
                let number = receivedStopSignal.load(ordering: .relaxed)
                if number != 0 {
                    logger.info("stop requested; finishing the leads in hand", [(Logger.Key.worker, worker.id), ("signal", number == SIGINT ? "SIGINT" : "SIGTERM")])
                    worker.requestStop()
                    return
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        watcher.start()

        var server: HTTPServer?
        if let listen = arguments.value("--metrics") {
            let (host, port) = try self.listenAddress(listen)
            server = try HTTPServer(host: host, port: port) { path in
                switch path {
                case "/metrics":
                    return HTTPServer.Response(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: worker.metricsText())
                case "/healthz":
                    if let problem = worker.healthProblem() {
                        return HTTPServer.Response(status: 503, body: "unhealthy: \(problem)\n")
                    }
                    return HTTPServer.Response(status: 200, body: "ok\n")
                default:
                    return HTTPServer.Response(status: 404, body: "not found; try /metrics or /healthz\n")
                }
            }
            logger.info("metrics listening", [(Logger.Key.worker, worker.id), ("address", "\(host):\(port)")])
        }
        defer { server?.stop() }

        try worker.run()
    }

    /// Parses `HOST:PORT` or `:PORT` (loopback); the metrics listener binds loopback unless
    /// another address is given.
    static func listenAddress(_ text: String) throws(UsageError) -> (String, UInt16) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
            throw UsageError("invalid --metrics \(Identifiers.quoted(text)): expected HOST:PORT such as 127.0.0.1:9464")
        }
        let host = String(text[..<colon])
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }
}
