import Foundation
import LeadRouting

enum PushCommand {
    static func run(_ tail: [String], _ context: Context) throws {
        let arguments = try Arguments(tail, command: "push", options: ["--csv", "--id-column", "--rename"], flags: ["--no-stamp"])
        let inputs: [Producer.Input]
        if let csvPath = arguments.value("--csv") {
            _ = try arguments.expect([], command: "push --csv FILE --id-column NAME")
            guard let idColumn = arguments.value("--id-column") else {
                throw UsageError("missing --id-column NAME: name the CSV column that holds the lead id")
            }
            var renames: [String: String] = [:]
            for pair in arguments.all("--rename") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw UsageError("invalid --rename \(Identifiers.quoted(pair)): expected COLUMN=FIELD, e.g. --rename \"Lead Source=source\"")
                }
                renames[parts[0]] = parts[1]
            }
            inputs = try Producer.csvInputs(try self.read(csvPath), idColumn: idColumn, renames: renames)
        } else {
            guard arguments.positionals.count <= 1 else {
                throw UsageError("push takes one FILE (or none, to read standard input); got \(arguments.positionals.count)")
            }
            let data = try arguments.positionals.first.map { try self.read($0) } ?? FileHandle.standardInput.readDataToEndOfFile()
            inputs = Producer.jsonInputs(data)
        }
        guard !inputs.isEmpty else {
            throw UsageError("no leads found in the input; give JSON objects, a JSON array, JSON lines or --csv FILE")
        }

        for input in inputs where input.problem != nil {
            // Pushed anyway: the worker dead-letters it with the reason, so nothing is dropped here.
            FileHandle.standardError.write(Data("leadrouter: warning: \(input.origin) is \(input.problem!); it will go to the dead-letter list\n".utf8))
        }

        let client = try context.connect()
        let showProgress = inputs.count >= 2_000
        try Producer.push(inputs, client: client, stamp: !arguments.has("--no-stamp")) { sent, total in
            if showProgress {
                FileHandle.standardError.write(Data("\rpushed \(sent)/\(total) leads".utf8))
            }
        }
        if showProgress {
            FileHandle.standardError.write(Data("\n".utf8))
        }
        print("pushed \(counted(inputs.count, "lead")) to \(context.keys.incoming)")
    }

    static func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError("cannot read file \(Identifiers.quoted(path, limit: 200)); check the path and permissions")
        }
        return data
    }
}
