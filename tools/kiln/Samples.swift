import ArgumentParser
import Kiln
import KilnSamples

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

extension String {
    /// The string left-aligned in `width` columns.
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
