import ArgumentParser
import Foundation
import Kiln

/// `kiln`: the command-line window into the compiler, for saved models and sample graphs.
@main
struct KilnTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "See, compare and time what Kiln compiles a model into.",
        discussion: "Commands take a model saved as a .kiln file or by Keras 3 as a .keras file (with --step predict, "
            + "train or evaluate) or a "
            + "built-in sample graph (`kiln samples` lists them).",
        subcommands: [Summary.self, GraphCommand.self, DumpC.self, Compare.self, Bench.self, Samples.self, Export.self, Convert.self]
    )

    /// Runs the command; a Kiln error (a missing or damaged file, a model without that step)
    /// is one line on standard error and exit status 1.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as KilnError {
            let line = error.message.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            FileHandle.standardError.write(Data("error: \(line)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}
