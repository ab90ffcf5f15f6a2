import KilnGraph
import KilnJIT
import KilnKernels
import KilnTestSupport
import Testing

/// A convolution's bias and ReLU max-pooled as its products are made (`kiln_gemm_window_pool`,
/// the forward pass of ``CRenderer/renderWindowPool(_:_:)``): each pixel gets the bits of the
/// window rows' product, `kiln_bias_relu_rows` and the pooling's maximum done one after the
/// other, on every path (windows read in place or gathered, pixels taken whole or cell by cell)
/// and every instruction set.
@Suite("Convolutions pooled as their products are made")
struct WindowPoolTests {
    /// A convolution (as the windowed products' tests take it) and its pooling window.
    struct Case: Sendable, CustomStringConvertible {
        let conv: WindowedProductTests.Case
        let ph, pw: Int
        /// An image element set to NaN, if any.
        var nan: Int? = nil
        var pixels: Int { conv.n * (conv.oh / ph) * (conv.ow / pw) }
        var description: String { "\(conv), pooled \(ph)×\(pw)\(nan == nil ? "" : ", a NaN")" }

        func operands(seed: Int) throws -> (x: [Float], b: [Float], bias: [Float]) {
            var (x, b) = try conv.operands(seed: seed)
            if let nan { x[nan] = .nan }
            var generator = SeededGenerator(seed: UInt64(seed + 1))
            let bias = try Tensor.randomUniform(shape: [max(conv.cols, 1)], lower: -0.5, upper: 0.5, using: &generator).scalars
            return (x, b, bias)
        }

        /// The kernel's pixels (NaN where it writes nothing).
        func pooled(_ x: [Float], _ b: [Float], _ bias: [Float]) -> [Float] {
            let c = conv
            var y = [Float](repeating: .nan, count: max(pixels * c.cols, 1))
            kiln_gemm_window_pool(Int64(c.n), Int64(c.h), Int64(c.w), Int64(c.c), Int64(c.kh), Int64(c.kw), Int64(c.sh),
                                  Int64(c.sw), Int64(c.dh), Int64(c.dw), Int64(c.top), Int64(c.left), Int64(c.oh), Int64(c.ow),
                                  c.pad, x, Int64(c.cols), b, bias, Int64(ph), Int64(pw), &y)
            return y
        }

        /// The product's rows (`kiln_gemm_window_rows`), then `kiln_bias_relu_rows`, then the
        /// maximum over each pooling window with the pooling's rule (the first NaN, or a value
        /// beyond the maximum so far, replaces it).
        func reference(_ x: [Float], _ b: [Float], _ bias: [Float]) -> [Float] {
            let c = conv, rows = c.n * c.oh * c.ow
            var activations = c.rows(x, b, first: 0, count: rows)
            activations.withUnsafeMutableBufferPointer { a in
                kiln_bias_relu_rows_at(kiln_cpu_simd_level(), Int64(rows), Int64(c.cols), a.baseAddress, bias, a.baseAddress, nil)
            }
            var y = [Float](repeating: .nan, count: max(pixels * c.cols, 1))
            let (rowsOut, columnsOut) = (c.oh / ph, c.ow / pw)
            for pixel in 0..<pixels {
                let image = pixel / (rowsOut * columnsOut), py = pixel / columnsOut % rowsOut, px = pixel % columnsOut
                for col in 0..<c.cols {
                    var m = -Float.infinity
                    for a in 0..<ph {
                        for bb in 0..<pw {
                            let v = activations[((image * c.oh + py * ph + a) * c.ow + px * pw + bb) * c.cols + col]
                            if v.isNaN && !m.isNaN || v > m { m = v }
                        }
                    }
                    y[pixel * c.cols + col] = m
                }
            }
            return y
        }
    }

    static func convolution(_ n: Int, _ h: Int, _ w: Int, _ c: Int, window: Int = 3, stride: [Int] = [1, 1],
                            dilation: [Int] = [1, 1], padding: Int = 0, cols: Int) -> WindowedProductTests.Case {
        WindowedProductTests.Case(n: n, h: h, w: w, c: c, kh: window, kw: window, sh: stride[0], sw: stride[1], dh: dilation[0],
                                  dw: dilation[1], top: padding, left: padding, bottom: padding, right: padding, cols: cols)
    }

    static let cases: [Case] = [
        // The Keras convnet's first convolution (after its rows and columns no pooling reads
        // are cut), two images, split between the cores.
        Case(conv: convolution(2, 26, 26, 1, cols: 32), ph: 2, pw: 2),
        // Its second: four registers of filters, a map of 10×10.
        Case(conv: convolution(1, 12, 12, 32, cols: 64), ph: 2, pw: 2),
        // Same padding (windows gathered), a masked register, a map of odd size whose last row
        // and column no pooling window reads.
        Case(conv: convolution(3, 7, 6, 3, padding: 1, cols: 5), ph: 2, pw: 2),
        // A 3×3 pooling (cells four at a time, and one), strides and dilations, 20 filters.
        Case(conv: convolution(2, 17, 15, 2, stride: [1, 2], dilation: [2, 1], cols: 20), ph: 3, pw: 3),
        // A pooling window wider than tall over 70 filters (two panels of 64 and 6).
        Case(conv: convolution(2, 9, 10, 4, cols: 70), ph: 1, pw: 4),
        // More cells than a block takes: each pixel a cell at a time.
        Case(conv: convolution(1, 36, 36, 1, cols: 3), ph: 34, pw: 34),
        // Windows longer than the kernel reads in place (3·3·120 floats), gathered and padded.
        Case(conv: convolution(1, 4, 4, 120, padding: 1, cols: 4), ph: 2, pw: 2),
        // A NaN in an image reaches every pixel whose windows read it.
        Case(conv: convolution(2, 8, 8, 2, cols: 16), ph: 2, pw: 2, nan: 37),
    ]

    @Test("kiln_gemm_window_pool gives each pixel the bits of the product, bias and ReLU, then the pooling", arguments: cases)
    func poolsAsTheyAreMade(_ size: Case) throws {
        try #require(kiln_blas_load() == nil, "the GEMM library the reference's product calls loads")
        let (x, b, bias) = try size.operands(seed: size.conv.h * 31 + size.ph)
        let got = size.pooled(x, b, bias), expected = size.reference(x, b, bias)
        // Kiln's narrow tiles sum each element alone, in order, as the reference's product does
        // where they run it; elsewhere the library's product is within rounding.
        let sameBits = kiln_gemm_narrow_suits(0, 0, 24, Int64(size.conv.cols), Int64(size.conv.length)) != 0
        var differing = 0, worst = 0.0, nans = 0
        for (index, want) in expected.prefix(size.pixels * size.conv.cols).enumerated() {
            let value = got[index]
            if want.isNaN || value.isNaN {
                nans += 1
                if want.isNaN != value.isNaN { Issue.record("\(size), element \(index): \(value) vs \(want)") }
                continue
            }
            if value.bitPattern != want.bitPattern { differing += 1 }
            worst = max(worst, abs(Double(value) - Double(want)) / max(1, abs(Double(want))))
        }
        if sameBits { #expect(differing == 0, "\(size): \(differing) of \(size.pixels * size.conv.cols) values with other bits") }
        #expect(worst < 1e-5, "\(size): relative error \(worst)")
        #expect((nans > 0) == (size.nan != nil), "\(size): \(nans) NaN values")
        if size.conv.ow % size.pw != 0 || size.conv.oh % size.ph != 0 || size.pixels == 0 {
            #expect(got.count == expected.count)
        }
    }

    @Test("an empty batch, and no filters, write nothing")
    func emptyOperands() throws {
        let none = Case(conv: Self.convolution(0, 6, 6, 2, cols: 4), ph: 2, pw: 2)
        #expect(none.pooled([0], [0], [0])[0].isNaN)
        let noFilters = Case(conv: Self.convolution(1, 6, 6, 2, cols: 0), ph: 2, pw: 2)
        #expect(noFilters.pooled([Float](repeating: 1, count: 72), [0], [0])[0].isNaN)
    }

    @Test("kiln_gemm_narrow_pool gives with every instruction set's tiles what the plain C gives, taken whole or in parts",
          arguments: [cases[0], cases[1], cases[3], cases[4]])
    func everyInstructionSet(_ size: Case) throws {
        let c = size.conv
        let (x, b, bias) = try size.operands(seed: c.w * 7 + size.pw)
        // Every pixel's first window and where its cells lie from there, read in place.
        let columnsOut = c.ow / size.pw, rowsOut = c.oh / size.ph
        let firsts = (0..<size.pixels).map { pixel in
            let image = pixel / (rowsOut * columnsOut), py = pixel / columnsOut % rowsOut, px = pixel % columnsOut
            return ((image * c.h + py * size.ph * c.sh) * c.w + px * size.pw * c.sw) * c.c
        }
        let cells = (0..<(size.ph * size.pw)).map { Int64(($0 / size.pw * c.sh * c.w + $0 % size.pw * c.sw) * c.c) }
        let offsets = c.cellOffsets
        func pool(_ level: Int32, parts: Bool) -> [Float] {
            var y = [Float](repeating: .nan, count: size.pixels * c.cols)
            x.withUnsafeBufferPointer { image in
                let at: [UnsafePointer<Float>?] = firsts.map { image.baseAddress! + $0 }
                if !parts {
                    kiln_gemm_narrow_pool(level, Int64(size.pixels), Int64(cells.count), Int64(c.cols), Int64(c.length), at, cells,
                                          offsets, b, 1, 1, bias, &y)
                    return
                }
                // Each pixel's cells one at a time, the running maximum kept in y.
                for cell in cells.indices {
                    kiln_gemm_narrow_pool(level, Int64(size.pixels), 1, Int64(c.cols), Int64(c.length), at, [cells[cell]], offsets,
                                          b, cell == 0 ? 1 : 0, cell == cells.count - 1 ? 1 : 0, bias, &y)
                }
            }
            return y
        }
        let plain = pool(0, parts: false), expected = size.reference(x, b, bias)
        for level in 0...kiln_cpu_simd_level() {
            let whole = pool(level, parts: false), parts = pool(level, parts: true)
            let worst = zip(whole, plain).map { abs(Double($0) - Double($1)) / max(1, abs(Double($1))) }.max() ?? 0
            #expect(worst < 1e-5, "level \(level), \(size): relative error \(worst) from the plain C")
            let split = zip(parts, whole).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(split == 0, "level \(level), \(size): \(split) values with other bits when taken a cell at a time")
            if level == kiln_cpu_simd_level() {
                let differing = zip(whole, expected).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(size): \(differing) values with other bits than the steps one after the other")
            }
        }
    }
}
