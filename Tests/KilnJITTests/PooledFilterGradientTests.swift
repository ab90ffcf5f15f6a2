import KilnGraph
import KilnInterpreter
import KilnJIT
import KilnKernels
import KilnTestSupport
import Testing

/// A max pooling's gradient, through a ReLU's mask, summed into its convolution's filter and
/// bias gradients as it is made (`kiln_pooled_filter_gradient`,
/// ``FusePoolingGradientIntoFilterGradient``): the same sums as the map gradient
/// `kiln_extremum_gradient` writes, summed apart, on every path (windows read in place or
/// gathered with their padding, 2×2 poolings or others, masked or not) and every instruction set.
@Suite("Pooling gradients summed into filter gradients")
struct PooledFilterGradientTests {
    /// A convolution (as the windowed products' tests take it), its pooling window, whether it
    /// has a ReLU's mask, and how many values its map takes (few: many ties).
    struct Case: Sendable, CustomStringConvertible {
        let conv: WindowedProductTests.Case
        let ph, pw: Int
        var masked = true
        var levels = 0
        var description: String {
            "\(conv), pooled \(ph)×\(pw)\(masked ? ", masked" : "")\(levels > 0 ? ", \(levels) map values" : "")"
        }
        var mapCount: Int { conv.n * conv.oh * conv.ow * conv.cols }
        var pooledCount: Int { conv.n * (conv.oh / ph) * (conv.ow / pw) * conv.cols }

        /// Images, a map, its pooled maxima and their gradient, and a mask, from `seed`.
        func operands(seed: Int) throws -> (x: [Float], map: [Float], pooled: [Float], dpooled: [Float], keep: [UInt8]) {
            let (x, _) = try conv.operands(seed: seed)
            var generator = SeededGenerator(seed: UInt64(seed + 7))
            var map = try Tensor.randomUniform(shape: [max(mapCount, 1)], lower: -1, upper: 1, using: &generator).scalars
            if levels > 0 { map = map.map { ($0 * Float(levels)).rounded() } }
            let dpooled = try Tensor.randomUniform(shape: [max(pooledCount, 1)], lower: -1, upper: 1, using: &generator).scalars
            let keep = (0..<max(mapCount, 1)).map { _ in UInt8(Int.random(in: 0..<4, using: &generator) == 0 ? 0 : 1) }
            var pooled = [Float](repeating: -.infinity, count: max(pooledCount, 1))
            let (oh, ow, cols) = (conv.oh, conv.ow, conv.cols), (rows, columns) = (oh / ph, ow / pw)
            for b in 0..<conv.n {
                for oy in 0..<(rows * ph) {
                    for ox in 0..<(columns * pw) {
                        for k in 0..<cols {
                            let at = ((b * rows + oy / ph) * columns + ox / pw) * cols + k
                            pooled[at] = max(pooled[at], map[((b * oh + oy) * ow + ox) * cols + k])
                        }
                    }
                }
            }
            return (x, map, pooled, dpooled, keep)
        }

        /// The kernel's filter and bias gradients (through `level`, or the entry point generated
        /// code calls when `level` is nil).
        func sums(_ x: [Float], _ map: [Float], _ pooled: [Float], _ dpooled: [Float], _ keep: [UInt8], level: Int32? = nil)
            -> (y: [Float], bias: [Float]) {
            let c = conv
            var y = [Float](repeating: .nan, count: c.length * c.cols), bias = [Float](repeating: .nan, count: c.cols)
            var second = [Float](repeating: .nan, count: (c.length + 1) * c.cols)
            let (n, h, w, cc) = (Int64(c.n), Int64(c.h), Int64(c.w), Int64(c.c))
            let (kh, kw, sh, sw) = (Int64(c.kh), Int64(c.kw), Int64(c.sh), Int64(c.sw))
            let (dh, dw, top, left, oh, ow) = (Int64(c.dh), Int64(c.dw), Int64(c.top), Int64(c.left), Int64(c.oh), Int64(c.ow))
            keep.withUnsafeBufferPointer { mask in
                let keep = masked ? mask.baseAddress : nil
                if let level {
                    kiln_pooled_filter_gradient_at(level, n, h, w, cc, kh, kw, sh, sw, dh, dw, top, left, oh, ow, c.pad, x,
                                                   Int64(c.cols), map, pooled, dpooled, keep, Int64(ph), Int64(pw), &y, &bias,
                                                   &second)
                } else {
                    kiln_pooled_filter_gradient(n, h, w, cc, kh, kw, sh, sw, dh, dw, top, left, oh, ow, c.pad, x, Int64(c.cols),
                                                map, pooled, dpooled, keep, Int64(ph), Int64(pw), &y, &bias, &second)
                }
            }
            return (y, bias)
        }

        /// The map gradient kiln_extremum_gradient writes (each cell equal to its window's
        /// maximum gets the window's gradient divided by the number of such cells, times the
        /// mask), then its sum and the windows' transposed product with it, in double precision;
        /// and each sum's scale (the sum of its terms' magnitudes).
        func reference(_ x: [Float], _ map: [Float], _ pooled: [Float], _ dpooled: [Float], _ keep: [UInt8])
            -> (y: [Double], bias: [Double], yScale: [Double], biasScale: [Double]) {
            let c = conv, (rows, columns) = (c.oh / ph, c.ow / pw)
            var gradient = [Float](repeating: 0, count: max(mapCount, 1))
            for b in 0..<c.n {
                for py in 0..<rows {
                    for px in 0..<columns {
                        for k in 0..<c.cols {
                            let at = ((b * rows + py) * columns + px) * c.cols + k
                            let cells = (0..<(ph * pw)).map { ((b * c.oh + py * ph + $0 / pw) * c.ow + px * pw + $0 % pw) * c.cols + k }
                            let share = dpooled[at] / Float(cells.filter { map[$0] == pooled[at] }.count)
                            for cell in cells where map[cell] == pooled[at] && (!masked || keep[cell] != 0) { gradient[cell] = share }
                        }
                    }
                }
            }
            let windows = c.whole(x, [], product: false)
            var y = [Double](repeating: 0, count: c.length * c.cols), yScale = y
            var bias = [Double](repeating: 0, count: c.cols), biasScale = bias
            for r in 0..<(c.n * c.oh * c.ow) {
                for k in 0..<c.cols {
                    let g = Double(gradient[r * c.cols + k])
                    bias[k] += g
                    biasScale[k] += abs(g)
                    for p in 0..<c.length {
                        let term = Double(windows[r * c.length + p]) * g
                        y[p * c.cols + k] += term
                        yScale[p * c.cols + k] += abs(term)
                    }
                }
            }
            return (y, bias, yScale, biasScale)
        }
    }

    static let cases: [Case] = [
        // The Keras convnet's first convolution: 2×2 pooling, windows read in place.
        Case(conv: .init(n: 3, h: 26, w: 26, c: 1, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0,
                         cols: 32), ph: 2, pw: 2),
        // `same` padding (gathered windows), 5 filters (a masked register), no mask, many ties.
        Case(conv: .init(n: 2, h: 6, w: 6, c: 3, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 1, left: 1, bottom: 1, right: 1,
                         cols: 5, pad: 0), ph: 2, pw: 2, masked: false, levels: 2),
        // Strides, a 3×3 pooling (nine cells), 20 filters.
        Case(conv: .init(n: 2, h: 13, w: 13, c: 2, kh: 2, kw: 2, sh: 2, sw: 2, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0,
                         cols: 20), ph: 3, pw: 3, levels: 3),
        // Dilation, a 1×4 pooling, 70 filters (two groups of registers).
        Case(conv: .init(n: 3, h: 8, w: 10, c: 1, kh: 2, kw: 2, sh: 1, sw: 1, dh: 2, dw: 2, top: 0, left: 0, bottom: 0, right: 0,
                         cols: 70), ph: 1, pw: 4),
        // One image: not split between the cores.
        Case(conv: .init(n: 1, h: 10, w: 10, c: 4, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0,
                         cols: 16), ph: 2, pw: 2, levels: 1),
    ]

    @Test("the filter and bias gradients are the sums of the map gradient kiln_extremum_gradient writes", arguments: cases)
    func sumsTheMapGradient(_ size: Case) throws {
        let (x, map, pooled, dpooled, keep) = try size.operands(seed: size.conv.h * 5 + size.conv.cols)
        let got = size.sums(x, map, pooled, dpooled, keep)
        let expected = size.reference(x, map, pooled, dpooled, keep)
        func worst(_ got: [Float], _ expected: [Double], _ scale: [Double]) -> Double {
            zip(zip(got, expected), scale).map { pair, scale in abs(Double(pair.0) - pair.1) / max(scale, 1e-30) }.max() ?? 0
        }
        // Float sums in another order than the double ones: errors of a few ulps of the terms' scale.
        #expect(worst(got.y, expected.y, expected.yScale) < 1e-6, "\(size): filter gradient")
        #expect(worst(got.bias, expected.bias, expected.biasScale) < 1e-6, "\(size): bias gradient")
        #expect(expected.biasScale.contains { $0 > 0 }, "\(size): the case has no gradient to sum")
    }

    @Test("every instruction set gives the bits of the plain C", arguments: cases)
    func instructionSetsAgree(_ size: Case) throws {
        let (x, map, pooled, dpooled, keep) = try size.operands(seed: size.conv.w * 3 + size.ph)
        let plain = size.sums(x, map, pooled, dpooled, keep, level: 0)
        for level: Int32 in [1, 2] where level <= kiln_cpu_simd_level() {
            let got = size.sums(x, map, pooled, dpooled, keep, level: level)
            #expect(zip(got.y + got.bias, plain.y + plain.bias).allSatisfy { $0.bitPattern == $1.bitPattern }, "level \(level), \(size)")
        }
        // Both cores, the images split in the same two halves: the same bits again.
        let split = size.sums(x, map, pooled, dpooled, keep)
        #expect(zip(split.y + split.bias, plain.y + plain.bias).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(size): two cores")
    }

    @Test("a training step's first convolution never writes its map's gradient; a convolution whose input has a gradient does")
    func trainingStepSumsThePoolingGradient() throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: 29)
        let x = try graph.placeholder("x", shape: [.batch, 12, 12, 2])
        func variable(_ name: String, _ shape: [Int]) throws -> Node {
            try graph.variable(name, initialValue: try Tensor.randomUniform(shape: shape, lower: -0.5, upper: 0.5, using: &generator))
        }
        let w1 = try variable("w1", [3, 3, 2, 8]), b1 = try variable("b1", [8])
        let w2 = try variable("w2", [3, 3, 8, 4]), b2 = try variable("b2", [4])
        // A padded first convolution (its windows gathered) and a valid second one, each pooled.
        let first = try maxPool2d(try relu(try conv2d(x, w1, padding: .same) + b1), size: [2, 2], stride: [2, 2])
        let second = try maxPool2d(try relu(try conv2d(first, w2) + b2), size: [2, 2], stride: [2, 2])
        let loss = try sum(square(second))
        let gradients = try graph.gradients(of: loss, wrt: [w1, b1, w2, b2])
        let outputs = ["loss": loss, "dw1": gradients[0], "db1": gradients[1], "dw2": gradients[2], "db2": gradients[3]]
        let jit = try JITProgram(graph: graph, outputs: outputs)
        let source = jit.lowered.unit.source
        #expect(source.components(separatedBy: "kiln_pooled_filter_gradient(").count == 2, "\(source)")
        #expect(source.components(separatedBy: "kiln_extremum_gradient(").count == 2, "\(source)")
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        for batch in [0, 1, 4] {
            let feeds = ["x": try Tensor.randomUniform(shape: [batch, 12, 12, 2], lower: -1, upper: 1, using: &generator)]
            let got = try jit.run(feeds: feeds), expected = try reference.run(feeds: feeds)
            for name in outputs.keys.sorted() {
                expectClose(try #require(got[name]), try #require(expected[name]), rtol: 1e-4, atol: 1e-5, "\(name) at batch \(batch)")
            }
        }
    }
}
