import Foundation

/// CPU time and peak memory of a child process, read from /proc while it still runs.
struct ProcessStats {
    var cpuSeconds: Double
    var peakRSSMegabytes: Double

    static func read(pid: Int32) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else {
            return nil
        }
        // Fields after the command name, which is in parentheses and may contain spaces.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

        var peakKilobytes = 0.0
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            peakKilobytes = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return ProcessStats(cpuSeconds: (user + system) / ticks, peakRSSMegabytes: peakKilobytes / 1024)
    }
}
