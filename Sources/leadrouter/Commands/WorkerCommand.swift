import Dispatch
import Foundation
import LeadRouting

enum WorkerCommand {
    static func run(_ tail: [String], _ context: Context) throws {
        let arguments = try Arguments(tail, command: "worker", options: ["--concurrency", "--name", "--batch"])
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
        let worker = Worker(url: context.url, keys: context.keys, options: options, logger: logger)

        // Signals arrive on a dispatch queue of their own; the worker's threads notice the stop
        // request between leads, finish the batch in hand and exit.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "leadrouter.signals")
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                logger.info("stop requested; finishing the leads in hand", [(Logger.Key.worker, worker.id), ("signal", number == SIGINT ? "SIGINT" : "SIGTERM")])
                worker.requestStop()
            }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }

        try worker.run()
    }
}
