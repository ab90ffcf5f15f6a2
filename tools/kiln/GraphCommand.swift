import Foundation
import ArgumentParser
import Kiln

/// `kiln graph MODEL.kiln|SAMPLE [--step] [--optimized] [--dot] [--svg FILE]`: the graph as
/// text or Graphviz DOT.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph", abstract: "Print a graph as text or Graphviz DOT, before or after the passes.")

    @OptionGroup var subject: SubjectArgument
    @Flag(help: "Show the graph after the optimizer's passes, with its kernels.")
    var optimized = false
    @Flag(help: "Print Graphviz DOT (render with `dot -Tsvg`); kernels are clusters.")
    var dot = false
    @Option(help: "Render the DOT with Graphviz into this SVG file (needs Graphviz's `dot`).")
    var svg: String?

    func run() throws {
        let loaded = try subject.load()
        var function = try Function(graph: loaded.graph, outputs: loaded.outputs)
        if optimized { function = try Pipeline.optimize(function) }
        if let svg {
            try Self.render(function.dot, to: svg)
            print("wrote \(svg)")
        } else {
            print(dot ? function.dot : function.text)
        }
    }

    /// Pipes `dot` through Graphviz into an SVG file.
    static func render(_ dot: String, to path: String) throws {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        guard let program = directories.map({ "\($0)/dot" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            throw ValidationError("Graphviz's `dot` is not installed (Debian: apt-get install graphviz); "
                                  + "`kiln graph --dot` prints the DOT text instead")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = ["-Tsvg", "-o", path]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(dot.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw ValidationError("Graphviz failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
