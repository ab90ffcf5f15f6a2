import KilnGraph
import KilnInterpreter
import KilnJIT
import KilnTestSupport
import Testing

/// Slices, pads and transposes as calls (`kiln_slice`, `kiln_pad`, `kiln_transpose`,
/// Kernels/layout.c): a pooling that drops an odd feature map's last row and column, and its
/// gradient that pads them back; a batch of sequences turned time-major, as a recurrent layer
/// reads it. Large ones are split between the cores; each part moves whole rows, so every
/// batch size gives the interpreter's bytes, for floats and for a mask of bytes.
@Suite("Slices, pads and transposes as calls")
struct LayoutCallTests {
    @Test("a slice and a pad of a batch of feature maps", arguments: [DType.float32, .bool])
    func slicesAndPadsMatchTheInterpreter(dtype: DType) throws {
        let graph = Graph()
        let x = try graph.placeholder("x0", shape: [.batch, 11, 11, 64], dtype: .float32)
        let value = try dtype == .bool ? greater(x, graph.constant(0)) : x * 2
        let cut = try slice(value, starts: [0, 0, 0, 0], sizes: [-1, 10, 10, 64])
        let back = try pad(cut, low: [0, 1, 0, 0], high: [0, 0, 1, 0])
        let outputs = ["cut": cut, "back": back]
        let program = try JITProgram(graph: graph, outputs: outputs)
        let source = program.lowered.unit.source
        #expect(source.contains("kiln_slice(") && source.contains("kiln_pad("), "\(source)")
        // 37 maps (264,144 elements) are split, 1 and 7 are not.
        try expectParity(graph, outputs: outputs, inputs: [.float([.batch, 11, 11, 64], -1, 1)],
                         seed: stableSeed("layout \(dtype)"), rtol: 0, atol: 0, context: "slice and pad, \(dtype)")
    }

    /// Slices of the last axis, pads of it and concatenations along it move rows one stride
    /// apart (`kiln_copy.h`'s runs): 16 elements at a time and a masked rest with AVX-512 up
    /// to 256 elements a run, memcpy beyond, a loop of moves for runs of 1 to 8 elsewhere.
    @Test("slices, pads and concatenations along the last axis", arguments: [DType.float32, .bool])
    func stridedRowsMatchTheInterpreter(dtype: DType) throws {
        let graph = Graph()
        let x = try graph.placeholder("x0", shape: [.batch, 3, 700], dtype: .float32)
        let value = try dtype == .bool ? greater(x, graph.constant(0)) : x * 2
        var outputs: [String: Node] = [:]
        var parts: [Node] = []
        for (start, width) in [(0, 1), (3, 5), (8, 16), (30, 17), (64, 64), (130, 100), (256, 256), (399, 300)] {
            let part = try slice(value, starts: [0, 0, start], sizes: [-1, 3, width])
            outputs["slice \(start) \(width)"] = part
            outputs["pad \(start) \(width)"] = try pad(part, low: [0, 0, start % 7], high: [0, 0, width % 5])
            parts.append(part)
        }
        outputs["concatenation"] = try concatenate(parts, axis: 2)
        let program = try JITProgram(graph: graph, outputs: outputs)
        let source = program.lowered.unit.source
        #expect(source.contains("kiln_slice(") && source.contains("kiln_pad(") && source.contains("kiln_concat_part("),
                "\(source)")
        try expectParity(graph, outputs: outputs, inputs: [.float([.batch, 3, 700], -1, 1)],
                         seed: stableSeed("strided rows \(dtype)"), rtol: 0, atol: 0, context: "strided rows, \(dtype)")
    }

    @Test("a batch of sequences turned time-major", arguments: [DType.float32, .bool])
    func timeMajorTransposeMatchesTheInterpreter(dtype: DType) throws {
        let graph = Graph()
        let x = try graph.placeholder("x0", shape: [.batch, 80, 96], dtype: .float32)
        let value = try dtype == .bool ? greater(x, graph.constant(0)) : x * 2
        let timeMajor = try transpose(value, permutation: [1, 0, 2])
        let outputs = ["time_major": timeMajor]
        let program = try JITProgram(graph: graph, outputs: outputs)
        #expect(program.lowered.unit.source.contains("kiln_transpose("), "\(program.lowered.unit.source)")
        // 37 sequences (284,160 elements; 1.1 MB of floats, 284 KB of bytes) are split, 1 and 7 are not.
        try expectParity(graph, outputs: outputs, inputs: [.float([.batch, 80, 96], -1, 1)],
                         seed: stableSeed("time-major \(dtype)"), rtol: 0, atol: 0, context: "time-major transpose, \(dtype)")
    }
}
