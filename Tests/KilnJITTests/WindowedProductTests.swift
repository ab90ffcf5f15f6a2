import KilnCompiler
import KilnGraph
import KilnInterpreter
import KilnJIT
import KilnKernels
import KilnTestSupport
import Testing

/// Convolutions whose window rows are never written (FuseWindowsIntoMatmul and
/// `kiln_gemm_windows`): the kernel gives the product of the rows `kiln_patches` writes, and
/// programs that only run a convolution forward use it and agree with the interpreter.
@Suite("Windows gathered by their product")
struct WindowedProductTests {
    /// One call's sizes: images, window, strides, dilations, padding before, output columns.
    struct Case: Sendable, CustomStringConvertible {
        let n, h, w, c, kh, kw, sh, sw, dh, dw, top, left, bottom, right, cols: Int
        var pad: Float = 0
        var oh: Int { (h + top + bottom - ((kh - 1) * dh + 1)) / sh + 1 }
        var ow: Int { (w + left + right - ((kw - 1) * dw + 1)) / sw + 1 }
        var length: Int { kh * kw * c }
        var description: String { "\(n)×\(h)×\(w)×\(c), window \(kh)×\(kw), \(cols) columns" }

        /// Random images and a right operand of the product, from `seed`.
        func operands(seed: Int) throws -> (x: [Float], b: [Float]) {
            var generator = SeededGenerator(seed: UInt64(seed))
            let x = try Tensor.randomUniform(shape: [max(n, 1) * h * w * c], lower: -1, upper: 1, using: &generator).scalars
            let b = try Tensor.randomUniform(shape: [length * cols], lower: -1, upper: 1, using: &generator).scalars
            return (x, b)
        }

        /// `kiln_patches`' rows (`product` false) or their product with `b` by
        /// `kiln_gemm_windows`, for the whole batch.
        func whole(_ x: [Float], _ b: [Float], product: Bool) -> [Float] {
            let rows = n * oh * ow
            var y = [Float](repeating: .nan, count: max(rows * (product ? cols : length), 1))
            let (n, h, w, c) = (Int64(n), Int64(h), Int64(w), Int64(c))
            let (kh, kw, sh, sw) = (Int64(kh), Int64(kw), Int64(sh), Int64(sw))
            let (dh, dw, top, left, oh, ow) = (Int64(dh), Int64(dw), Int64(top), Int64(left), Int64(oh), Int64(ow))
            if product {
                kiln_gemm_windows(n, h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, pad, x, Int64(cols), b, &y)
            } else {
                kiln_patches(n, h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, pad, x, &y)
            }
            return y
        }

        /// Where each window cell lies from the window's first cell, in the gathered order.
        var cellOffsets: [Int64] {
            (0..<kh).flatMap { ky in (0..<kw).flatMap { kx in (0..<c).map { Int64((ky * dh * w + kx * dw) * c + $0) } } }
        }

        /// Where each window's first cell lies in the images (windows with no cell of padding).
        var windowStarts: [Int] {
            (0..<(n * oh * ow)).map { r in ((r / (ow * oh) * h + r / ow % oh * sh) * w + r % ow * sw) * c }
        }

        /// Rows `[first, first + count)` of the product, by `kiln_gemm_window_rows`.
        func rows(_ x: [Float], _ b: [Float], first: Int, count: Int) -> [Float] {
            var y = [Float](repeating: .nan, count: max(count * cols, 1))
            kiln_gemm_window_rows(Int64(n), Int64(h), Int64(w), Int64(c), Int64(kh), Int64(kw), Int64(sh), Int64(sw), Int64(dh),
                                  Int64(dw), Int64(top), Int64(left), Int64(oh), Int64(ow), pad, x, Int64(cols), b, Int64(first),
                                  Int64(count), &y)
            return y
        }
    }

    static let cases: [Case] = [
        Case(n: 2, h: 7, w: 6, c: 3, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, top: 1, left: 1, bottom: 1, right: 1, cols: 5,
             pad: -0.5),
        Case(n: 3, h: 9, w: 9, c: 1, kh: 3, kw: 2, sh: 1, sw: 1, dh: 2, dw: 3, top: 0, left: 0, bottom: 0, right: 0, cols: 16),
        // Blocks of rows that span two images.
        Case(n: 2, h: 28, w: 28, c: 1, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0, cols: 32),
        // Split between the cores.
        Case(n: 2, h: 13, w: 13, c: 32, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 1, left: 1, bottom: 1, right: 1, cols: 64),
        // Rows longer than a block: cell by cell.
        Case(n: 1, h: 4, w: 4, c: 1000, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 1, left: 1, bottom: 1, right: 1, cols: 3),
        Case(n: 0, h: 5, w: 5, c: 2, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0, cols: 4),
    ]

    @Test("kiln_gemm_windows is the product of kiln_patches' rows", arguments: cases)
    func kernelMatchesPatchesTimesMatrix(_ size: Case) throws {
        try #require(kiln_blas_load() == nil, "the GEMM library the product calls loads")
        let (x, b) = try size.operands(seed: size.h * 100 + size.c)
        let rows = size.n * size.oh * size.ow
        let windows = size.whole(x, b, product: false), y = size.whole(x, b, product: true)
        var worst = 0.0
        for row in 0..<rows {
            for col in 0..<size.cols {
                var expected = 0.0
                for p in 0..<size.length { expected += Double(windows[row * size.length + p]) * Double(b[p * size.cols + col]) }
                let error = abs(Double(y[row * size.cols + col]) - expected)
                if !(error < 1e-3) { Issue.record("row \(row), column \(col): \(y[row * size.cols + col]) vs \(expected)") }
                worst = max(worst, error.isNaN ? .infinity : error)
            }
        }
        #expect(worst < 1e-3)
        if rows == 0 { #expect(y[0].isNaN, "nothing is written for an empty batch") }
    }

    @Test("kiln_gemm_window_rows gives any run of the product's rows, with the whole product's bits where Kiln's kernel runs it", arguments: cases)
    func rowsMatchTheWholeProduct(_ size: Case) throws {
        try #require(kiln_blas_load() == nil, "the GEMM library the product calls loads")
        let (x, b) = try size.operands(seed: size.w * 100 + size.cols)
        let rows = size.n * size.oh * size.ow
        let whole = size.whole(x, b, product: true)
        // Runs that start and end inside an image, span two, or cover one row.
        for (first, count) in [(0, rows), (1, rows / 2), (rows / 3, rows - rows / 3), (rows - 1, 1), (0, 0)]
        where first >= 0 && count >= 0 && first + count <= rows {
            let part = size.rows(x, b, first: first, count: count)
            let expected = Array(whole[(first * size.cols)..<((first + count) * size.cols)])
            let got = Array(part.prefix(count * size.cols))
            let worst = zip(got, expected).map { abs(Double($0) - Double($1)) / max(1, abs(Double($1))) }.max() ?? 0
            #expect(worst < 1e-5, "rows \(first) ..< \(first + count): relative error \(worst)")
            // Kiln's own kernel sums each element alone, in order, whatever the rows around it.
            if kiln_gemm_narrow_suits(0, 0, 24, Int64(size.cols), Int64(size.length)) != 0 {
                let differing = zip(got, expected).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "rows \(first) ..< \(first + count): \(differing) elements with other bits")
            }
            if count == 0 { #expect(part[0].isNaN, "nothing is written for no rows") }
        }
    }

    @Test("windows read in place give the gathered rows' product with the same bits, on every instruction set",
          arguments: [Case(n: 2, h: 28, w: 28, c: 1, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0,
                           cols: 32),
                      Case(n: 1, h: 12, w: 12, c: 32, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0,
                           cols: 64),
                      Case(n: 2, h: 11, w: 9, c: 3, kh: 2, kw: 3, sh: 2, sw: 1, dh: 2, dw: 2, top: 0, left: 0, bottom: 0, right: 0,
                           cols: 20),
                      Case(n: 3, h: 5, w: 5, c: 2, kh: 5, kw: 1, sh: 1, sw: 2, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0,
                           cols: 5)])
    func windowsReadInPlace(_ size: Case) throws {
        let (x, b) = try size.operands(seed: size.h * 10 + size.cols)
        let rows = size.n * size.oh * size.ow
        let windows = size.whole(x, b, product: false)
        // Where each window's first cell is, and where its cells lie from there, in the gathered order.
        let offsets = size.cellOffsets, starts = size.windowStarts
        for level in 0...kiln_cpu_simd_level() {
            var gathered = [Float](repeating: .nan, count: rows * size.cols)
            kiln_gemm_narrow_at(level, 0, Int64(rows), Int64(size.cols), Int64(size.length), windows, b, nil, nil, &gathered)
            var inPlace = [Float](repeating: .nan, count: rows * size.cols)
            x.withUnsafeBufferPointer { image in
                let pointers: [UnsafePointer<Float>?] = starts.map { image.baseAddress! + $0 }
                kiln_gemm_narrow_rows_at(level, Int64(rows), Int64(size.cols), Int64(size.length), pointers, offsets, b, &inPlace)
            }
            let differing = zip(inPlace, gathered).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "level \(level), \(size): \(differing) of \(rows * size.cols) elements differ")
        }
    }

    @Test("the transposed product of windows read in place, chunk after chunk, sums as the transposed narrow tiles do, on every instruction set",
          arguments: [Case(n: 2, h: 12, w: 12, c: 32, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0,
                           cols: 64),
                      Case(n: 3, h: 9, w: 8, c: 1, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, top: 0, left: 0, bottom: 0, right: 0,
                           cols: 5),
                      Case(n: 2, h: 11, w: 9, c: 3, kh: 2, kw: 3, sh: 2, sw: 1, dh: 2, dw: 2, top: 0, left: 0, bottom: 0, right: 0,
                           cols: 70)])
    func transposedWindowsReadInPlace(_ size: Case) throws {
        let (x, _) = try size.operands(seed: size.h * 7 + size.cols)
        let rows = size.n * size.oh * size.ow
        var generator = SeededGenerator(seed: UInt64(size.cols))
        let dz = try Tensor.randomUniform(shape: [rows * size.cols], lower: -1, upper: 1, using: &generator).scalars
        let windows = size.whole(x, [], product: false)
        let offsets = size.cellOffsets, starts = size.windowStarts
        let cells = size.length
        for level in 0...kiln_cpu_simd_level() {
            var gathered = [Float](repeating: .nan, count: cells * size.cols)
            kiln_gemm_narrow_at(level, 1, Int64(cells), Int64(size.cols), Int64(rows), windows, dz, nil, nil, &gathered)
            // Chunks of 7 windows, each going on with the sums of the ones before; the cells in two ranges.
            var inPlace = [Float](repeating: .nan, count: cells * size.cols)
            x.withUnsafeBufferPointer { image in
                dz.withUnsafeBufferPointer { gradient in
                    for first in stride(from: 0, to: rows, by: 7) {
                        let count = min(7, rows - first)
                        let pointers: [UnsafePointer<Float>?] = starts[first..<(first + count)].map { image.baseAddress! + $0 }
                        for (p0, p1) in [(0, cells / 2), (cells / 2, cells)] {
                            kiln_gemm_narrow_rows_t_at(level, Int64(p0), Int64(p1), Int64(size.cols), Int64(count), pointers, offsets,
                                                       gradient.baseAddress! + first * size.cols, first > 0 ? 1 : 0, &inPlace)
                        }
                    }
                }
            }
            let differing = zip(inPlace, gathered).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "level \(level), \(size): \(differing) of \(cells * size.cols) elements differ")
        }
    }

    @Test("kiln_gemm_windows_t is the transposed product of kiln_patches' rows, summed in the windows' order in two halves",
          arguments: cases)
    func transposedProductOfWindows(_ size: Case) throws {
        let (x, _) = try size.operands(seed: size.h * 3 + size.cols)
        let rows = size.n * size.oh * size.ow, cells = size.length
        var generator = SeededGenerator(seed: UInt64(size.cols + 1))
        let dz = try Tensor.randomUniform(shape: [max(rows, 1) * size.cols], lower: -1, upper: 1, using: &generator).scalars
        let windows = size.whole(x, [], product: false)
        var got = [Float](repeating: .nan, count: cells * size.cols), second = got
        kiln_gemm_windows_t(Int64(size.n), Int64(size.h), Int64(size.w), Int64(size.c), Int64(size.kh), Int64(size.kw), Int64(size.sh),
                            Int64(size.sw), Int64(size.dh), Int64(size.dw), Int64(size.top), Int64(size.left), Int64(size.oh),
                            Int64(size.ow), size.pad, x, Int64(size.cols), dz, &got, &second)
        // The transposed narrow tiles over each half of the gathered rows, then the halves' sum.
        func sums(_ first: Int, _ count: Int) -> [Float] {
            var y = [Float](repeating: 0, count: cells * size.cols)
            guard count > 0 else { return y }
            let level = kiln_cpu_simd_level()
            Array(windows[(first * cells)..<((first + count) * cells)]).withUnsafeBufferPointer { a in
                Array(dz[(first * size.cols)..<((first + count) * size.cols)]).withUnsafeBufferPointer { b in
                    kiln_gemm_narrow_at(level, 1, Int64(cells), Int64(size.cols), Int64(count), a.baseAddress!, b.baseAddress!, nil, nil, &y)
                }
            }
            return y
        }
        let expected = zip(sums(0, rows / 2), sums(rows / 2, rows - rows / 2)).map { $0 + $1 }
        if cells <= 1024 {
            let differing = zip(got, expected).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(size): \(differing) of \(cells * size.cols) elements differ")
        } else {
            // Windows longer than the kernel reads in place are summed cell by cell.
            let worst = zip(got, expected).map { abs(Double($0) - Double($1)) / max(1, abs(Double($1))) }.max() ?? 0
            #expect(worst < 1e-4, "\(size): relative error \(worst)")
        }
    }

    @Test("a training step's forward product and filter gradient both read the windows in place, which are never written",
          arguments: [([9, 9, 1], [3, 3, 1, 8], false), ([7, 7, 5], [3, 3, 5, 16], false), ([10, 10, 3], [3, 3, 3, 16], true)])
    func trainingStepsReadWindowsInPlace(image: [Int], filter: [Int], pooled: Bool) throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: UInt64(filter.reduce(0, +)))
        let x = try graph.placeholder("x", shape: Shape([.batch] + image.map { .size($0) }))
        let w = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: filter, lower: -0.5, upper: 0.5, using: &generator))
        let bias = try graph.variable("b", initialValue: try Tensor.randomUniform(shape: [filter[3]], lower: -0.5, upper: 0.5,
                                                                                   using: &generator))
        // An image the program computes, in the arena: it must stay there until the product has read it.
        // Pooled, the product's kernel is its bias, relu and pooling, chunk by chunk of rows;
        // otherwise the loss's square joins it and the product is one call.
        let activation = try relu(try conv2d(tanh(x * 1.5), w) + bias)
        let y = pooled ? try maxPool2d(activation, size: [2, 2], stride: [2, 2]) : activation
        let loss = try sum(square(y))
        let gradients = try graph.gradients(of: loss, wrt: [w, bias])
        let outputs = ["loss": loss, "y": y, "dw": gradients[0], "db": gradients[1]]
        let jit = try JITProgram(graph: graph, outputs: outputs)
        let source = jit.lowered.unit.source, text = jit.lowered.function.text
        #expect(!source.contains("kiln_patches("), "\(source)")
        #expect(source.contains(pooled ? "kiln_gemm_window_rows(" : "kiln_gemm_windows("), "\(source)")
        // Pooled, the filter gradient also makes the pooling's gradient as it sums it.
        #expect(source.contains(pooled ? "kiln_pooled_filter_gradient(" : "kiln_gemm_windows_t("), "\(source)")
        #expect(text.components(separatedBy: "# reads the windows of %").count == 3, "\(text)")
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        for batch in [0, 1, 5] {
            let feeds = ["x": try Tensor.randomUniform(shape: [batch] + image, lower: -1, upper: 1, using: &generator)]
            let got = try jit.run(feeds: feeds), expected = try reference.run(feeds: feeds)
            for name in outputs.keys.sorted() {
                expectClose(try #require(got[name]), try #require(expected[name]), rtol: 1e-4, atol: 1e-4, "\(name) at batch \(batch)")
            }
        }
    }

    @Test("windows whose rows are a result are written, and the products beside them still agree with the interpreter")
    func windowsThatAreAResultAreWritten() throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: 43)
        let x = try graph.placeholder("x", shape: [.batch, 6, 6, 2])
        let w = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: [18, 4], lower: -0.5, upper: 0.5, using: &generator))
        let windows = try patches(x, window: PatchWindow(size: [3, 3], stride: [1, 1], padding: .valid, imageSize: [6, 6]))
        let rows = try reshape(windows, to: [.batch, 16, 18])
        let y = try matmul(rows, w)
        let outputs = ["rows": rows, "dw": try graph.gradients(of: try sum(square(y)), wrt: [w])[0]]
        let jit = try JITProgram(graph: graph, outputs: outputs)
        #expect(jit.lowered.unit.source.contains("kiln_patches("), "\(jit.lowered.unit.source)")
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        for batch in [0, 3] {
            let feeds = ["x": try Tensor.randomUniform(shape: [batch, 6, 6, 2], lower: -1, upper: 1, using: &generator)]
            let got = try jit.run(feeds: feeds), expected = try reference.run(feeds: feeds)
            for name in outputs.keys.sorted() {
                expectClose(try #require(got[name]), try #require(expected[name]), rtol: 1e-5, atol: 1e-5, "\(name) at batch \(batch)")
            }
        }
    }

    /// A convolution with bias and relu, forward only, and its compiled program.
    private func forward(_ x: [Dim], filter: [Int], stride: [Int] = [1, 1], padding: Padding = .valid,
                         dilation: [Int] = [1, 1]) throws -> (Graph, Node, JITProgram) {
        let graph = Graph()
        var generator = SeededGenerator(seed: UInt64(filter.reduce(0, +)))
        let images = try graph.placeholder("x", shape: Shape(x))
        let w = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: filter, lower: -0.5, upper: 0.5, using: &generator))
        let bias = try graph.variable("b", initialValue: try Tensor.randomUniform(shape: [filter[3]], lower: -0.5, upper: 0.5,
                                                                                   using: &generator))
        let y = try relu(try conv2d(images, w, stride: stride, padding: padding, dilation: dilation) + bias)
        return (graph, y, try JITProgram(graph: graph, outputs: ["y": y]))
    }

    @Test("a convolution run forward gathers its windows and agrees with the interpreter",
          arguments: [([7, 6, 3], [3, 3, 3, 5], [2, 2], Padding.same, [1, 1]),
                      ([9, 9, 1], [3, 2, 1, 16], [1, 1], .valid, [2, 3]),
                      ([28, 28, 1], [3, 3, 1, 32], [1, 1], .valid, [1, 1]),
                      ([13, 13, 32], [3, 3, 32, 64], [1, 1], .same, [1, 1])])
    func forwardProgramsGatherTheirWindows(image: [Int], filter: [Int], stride: [Int], padding: Padding, dilation: [Int]) throws {
        let (graph, y, jit) = try forward([.batch] + image.map { .size($0) }, filter: filter, stride: stride, padding: padding,
                                          dilation: dilation)
        let source = jit.lowered.unit.source
        #expect(source.contains("kiln_gemm_window_rows("), "\(source)")
        #expect(!source.contains("kiln_patches("), "\(source)")
        #expect(jit.lowered.function.text.contains("# windows gathered by %"), "\(jit.lowered.function.text)")
        let reference = try InterpreterProgram(graph: graph, outputs: ["y": y])
        var generator = SeededGenerator(seed: 41)
        for batch in [0, 1, 5] {
            let feeds = ["x": try Tensor.randomUniform(shape: [batch] + image, lower: -1, upper: 1, using: &generator)]
            expectClose(try #require(try jit.run(feeds: feeds)["y"]), try #require(try reference.run(feeds: feeds)["y"]),
                        rtol: 1e-5, atol: 1e-5, "y at batch \(batch)")
        }
    }

    @Test("windows a product too wide for the narrow kernel reads, forward or transposed, are written as before")
    func otherWindowsAreWritten() throws {
        let (_, _, wide) = try forward([.batch, 6, 6, 2], filter: [3, 3, 2, 65])
        #expect(wide.lowered.unit.source.contains("kiln_patches("))
        #expect(!wide.lowered.unit.source.contains("kiln_gemm_window"))

        let graph = Graph()
        let x = try graph.placeholder("x", shape: [.batch, 6, 6, 2])
        let w = try graph.variable("w", initialValue: try Tensor.zeros(shape: [3, 3, 2, 65]))
        let loss = try sum(square(conv2d(x, w)))
        let training = try JITProgram(graph: graph, outputs: ["dw": try graph.gradients(of: loss, wrt: [w])[0]])
        #expect(training.lowered.unit.source.contains("kiln_patches("), "a filter gradient too wide reads written windows")
        #expect(!training.lowered.unit.source.contains("kiln_gemm_window"))
    }
}
