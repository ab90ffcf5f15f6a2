import KilnGraph
import KilnInterpreter
import KilnJIT
import KilnKernels
import KilnTestSupport
import Testing

/// The GEMM libraries behind `kiln_gemm` (Kernels/blas.c): each one that loads computes all
/// four transposition variants correctly, small products go to OpenBLAS and large ones to
/// the chosen library, and the JIT's large products agree with the interpreter.
@Suite("GEMM libraries: every candidate correct, chosen per size")
struct GEMMLibraryTests {
    static let openBLAS = Int32(1)

    @Test("the libraries are oneDNN, OpenBLAS and BLIS; OpenBLAS loads")
    func candidates() {
        let names = (0..<kiln_gemm_library_count()).map { String(cString: kiln_gemm_library_name($0)) }
        #expect(names == ["onednn", "openblas", "blis"])
        #expect(kiln_gemm_library_load(Self.openBLAS) == nil)
        #expect(kiln_gemm_library_chosen() >= 0)
    }

    @Test("small products go to OpenBLAS, large ones to the chosen library")
    func choicePerSize() {
        let limit = kiln_gemm_small_limit()
        #expect(kiln_gemm_library_for(32, 16, 8) == Self.openBLAS)
        #expect(kiln_gemm_library_for(limit, 1, 1) == Self.openBLAS)
        #expect(kiln_gemm_library_for(limit + 1, 1, 1) == kiln_gemm_library_chosen())
        #expect(kiln_gemm_library_for(128, 256, 784) == kiln_gemm_library_chosen())
    }

    @Test("every library that loads computes op(a)·op(b) for all four transpositions",
          arguments: [(false, false), (false, true), (true, false), (true, true)])
    func everyLibraryIsCorrect(transposed: (Bool, Bool)) throws {
        let (m, n, k) = (67, 131, 97)
        var generator = SeededGenerator(seed: 21)
        let a = try Tensor.randomUniform(shape: [m * k], lower: -1, upper: 1, using: &generator).scalars
        let b = try Tensor.randomUniform(shape: [k * n], lower: -1, upper: 1, using: &generator).scalars
        var expected = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                for p in 0..<k {
                    let x = transposed.0 ? a[p * m + i] : a[i * k + p], y = transposed.1 ? b[j * k + p] : b[p * n + j]
                    expected[i * n + j] += Double(x) * Double(y)
                }
            }
        }
        for library in 0..<kiln_gemm_library_count() where kiln_gemm_library_load(library) == nil {
            var c = [Float](repeating: .nan, count: m * n)
            kiln_gemm_library_run(library, transposed.0 ? 1 : 0, transposed.1 ? 1 : 0, Int64(m), Int64(n), Int64(k), a, b, &c)
            let worst = zip(c, expected).map { abs(Double($0) - $1) }.max() ?? .nan
            #expect(worst < 1e-4, "\(String(cString: kiln_gemm_library_name(library))): error \(worst)")
        }
    }

    @Test("OpenBLAS's large products are split between the cores by rows or by columns, for all four transpositions",
          arguments: [(false, false), (false, true), (true, false), (true, true)])
    func splitProductIsCorrect(transposed: (Bool, Bool)) throws {
        for (m, n, k) in [(203, 150, 97), (67, 301, 97)] {
            var generator = SeededGenerator(seed: UInt64(m))
            let a = try Tensor.randomUniform(shape: [m * k], lower: -1, upper: 1, using: &generator).scalars
            let b = try Tensor.randomUniform(shape: [k * n], lower: -1, upper: 1, using: &generator).scalars
            var c = [Float](repeating: .nan, count: m * n)
            kiln_gemm_through(Self.openBLAS, transposed.0 ? 1 : 0, transposed.1 ? 1 : 0, Int64(m), Int64(n), Int64(k), a, b, &c)
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var expected = 0.0
                    for p in 0..<k {
                        let x = transposed.0 ? a[p * m + i] : a[i * k + p], y = transposed.1 ? b[j * k + p] : b[p * n + j]
                        expected += Double(x) * Double(y)
                    }
                    let error = abs(Double(c[i * n + j]) - expected)
                    worst = error.isNaN ? .infinity : max(worst, error)  // NaN: an element no part wrote
                }
            }
            #expect(worst < 1e-4, "[\(m), \(n), \(k)]: error \(worst)")
        }
    }

    @Test("Kiln's narrow GEMM is correct for every tile height, panel width and split, with a as stored or transposed",
          arguments: [(1, 1, 1), (5, 7, 3), (23, 16, 9), (25, 17, 1), (97, 33, 40), (50, 48, 20), (131, 64, 288),
                      (7, 65, 5), (61, 130, 30), (1000, 64, 300), (700, 10, 80), (3, 200, 0), (32, 256, 64),
                      (64, 256, 32), (128, 10, 128)])
    func narrowProduct(size: (m: Int, n: Int, k: Int)) throws {
        let (m, n, k) = size
        var generator = SeededGenerator(seed: UInt64(m * 10_000 + n * 100 + k))
        let a = try Tensor.randomUniform(shape: [m * k], lower: -1, upper: 1, using: &generator).scalars
        let b = try Tensor.randomUniform(shape: [k * n], lower: -1, upper: 1, using: &generator).scalars
        for transposed in [false, true] {
            var c = [Float](repeating: .nan, count: m * n)
            kiln_gemm_narrow(transposed ? 1 : 0, Int64(m), Int64(n), Int64(k), a, b, &c)
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    let expected = (0..<k).reduce(0.0) { sum, p in
                        sum + Double(transposed ? a[p * m + i] : a[i * k + p]) * Double(b[p * n + j])
                    }
                    let error = abs(Double(c[i * n + j]) - expected)
                    worst = max(worst, error)
                    if !(error < 1e-4) {
                        Issue.record("c[\(i), \(j)] of \(size), transposed \(transposed): \(c[i * n + j]) vs \(expected)")
                    }
                }
            }
            #expect(worst < 1e-4)
        }
    }

    @Test("kiln_gemm takes Kiln's own kernel for narrow or short untransposed products and short ones with a transposed, in optimized builds")
    func narrowChoice() {
        #if DEBUG
        let optimized: Int32 = 0  // the kernels are compiled without optimization
        #else
        let optimized: Int32 = 1
        #endif
        #expect(kiln_gemm_narrow_suits(0, 0, 676, 32, 9) == optimized)
        #expect(kiln_gemm_narrow_suits(0, 0, 15488, 64, 288) == optimized)
        #expect(kiln_gemm_narrow_suits(0, 0, 32, 256, 64) == optimized, "a loop step's h·U")
        #expect(kiln_gemm_narrow_suits(1, 0, 64, 256, 32) == optimized, "a loop step's hᵀ·dz")
        #expect(kiln_gemm_narrow_suits(1, 0, 128, 10, 128) == optimized)
        #expect(kiln_gemm_narrow_suits(0, 0, 128, 65, 288) == 0)
        #expect(kiln_gemm_narrow_suits(0, 0, 128, 10, 1600) == 0)
        #expect(kiln_gemm_narrow_suits(1, 0, 784, 256, 128) == 0, "too large: the libraries are faster")
        #expect(kiln_gemm_narrow_suits(1, 0, 288, 64, 15488) == 0, "too deep: a's columns would be read again for every block")
        #expect(kiln_gemm_narrow_suits(0, 1, 128, 10, 128) == 0)
        #expect(kiln_gemm_narrow_suits(0, 0, 1, 64, 288) == 0, "one row is a matrix-vector product")
    }

    @Test("Kiln's matrix-vector product is correct for every width, split between cores or not",
          arguments: [(7, 10), (64, 17), (100, 256), (33, 300), (784, 256), (600, 1000), (1, 16), (128, 10), (9, 1),
                     (5, 271)])
    func matrixVectorProduct(size: (k: Int, n: Int)) throws {
        var generator = SeededGenerator(seed: UInt64(size.k * 1000 + size.n))
        let a = try Tensor.randomUniform(shape: [size.k], lower: -1, upper: 1, using: &generator).scalars
        let b = try Tensor.randomUniform(shape: [size.k * size.n], lower: -1, upper: 1, using: &generator).scalars
        var c = [Float](repeating: .nan, count: size.n)
        kiln_gemv(Int64(size.k), Int64(size.n), a, b, &c)
        for j in 0..<size.n {
            let expected = (0..<size.k).reduce(0.0) { $0 + Double(a[$1]) * Double(b[$1 * size.n + j]) }
            #expect(abs(Double(c[j]) - expected) < 1e-4, "column \(j) of \(size): \(c[j]) vs \(expected)")
        }
    }

    @Test("the narrow GEMM's and the GEMV's variants for each instruction set the CPU has are correct, and those with vectors give the same bits",
          arguments: [(1, 1, 1), (23, 16, 9), (25, 17, 3), (97, 33, 40), (61, 130, 30), (32, 256, 64), (64, 256, 32),
                      (13, 7, 300)])
    func instructionSets(size: (m: Int, n: Int, k: Int)) throws {
        let (m, n, k) = size
        var generator = SeededGenerator(seed: UInt64(m * 7_919 + n * 31 + k))
        let a = try Tensor.randomUniform(shape: [m * k], lower: -1, upper: 1, using: &generator).scalars
        let b = try Tensor.randomUniform(shape: [k * n], lower: -1, upper: 1, using: &generator).scalars
        let d = try Tensor.randomUniform(shape: [m * n], lower: -1, upper: 1, using: &generator).scalars
        let row = try Tensor.randomUniform(shape: [n], lower: -1, upper: 1, using: &generator).scalars
        let variants = [false, true].flatMap { transposed in
            [(transposed, false, false), (transposed, true, false), (transposed, false, true), (transposed, true, true)]
        }
        for (transposed, added, biased) in variants {
            var vectorBits: [UInt32]?
            for level in 0...kiln_cpu_simd_level() {
                var c = [Float](repeating: .nan, count: m * n)
                d.withUnsafeBufferPointer { base in
                    row.withUnsafeBufferPointer { bias in
                        kiln_gemm_narrow_at(level, transposed ? 1 : 0, Int64(m), Int64(n), Int64(k), a, b,
                                            added ? base.baseAddress : nil, biased ? bias.baseAddress : nil, &c)
                    }
                }
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        let start = (added ? Double(d[i * n + j]) : 0) + (biased ? Double(row[j]) : 0)
                        let sum = (0..<k).reduce(start) { sum, p in
                            sum + Double(transposed ? a[p * m + i] : a[i * k + p]) * Double(b[p * n + j])
                        }
                        worst = max(worst, abs(Double(c[i * n + j]) - sum))
                    }
                }
                #expect(worst < 1e-4, "level \(level), \(size), transposed \(transposed), added \(added), biased \(biased): \(worst)")
                guard level > 0 else { continue }
                let bits = c.map(\.bitPattern)
                if let vectorBits { #expect(bits == vectorBits, "level \(level) against level 1, \(size)") }
                vectorBits = vectorBits ?? bits
            }
        }
        var vectorBits: [UInt32]?
        for level in 0...kiln_cpu_simd_level() {
            var c = [Float](repeating: .nan, count: n)
            kiln_gemv_at(level, Int64(k), Int64(n), a, b, &c)
            for j in 0..<n {
                let expected = (0..<k).reduce(0.0) { $0 + Double(a[$1]) * Double(b[$1 * n + j]) }
                #expect(abs(Double(c[j]) - expected) < 1e-4, "GEMV level \(level), column \(j) of \(size)")
            }
            guard level > 0 else { continue }
            let bits = c.map(\.bitPattern)
            if let vectorBits { #expect(bits == vectorBits, "GEMV level \(level) against level 1, \(size)") }
            vectorBits = vectorBits ?? bits
        }
    }

    @Test("the rate of reading cached memory is measured on one core and on every core")
    func cacheReadRate() {
        for threads: Int32 in [1, 0] {
            // A positive figure: its size is the build's (a debug build, whose kernels are not
            // optimised, reads about 1 GB/s; a release build tens of GB/s a core).
            let rate = kiln_peak_read_gbps(threads, 1 << 20, 0.005)
            #expect(rate.isFinite && rate > 0, "\(threads) threads: \(rate) GB/s")
        }
        #expect(kiln_peak_read_gbps(1, 1, 0.001) > 0, "a buffer smaller than one row is read as one row")
    }

    @Test("kiln_gemm_add and Kiln's kernel add op(a)·b to d, into another array or in place",
          arguments: [(64, 256, 32, true), (23, 16, 9, false), (300, 257, 300, false), (1, 20, 5, false),
                      (40, 70, 3, true), (5, 7, 0, false)])
    func productPlusValue(size: (m: Int, n: Int, k: Int, transposed: Bool)) throws {
        let (m, n, k, transposed) = size
        var generator = SeededGenerator(seed: UInt64(m * 10_000 + n * 100 + k))
        let a = try Tensor.randomUniform(shape: [m * k], lower: -1, upper: 1, using: &generator).scalars
        let b = try Tensor.randomUniform(shape: [k * n], lower: -1, upper: 1, using: &generator).scalars
        let d = try Tensor.randomUniform(shape: [m * n], lower: -1, upper: 1, using: &generator).scalars
        let expected = (0..<(m * n)).map { index in
            let (i, j) = index.quotientAndRemainder(dividingBy: n)
            return (0..<k).reduce(Double(d[index])) { sum, p in
                sum + Double(transposed ? a[p * m + i] : a[i * k + p]) * Double(b[p * n + j])
            }
        }
        let (ta, mm, nn, kk) = (Int32(transposed ? 1 : 0), Int64(m), Int64(n), Int64(k))
        // The runtime's kiln_gemm_add, as generated code links it.
        typealias ProductPlusValue = @convention(c) (Int32, Int32, Int64, Int64, Int64, UnsafePointer<Float>?,
                                                     UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void
        let kiln_gemm_add = try runtimeFunction("kiln_gemm_add", as: ProductPlusValue.self)
        var apart = [Float](repeating: .nan, count: m * n), inPlace = d
        kiln_gemm_add(ta, 0, mm, nn, kk, a, b, d, &apart)
        inPlace.withUnsafeMutableBufferPointer { kiln_gemm_add(ta, 0, mm, nn, kk, a, b, $0.baseAddress, $0.baseAddress) }
        var ownApart = [Float](repeating: .nan, count: m * n), ownInPlace = d
        kiln_gemm_narrow_add(ta, mm, nn, kk, a, b, d, &ownApart)
        ownInPlace.withUnsafeMutableBufferPointer { kiln_gemm_narrow_add(ta, mm, nn, kk, a, b, $0.baseAddress, $0.baseAddress) }
        for (name, c) in [("kiln_gemm_add", apart), ("kiln_gemm_add in place", inPlace),
                          ("Kiln's kernel", ownApart), ("Kiln's kernel in place", ownInPlace)] {
            let worst = zip(c, expected).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(worst < 1e-4, "\(name), \(size): off by \(worst)")
        }
        // Kiln's kernel adds d to the sums it stores: the bits of the product, then the sum.
        var product = [Float](repeating: .nan, count: m * n)
        kiln_gemm_narrow(ta, mm, nn, kk, a, b, &product)
        #expect(zip(zip(d, product), ownApart).allSatisfy { $0.0 + $0.1 == $1 }, "\(size)")
    }

    @Test("kiln_gemm_add_row adds a row and a value of the product's shape with the bits of adding them after the product",
          arguments: [(32, 256, 64, false), (23, 16, 9, false), (300, 257, 300, false), (1, 20, 5, false),
                      (40, 70, 3, true), (5, 7, 0, false), (128, 10, 1600, false)])
    func productPlusRow(size: (m: Int, n: Int, k: Int, transposed: Bool)) throws {
        let (m, n, k, transposed) = size
        var generator = SeededGenerator(seed: UInt64(m * 10_000 + n * 100 + k + 7))
        let a = try Tensor.randomUniform(shape: [m * k], lower: -1, upper: 1, using: &generator).scalars
        let b = try Tensor.randomUniform(shape: [k * n], lower: -1, upper: 1, using: &generator).scalars
        let d = try Tensor.randomUniform(shape: [m * n], lower: -1, upper: 1, using: &generator).scalars
        let row = try Tensor.randomUniform(shape: [n], lower: -1, upper: 1, using: &generator).scalars
        let (ta, mm, nn, kk) = (Int32(transposed ? 1 : 0), Int64(m), Int64(n), Int64(k))
        typealias Product = @convention(c) (Int32, Int32, Int64, Int64, Int64, UnsafePointer<Float>?, UnsafePointer<Float>?,
                                            UnsafeMutablePointer<Float>?) -> Void
        typealias ProductPlusRow = @convention(c) (Int32, Int32, Int64, Int64, Int64, UnsafePointer<Float>?,
                                                   UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
                                                   UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void
        let kiln_gemm = try runtimeFunction("kiln_gemm", as: Product.self)
        let kiln_gemm_add_row = try runtimeFunction("kiln_gemm_add_row", as: ProductPlusRow.self)
        // The product as kiln_gemm makes it, then the additions a loop would do after it.
        var product = [Float](repeating: .nan, count: m * n)
        kiln_gemm(ta, 0, mm, nn, kk, a, b, &product)
        for (added, biased) in [(true, true), (false, true), (true, false)] {
            let expected = (0..<(m * n)).map { index in
                let base = added && biased ? d[index] + row[index % n] : added ? d[index] : row[index % n]
                return base + product[index]
            }
            var scratch = [Float](repeating: .nan, count: m * n), c = [Float](repeating: .nan, count: m * n), inPlace = d
            d.withUnsafeBufferPointer { base in
                row.withUnsafeBufferPointer { bias in
                    kiln_gemm_add_row(ta, 0, mm, nn, kk, a, b, added ? base.baseAddress : nil, biased ? bias.baseAddress : nil,
                                      &scratch, &c)
                }
            }
            #expect(c.map(\.bitPattern) == expected.map(\.bitPattern), "\(size), d \(added), row \(biased)")
            guard added else { continue }
            inPlace.withUnsafeMutableBufferPointer { sum in
                row.withUnsafeBufferPointer { bias in
                    kiln_gemm_add_row(ta, 0, mm, nn, kk, a, b, sum.baseAddress, biased ? bias.baseAddress : nil, &scratch,
                                      sum.baseAddress)
                }
            }
            #expect(inPlace.map(\.bitPattern) == expected.map(\.bitPattern), "in place, \(size), row \(biased)")
        }
    }

    @Test("a product plus a bias row, and a step's input plus its bias plus a product, are one kiln_gemm_add_row")
    func productPlusRowIsOneCall() throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: 43)
        let x = try graph.placeholder("x", shape: [.batch, 24])
        let s = try graph.placeholder("s", shape: [.batch, 40])
        let w = try graph.constant(try Tensor.randomUniform(shape: [24, 40], lower: -0.5, upper: 0.5, using: &generator))
        let bias = try graph.placeholder("bias", shape: [40])
        let other = try graph.placeholder("other", shape: [40])
        let kept = try matmul(x, w * 3)
        let outputs = ["dense": try matmul(x, w) + bias, "step": try (s + other) + matmul(x, w * 2),
                       // A product read outside its kernel too is not folded into the sum.
                       "kept": try kept + bias, "product": kept]
        let jit = try JITProgram(graph: graph, outputs: outputs)
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        let source = jit.lowered.unit.source
        let calls = source.components(separatedBy: "kiln_gemm_add_row(0, 0, n, 40, 24, ").count - 1
        #expect(calls == 2, "\(source)")
        for batch in [0, 1, 7, 300] {
            let feeds = ["x": try Tensor.randomUniform(shape: [batch, 24], lower: -1, upper: 1, using: &generator),
                         "s": try Tensor.randomUniform(shape: [batch, 40], lower: -1, upper: 1, using: &generator),
                         "bias": try Tensor.randomUniform(shape: [40], lower: -1, upper: 1, using: &generator),
                         "other": try Tensor.randomUniform(shape: [40], lower: -1, upper: 1, using: &generator)]
            let got = try jit.run(feeds: feeds), want = try reference.run(feeds: feeds)
            for name in outputs.keys {
                expectClose(try #require(got[name]), try #require(want[name]), rtol: 1e-5, atol: 1e-5, "\(name) at batch \(batch)")
            }
        }
    }

    @Test("a product added to a value of its shape is one kiln_gemm_add, unless the sum overwrites an operand")
    func productPlusValueIsOneCall() throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: 41)
        let x = try graph.placeholder("x", shape: [.batch, 24])
        let h = try graph.placeholder("h", shape: [24, 40])
        let c = try graph.placeholder("c", shape: [24, 24])
        let w = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: [24, 40], lower: -0.5, upper: 0.5,
                                                                                 using: &generator))
        // w' = w + c·w: the sum is written in place of w, which the product reads.
        _ = try graph.assign(w, try w + matmul(c, w))
        let outputs = ["y": try h + matmul(x, try matmul(x, h), transposeA: true)]
        let jit = try JITProgram(graph: graph, outputs: outputs)
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        let source = jit.lowered.unit.source
        #expect(source.contains("kiln_gemm_add(1, 0, 24, 40, n, "), "\(source)")
        #expect(!source.contains("kiln_gemm_add(0, 0, 24, 40, 24, "), "\(source)")
        for batch in [0, 1, 7] {
            let feeds = ["x": try Tensor.randomUniform(shape: [batch, 24], lower: -1, upper: 1, using: &generator),
                         "h": try Tensor.randomUniform(shape: [24, 40], lower: -1, upper: 1, using: &generator),
                         "c": try Tensor.randomUniform(shape: [24, 24], lower: -0.2, upper: 0.2, using: &generator)]
            expectClose(try #require(try jit.run(feeds: feeds)["y"]), try #require(try reference.run(feeds: feeds)["y"]),
                        rtol: 1e-5, atol: 1e-5, "y at batch \(batch)")
            expectClose(try jit.variable("w"), try reference.variable("w"), rtol: 1e-5, atol: 1e-6, "w after batch \(batch)")
        }
    }

    @Test("a convolution's kernel gradient is one product over every image's windows, taken from the images")
    func kernelGradientIsOneProduct() throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: 31)
        let x = try graph.placeholder("x", shape: [.batch, 5, 5, 2])
        let w = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: [3, 3, 2, 4], lower: -0.5, upper: 0.5,
                                                                                 using: &generator))
        let loss = try sum(square(conv2d(x, w, padding: .same)))
        let outputs = ["dw": try graph.gradients(of: loss, wrt: [w])[0]]
        let jit = try JITProgram(graph: graph, outputs: outputs)
        let source = jit.lowered.unit.source
        #expect(source.contains("kiln_gemm_windows_t(n, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5, 0.0f, p"), "\(source)")
        #expect(!source.contains("kiln_patches("), "\(source)")
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        for batch in [0, 1, 7] {
            let feeds = ["x": try Tensor.randomUniform(shape: [batch, 5, 5, 2], lower: -1, upper: 1, using: &generator)]
            expectClose(try #require(try jit.run(feeds: feeds)["dw"]), try #require(try reference.run(feeds: feeds)["dw"]),
                        rtol: 1e-5, atol: 1e-5, "dw at batch \(batch)")
        }
    }

    @Test("large products in a compiled program agree with the interpreter, forward and backward")
    func largeProductsThroughTheChosenLibrary() throws {
        let graph = Graph()
        var generator = SeededGenerator(seed: 22)
        let x = try graph.placeholder("x", shape: [.batch, 300])
        let w = try graph.variable("w", initialValue: try Tensor.randomUniform(shape: [300, 257], lower: -0.1, upper: 0.1,
                                                                                 using: &generator))
        let y = try tanh(try matmul(x, w))
        let loss = try sum(square(y))
        let gradients = try graph.gradients(of: loss, wrt: [x, w])
        let outputs = ["y": y, "dx": gradients[0], "dw": gradients[1]]
        let jit = try JITProgram(graph: graph, outputs: outputs)
        let reference = try InterpreterProgram(graph: graph, outputs: outputs)
        for batch in [130, 1] {
            let feeds = ["x": try Tensor.randomUniform(shape: [batch, 300], lower: -1, upper: 1, using: &generator)]
            let expected = try reference.run(feeds: feeds), actual = try jit.run(feeds: feeds)
            for name in outputs.keys.sorted() {
                expectClose(try #require(actual[name]), try #require(expected[name]), rtol: 1e-4, atol: 1e-5, "\(name) at batch \(batch)")
            }
        }
    }
}
