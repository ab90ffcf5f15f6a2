import Foundation
import Testing

/// What a program run printed and how it ended.
struct Run {
    let status: Int32
    let output: String
    let errors: String

    /// The `key=value` figures of the `RESULT` line.
    var result: [String: Double] {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }) else { return [:] }
        var figures: [String: Double] = [:]
        for pair in line.dropFirst(7).split(separator: " ") {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let value = Double(parts[1]) { figures[String(parts[0])] = value }
        }
        return figures
    }
}

/// Runs the program `name` (built next to the test bundle) with `arguments` and the
/// environment plus `environment`, in `directory` or a fresh one that is removed after (the
/// plots go there); checks every SVG it wrote.
func runProgram(_ name: String, _ arguments: [String], environment: [String: String] = [:],
                in directory: URL? = nil) throws -> Run {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
    let fresh = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-example-\(name)-\(UUID())")
    let directory = directory ?? fresh
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: fresh) }
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let out = output.fileHandleForReading.readDataToEndOfFile(), err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let plots = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    for plot in plots where plot.hasSuffix(".svg") {
        let text = try String(contentsOf: directory.appendingPathComponent(plot), encoding: .utf8)
        #expect(text.hasPrefix("<svg") && text.contains("</svg>"), "\(name) wrote an incomplete \(plot)")
    }
    return Run(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
               errors: String(decoding: err, as: UTF8.self))
}

