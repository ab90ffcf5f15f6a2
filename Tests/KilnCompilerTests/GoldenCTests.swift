import KilnSamples
import Foundation
import KilnCompiler
import KilnGraph
import Testing

/// The generated C of a few small graphs, committed under Golden/. A change to code
/// generation shows up as a diff to review; `UPDATE_GOLDEN=1 swift test` rewrites the files.
@Suite("Golden C")
struct GoldenCTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func labelling() throws -> (Graph, [String: Node]) {
        let graph = Graph()
        let table = try graph.variable("embedding", initialValue: Tensor([[0.5, -1], [2, 0], [1, 1]]))
        let ids = try graph.placeholder("ids", shape: [.batch], dtype: .int32)
        let rows = try gather(table, indices: ids)
        let labels = try argmax(rows, axis: 1)
        let hits = try cast(equal(labels, ids), to: .float32)
        return (graph, ["accuracy": try mean(hits), "onehot": try oneHot(labels, depth: 2)])
    }

    static let cases: [String] = ["mlp-forward", "mlp-train-sgd", "labelling"]

    @Test("generated C matches the committed file", arguments: cases)
    func golden(_ name: String) throws {
        let (graph, outputs): (Graph, [String: Node])
        if name == "labelling" {
            (graph, outputs) = try Self.labelling()
        } else {
            let sample = try SampleGraphs.sample(named: name)
            (graph, outputs) = (sample.graph, sample.outputs)
        }
        let source = try Lowering.lower(graph, outputs: outputs, switches: DebugSwitches { _ in nil }).unit.source
        let file = Self.directory.appendingPathComponent("\(name).c")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try source.write(to: file, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: file, encoding: .utf8)
        if source != expected {
            let ours = source.split(separator: "\n", omittingEmptySubsequences: false)
            let theirs = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(ours, theirs).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? Swift.min(ours.count, theirs.count)
            Issue.record("""
                \(name).c differs from Golden/\(name).c at line \(line + 1) (UPDATE_GOLDEN=1 rewrites it):
                  generated: \(line < ours.count ? ours[line] : "(end)")
                  golden:    \(line < theirs.count ? theirs[line] : "(end)")
                """)
        }
    }
}
