import ArgumentParser
import Kiln

/// `kiln graph <graph> [--optimized] [--dot]`: the graph as text or Graphviz DOT.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph", abstract: "Print a graph as text or Graphviz DOT, before or after the passes.")

    @OptionGroup var graph: GraphArgument
    @Flag(help: "Show the graph after the optimizer's passes, with its kernels.")
    var optimized = false
    @Flag(help: "Print Graphviz DOT (render with `dot -Tsvg`); kernels are clusters.")
    var dot = false

    func run() throws {
        let sample = try graph.load()
        var function = try Function(graph: sample.graph, outputs: sample.outputs)
        if optimized { function = try Pipeline.optimize(function) }
        print(dot ? function.dot : function.text)
    }
}
