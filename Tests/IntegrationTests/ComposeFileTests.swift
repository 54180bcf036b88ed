import Foundation
import Testing

@Suite("Compose file")
struct ComposeFileTests {
    @Test("compose.yaml passes docker-compose config")
    func composeFileValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let compose = root.appendingPathComponent("compose.yaml").path
        let candidates = ["/usr/bin/docker-compose", "/usr/local/bin/docker-compose"]
        let tool = try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) }, "docker-compose is not installed; ops/test installs it with apt")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-f", compose, "config", "--services"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let services = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        #expect(process.terminationStatus == 0, "\(problems)")
        let names = Set(services.split(separator: "\n").map(String.init))
        #expect(names == ["redis", "init", "worker"])
    }
}
