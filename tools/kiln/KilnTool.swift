import ArgumentParser

/// `kiln`: the command-line window into the compiler.
@main
struct KilnTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "See, compare and time what Kiln compiles a graph into.",
        discussion: "Graphs are the built-in samples; `kiln samples` lists them.",
        subcommands: [Samples.self, DumpC.self, Compare.self, GraphCommand.self, Bench.self]
    )
}
