import ArgumentParser
import Kiln

/// `kiln dump-c <graph>`: the generated C.
struct DumpC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-c", abstract: "Print the C translation unit a graph compiles into.")

    @OptionGroup var graph: GraphArgument

    func run() throws {
        let sample = try graph.load()
        print(try Lowering.lower(sample.graph, outputs: sample.outputs).unit.source, terminator: "")
    }
}
