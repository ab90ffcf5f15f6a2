import KilnCompiler
import KilnGraph
import KilnInterpreter
import KilnJIT
import KilnKernels
import KilnTestSupport
import Testing

/// A convolution's input gradient folded into its images as it is made (FuseProductIntoFold
/// and `kiln_gemm_fold_windows`): the kernel gives the images `kiln_fold_patches` makes of the
/// product `dz · bᵀ`, and training steps use it and agree with the interpreter.
@Suite("Products folded into images as they are made")
struct FoldedProductTests {
    /// One call's sizes (images, window, strides, dilations, padding, and the filters as its
    /// columns), as the windowed products' tests take them.
    typealias Case = WindowedProductTests.Case

    static let cases: [Case] = [
        // The Keras convnet's second convolution, two images split between the cores.
        Case(n: 2, h: 12, w: 12, c: 32, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0, cols: 64),
        // Same padding with strides 2: windows that reach into the padding on every side.
        Case(n: 3, h: 7, w: 6, c: 3, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, top: 1, left: 1, bottom: 1, right: 1, cols: 5),
        // Registers added straight into the image (16 channels), windows reaching into the padding.
        Case(n: 2, h: 6, w: 7, c: 16, kh: 3, kw: 3, sh: 2, sw: 1, dh: 1, dw: 1, top: 1, left: 1, bottom: 1, right: 1, cols: 10),
        // Dilations, and cells of 20 channels that straddle the panels of 64 (and AVX2's of 16).
        Case(n: 2, h: 11, w: 9, c: 20, kh: 2, kw: 3, sh: 1, sw: 2, dh: 2, dw: 2, top: 0, left: 0, bottom: 0, right: 0, cols: 70),
        // One channel, and filters deeper than a few tiles.
        Case(n: 2, h: 9, w: 8, c: 1, kh: 3, kw: 2, sh: 1, sw: 1, dh: 1, dw: 1, top: 2, left: 1, bottom: 0, right: 1, cols: 130),
        // Fewer windows than filters: the product itself in the scratch, then the fold.
        Case(n: 1, h: 3, w: 3, c: 4, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0, cols: 16),
    ]

    @Test("kiln_gemm_fold_windows folds the product dz · bᵀ into the images as kiln_fold_patches does", arguments: cases)
    func foldsTheProduct(_ size: Case) throws {
        try #require(kiln_blas_load() == nil, "the GEMM library the small case calls loads")
        let (dz, b) = try size.foldOperands(seed: size.h * 100 + size.cols)
        let got = size.folded(dz, b), expected = size.expected(dz, b)
        var worst = 0.0
        for (index, value) in expected.enumerated() {
            let error = abs(Double(got[index]) - value) / max(1, abs(value))
            if !(error < 1e-5) { Issue.record("\(size), element \(index): \(got[index]) vs \(value)") }
            worst = max(worst, error.isNaN ? .infinity : error)
        }
        #expect(worst < 1e-5, "\(size): relative error \(worst)")
    }

    @Test("an empty batch writes nothing, and no filters give zero images")
    func emptyOperands() throws {
        let none = Case(n: 0, h: 5, w: 5, c: 2, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0, cols: 4)
        #expect(none.folded([0], [0])[0].isNaN)
        let zero = Case(n: 2, h: 4, w: 4, c: 2, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0, cols: 0)
        #expect(zero.folded([0], [0]) == [Float](repeating: 0, count: 64))
    }

    @Test("kiln_gemm_narrow_fold adds into the image, with every instruction set's tiles, what the plain C adds",
          arguments: [cases[0], cases[1], cases[2], cases[3], cases[4]])
    func everyInstructionSet(_ size: Case) throws {
        let (dz, b) = try size.foldOperands(seed: size.w * 10 + size.c)
        // bᵀ, whose rows the tiles read; the first image, which starts from ones to show the sums are added.
        let bt = (0..<(size.cols * size.length)).map { b[$0 % size.length * size.cols + $0 / size.length] }
        let windows = size.oh * size.ow, imageLength = size.h * size.w * size.c
        var shape = size.shape
        func fold(_ level: Int32) -> [Float] {
            var image = [Float](repeating: 1, count: imageLength)
            kiln_gemm_narrow_fold(level, Int64(windows), Int64(size.length), Int64(size.cols), dz, bt, &shape, &image)
            return image
        }
        let plain = fold(0)
        let expected = size.expected(dz, b).prefix(imageLength).map { $0 + 1 }
        let worst = zip(plain, expected).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst < 1e-5, "plain C, \(size): relative error \(worst)")
        for level in 1...max(1, kiln_cpu_simd_level()) where level <= kiln_cpu_simd_level() {
            let got = fold(level)
            let error = zip(got, plain).map { abs(Double($0) - Double($1)) / max(1, abs(Double($1))) }.max() ?? 0
            #expect(error < 1e-5, "level \(level), \(size): relative error \(error) from the plain C")
        }
    }

    @Test("a training step folds a convolution's input gradient as it is made and agrees with the interpreter",
          arguments: [([12, 12, 32], [3, 3, 32, 64], [1, 1], Padding.valid),
                      ([7, 6, 3], [3, 3, 3, 5], [2, 2], .same),
                      ([9, 9, 4], [2, 3, 4, 70], [1, 2], .same)])
    func trainingStepsFoldTheInputGradient(image: [Int], filter: [Int], stride: [Int], padding: Padding) throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: UInt64(filter.reduce(0, +)))
        let x = try graph.placeholder("x", shape: Shape([.batch] + image.map { .size($0) }))
        let w0 = try graph.variable("w0", initialValue: try Tensor.randomUniform(shape: [1, 1, image[2], image[2]], lower: -0.5,
                                                                                 upper: 0.5, using: &generator))
        let w = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: filter, lower: -0.5, upper: 0.5, using: &generator))
        // The second convolution's input is the first's output: its gradient is the folded product.
        let hidden = try tanh(try conv2d(x, w0))
        let y = try conv2d(hidden, w, stride: stride, padding: padding)
        let loss = try sum(square(y))
        let gradients = try graph.gradients(of: loss, wrt: [w0, w])
        let outputs = ["loss": loss, "dw0": gradients[0], "dw": gradients[1]]
        let jit = try JITProgram(graph: graph, outputs: outputs)
        let source = jit.lowered.unit.source, text = jit.lowered.function.text
        #expect(source.contains("kiln_gemm_fold_windows("), "\(source)")
        #expect(!source.contains("kiln_fold_patches("), "\(source)")
        #expect(text.contains("# folds the tiles of %"), "\(text)")
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        for batch in [0, 1, 5] {
            let feeds = ["x": try Tensor.randomUniform(shape: [batch] + image, lower: -1, upper: 1, using: &generator)]
            let got = try jit.run(feeds: feeds), expected = try reference.run(feeds: feeds)
            for name in outputs.keys.sorted() {
                expectClose(try #require(got[name]), try #require(expected[name]), rtol: 1e-4, atol: 1e-4, "\(name) at batch \(batch)")
            }
        }
    }

    @Test("a product read besides its fold is written, and the fold reads it as before")
    func productReadElsewhereIsWritten() throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: 7)
        let dz = try graph.placeholder("dz", shape: [.batch, 16, 4])
        let w = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: [18, 4], lower: -0.5, upper: 0.5, using: &generator))
        let product = try matmul(dz, w, transposeB: true)
        let window = PatchWindow(size: [3, 3], stride: [1, 1], padding: .valid, imageSize: [6, 6])
        let images = try foldPatches(try reshape(product, to: [.batch, 4, 4, 18]), window: window, imageSize: [6, 6])
        let outputs = ["images": images, "product": product]
        let jit = try JITProgram(graph: graph, outputs: outputs)
        #expect(jit.lowered.unit.source.contains("kiln_fold_patches("), "\(jit.lowered.unit.source)")
        #expect(!jit.lowered.unit.source.contains("kiln_gemm_fold_windows("), "\(jit.lowered.unit.source)")
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        let feeds = ["dz": try Tensor.randomUniform(shape: [3, 16, 4], lower: -1, upper: 1, using: &generator)]
        let got = try jit.run(feeds: feeds), expected = try reference.run(feeds: feeds)
        for name in outputs.keys.sorted() {
            expectClose(try #require(got[name]), try #require(expected[name]), rtol: 1e-5, atol: 1e-5, name)
        }
    }
}

extension WindowedProductTests.Case {
    /// The windows of the whole batch, the product's rows.
    var windowCount: Int { n * oh * ow }
    /// Where the product's rows fold into an image, as `kiln_gemm_narrow_fold` takes it.
    var shape: kiln_fold_shape {
        kiln_fold_shape(h: Int64(h), w: Int64(w), c: Int64(c), kh: Int64(kh), kw: Int64(kw), sh: Int64(sh), sw: Int64(sw),
                        dh: Int64(dh), dw: Int64(dw), top: Int64(top), left: Int64(left), ow: Int64(ow))
    }

    /// A random output gradient `[rows, cols]` and filters `[length, cols]`, from `seed`.
    func foldOperands(seed: Int) throws -> (dz: [Float], b: [Float]) {
        var generator = SeededGenerator(seed: UInt64(seed))
        let dz = try Tensor.randomUniform(shape: [max(windowCount * cols, 1)], lower: -1, upper: 1, using: &generator).scalars
        let b = try Tensor.randomUniform(shape: [max(length * cols, 1)], lower: -1, upper: 1, using: &generator).scalars
        return (dz, b)
    }

    /// The images of the product folded back, in double precision, window after window.
    func expected(_ dz: [Float], _ b: [Float]) -> [Double] {
        var y = [Double](repeating: 0, count: n * h * w * c)
        for r in 0..<windowCount {
            let image = r / (oh * ow), oy = r / ow % oh, ox = r % ow
            for ky in 0..<kh {
                for kx in 0..<kw {
                    let iy = oy * sh - top + ky * dh, ix = ox * sw - left + kx * dw
                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                    for ch in 0..<c {
                        let q = (ky * kw + kx) * c + ch
                        var sum = 0.0
                        for p in 0..<cols { sum += Double(dz[r * cols + p]) * Double(b[q * cols + p]) }
                        y[((image * h + iy) * w + ix) * c + ch] += sum
                    }
                }
            }
        }
        return y
    }

    /// `kiln_gemm_fold_windows` over the whole batch.
    func folded(_ dz: [Float], _ b: [Float]) -> [Float] {
        var y = [Float](repeating: .nan, count: max(n * h * w * c, 1))
        var scratch = [Float](repeating: .nan, count: max(windowCount * length, 1))
        kiln_gemm_fold_windows(Int64(n), Int64(h), Int64(w), Int64(c), Int64(kh), Int64(kw), Int64(sh), Int64(sw), Int64(dh),
                               Int64(dw), Int64(top), Int64(left), Int64(oh), Int64(ow), Int64(cols), dz, b, &scratch, &y)
        return y
    }
}
