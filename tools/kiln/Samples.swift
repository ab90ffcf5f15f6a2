import ArgumentParser
import Kiln

/// `kiln samples`: the built-in graphs.
struct Samples: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the built-in sample graphs.")

    func run() throws {
        for name in SampleGraphs.names {
            let sample = try SampleGraphs.sample(named: name)
            print("\(name.padding(20))\(sample.summary)")
        }
    }
}

/// The graph argument every command takes.
struct GraphArgument: ParsableArguments {
    @Argument(help: "A built-in sample graph (see `kiln samples`).")
    var graph: String

    func load() throws -> SampleGraph {
        do {
            return try SampleGraphs.sample(named: graph)
        } catch let error as KilnError {
            throw ValidationError(error.message)
        }
    }
}

extension String {
    /// The string left-aligned in `width` columns.
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
