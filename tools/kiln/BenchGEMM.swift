import ArgumentParser
import Glibc
import Kiln
import KilnKernels

/// `kiln bench gemm`: every GEMM library Kiln can use, on the products of the mlp784
/// training step (forward, and the transposed products of the backward pass) and on
/// square sizes. The figures decide the order in Kernels/blas.c.
struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Each GEMM library (oneDNN, OpenBLAS, BLIS) and Kiln's own kernel on the products of the tabular, mlp784, convnet and LSTM loop steps, and square sizes.")

    @Option(help: "Rounds per figure (the median is printed).") var repeats = 9

    struct Shape {
        let label: String, transA: Bool, transB: Bool, m: Int, n: Int, k: Int
        var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    }

    /// The products of a 2-16-8-1 (tabular) training step at batch 32.
    static let tabular: [Shape] = [
        Shape(label: "x·W1        [32,2]·[2,16]", transA: false, transB: false, m: 32, n: 16, k: 2),
        Shape(label: "h1·W2       [32,16]·[16,8]", transA: false, transB: false, m: 32, n: 8, k: 16),
        Shape(label: "h2·W3       [32,8]·[8,1]", transA: false, transB: false, m: 32, n: 1, k: 8),
        Shape(label: "g3·W3ᵀ      [32,1]·[8,1]ᵀ", transA: false, transB: true, m: 32, n: 8, k: 1),
        Shape(label: "g2·W2ᵀ      [32,8]·[16,8]ᵀ", transA: false, transB: true, m: 32, n: 16, k: 8),
        Shape(label: "h2ᵀ·g3      [32,8]ᵀ·[32,1]", transA: true, transB: false, m: 8, n: 1, k: 32),
        Shape(label: "h1ᵀ·g2      [32,16]ᵀ·[32,8]", transA: true, transB: false, m: 16, n: 8, k: 32),
        Shape(label: "xᵀ·g1       [32,2]ᵀ·[32,16]", transA: true, transB: false, m: 2, n: 16, k: 32),
    ]

    /// The products in each step of the loop of an LSTM(64) training step (`kiln bench train
    /// --workload lstm`) on one half of a batch of 64, as each core runs them in the loop.
    static let recurrent: [Shape] = [
        Shape(label: "h·U         [32,64]·[64,256]", transA: false, transB: false, m: 32, n: 256, k: 64),
        Shape(label: "dz·Uᵀ       [32,256]·[64,256]ᵀ", transA: false, transB: true, m: 32, n: 64, k: 256),
        Shape(label: "hᵀ·dz       [32,64]ᵀ·[32,256]", transA: true, transB: false, m: 64, n: 256, k: 32),
    ]

    /// The products of the convnet's forward pass (`kiln bench train --workload convnet`: two
    /// 3×3 convolutions as GEMMs of window rows, then the dense layer) for one image and at
    /// batch 128.
    static let convolutional: [Shape] = [
        Shape(label: "conv1 (1)   [676,9]·[9,32]", transA: false, transB: false, m: 676, n: 32, k: 9),
        Shape(label: "conv2 (1)   [121,288]·[288,64]", transA: false, transB: false, m: 121, n: 64, k: 288),
        Shape(label: "conv1 (128) [86528,9]·[9,32]", transA: false, transB: false, m: 86528, n: 32, k: 9),
        Shape(label: "conv2 (128) [15488,288]·[288,64]", transA: false, transB: false, m: 15488, n: 64, k: 288),
        Shape(label: "dense (128) [128,1600]·[1600,10]", transA: false, transB: false, m: 128, n: 10, k: 1600),
    ]

    /// The eight products of one 784-256-128-10 training step at batch 128, then squares.
    static let shapes: [Shape] = [
        Shape(label: "x·W1        [128,784]·[784,256]", transA: false, transB: false, m: 128, n: 256, k: 784),
        Shape(label: "h1·W2       [128,256]·[256,128]", transA: false, transB: false, m: 128, n: 128, k: 256),
        Shape(label: "h2·W3       [128,128]·[128,10]", transA: false, transB: false, m: 128, n: 10, k: 128),
        Shape(label: "g3·W3ᵀ      [128,10]·[10,128]ᵀ", transA: false, transB: true, m: 128, n: 128, k: 10),
        Shape(label: "g2·W2ᵀ      [128,128]·[256,128]ᵀ", transA: false, transB: true, m: 128, n: 256, k: 128),
        Shape(label: "h2ᵀ·g3      [128,128]ᵀ·[128,10]", transA: true, transB: false, m: 128, n: 10, k: 128),
        Shape(label: "h1ᵀ·g2      [128,256]ᵀ·[128,128]", transA: true, transB: false, m: 256, n: 128, k: 128),
        Shape(label: "xᵀ·g1       [128,784]ᵀ·[128,256]", transA: true, transB: false, m: 784, n: 256, k: 128),
        Shape(label: "square 128", transA: false, transB: false, m: 128, n: 128, k: 128),
        Shape(label: "square 512", transA: false, transB: false, m: 512, n: 512, k: 512),
        Shape(label: "square 1024", transA: false, transB: false, m: 1024, n: 1024, k: 1024),
    ]

    func run() throws {
        #if DEBUG
        print("note: this is a debug build; benchmark figures come from `swift run -c release kiln bench gemm`")
        #endif
        if let failure = kiln_blas_load() { throw ValidationError(String(cString: failure)) }
        let libraries = (0..<Int(kiln_gemm_library_count())).map { Int32($0) }
        var usable: [Int32] = []
        for library in libraries {
            let name = String(cString: kiln_gemm_library_name(library))
            if let failure = kiln_gemm_library_load(library) {
                print("\(name): not measured, \(String(cString: failure))")
            } else {
                usable.append(library)
            }
        }
        let chosen = kiln_gemm_library_chosen()
        print("kiln_gemm uses \(String(cString: kiln_gemm_library_name(chosen))); OpenBLAS core \(String(cString: kiln_blas_core_name()))")
        print(Peak.line)
        print("median µs per product (GFLOP/s), \(repeats) rounds\n")
        var header = pad("product", 36)
        for library in usable { header += pad(String(cString: kiln_gemm_library_name(library)), 18, right: true) }
        print(header + pad("kiln own", 18, right: true) + pad("kiln_gemm's choice", 20, right: true))
        print("tabular step (2-16-8-1, batch 32):")
        try table(Self.tabular, usable, totalLabel: "the step's eight products", totalAfter: 7)
        print("one step of an LSTM(64)'s loop, half of a batch of 64:")
        try table(Self.recurrent, usable, totalLabel: "the loop step's three products", totalAfter: 2)
        print("mlp784 step (784-256-128-10, batch 128), then square sizes:")
        try table(Self.shapes, usable, totalLabel: "the step's eight products", totalAfter: 7)
        print("convnet forward pass (28×28×1, conv 32, pool, conv 64, pool, dense 10), one image and batch 128:")
        try table(Self.convolutional, usable, totalLabel: "one image's two convolutions", totalAfter: 1)
        print("kiln_gemm runs with Kiln's own kernel the products neither transposed with n ≤ 64 and k ≤ 1024 or "
              + "m·n·k ≤ 2^20, and those with a transposed with k ≤ 128 and m·n·k ≤ 2^21; "
              + "the other products of m·n·k ≤ \(kiln_gemm_small_limit()) with openblas, the rest with "
              + String(cString: kiln_gemm_library_name(chosen)) + " (unless KILN_GEMM names one)")
    }

    /// One row per shape: each library, then the one `kiln_gemm` runs it with. Each library
    /// is timed on every shape in turn, on every core, the others idle.
    private func table(_ shapes: [Shape], _ usable: [Int32], totalLabel: String, totalAfter: Int) throws {
        var times = [[Double]](repeating: [], count: shapes.count)
        for library in usable {
            // Another library's threads spin for a while after its last product: let them sleep.
            usleep(300_000)
            kiln_gemm_library_all_cores(library, 1)
            defer { kiln_gemm_library_all_cores(library, 0) }
            for (index, shape) in shapes.enumerated() { times[index].append(try time(shape, library: library)) }
        }
        // Kiln's own kernel, on the products it computes (b not transposed).
        usleep(300_000)
        let narrow = try shapes.map { !$0.transB ? try time($0, library: nil) : nil }
        var totals = [Double](repeating: 0, count: usable.count + 2)
        for (index, shape) in shapes.enumerated() {
            var row = pad(shape.label, 36)
            for (column, seconds) in times[index].enumerated() {
                if index <= totalAfter { totals[column] += seconds }
                row += pad(figure(seconds, shape), 18, right: true)
            }
            if index <= totalAfter { totals[usable.count] += narrow[index] ?? .nan }
            row += pad(narrow[index].map { figure($0, shape) } ?? "—", 18, right: true)
            let (m, n, k) = (Int64(shape.m), Int64(shape.n), Int64(shape.k))
            if kiln_gemm_narrow_suits(shape.transA ? 1 : 0, shape.transB ? 1 : 0, m, n, k) != 0, let seconds = narrow[index] {
                if index <= totalAfter { totals[usable.count + 1] += seconds }
                row += pad("kiln own", 20, right: true)
            } else if let column = usable.firstIndex(of: kiln_gemm_library_for(m, n, k)) {
                if index <= totalAfter { totals[usable.count + 1] += times[index][column] }
                row += pad(String(cString: kiln_gemm_library_name(kiln_gemm_library_for(m, n, k))), 20, right: true)
            }
            print(row)
            if index == totalAfter {
                var total = pad(totalLabel, 36)
                for seconds in totals.dropLast() { total += pad(seconds.isNaN ? "—" : microseconds(seconds), 18, right: true) }
                total += pad(microseconds(totals[usable.count + 1]), 20, right: true)
                print(total + "\n")
            }
        }
    }

    /// `3.2 µs (102)`: the time and GFLOP/s; sub-microsecond times with two decimals.
    private func figure(_ seconds: Double, _ shape: Shape) -> String {
        let time = seconds < 1e-6 ? fixed(seconds * 1e6, 2) + " µs" : microseconds(seconds)
        return time + " (" + fixed(shape.flops / seconds / 1e9, shape.flops / seconds < 1e10 ? 1 : 0) + ")"
    }

    /// The median time of one product, from rounds of enough calls to last about 20 ms,
    /// through `library`, or Kiln's own kernel when nil.
    private func time(_ shape: Shape, library: Int32?) throws -> Double {
        var generator = SeededGenerator(seed: 5)
        let a = try Tensor.randomUniform(shape: [shape.m * shape.k], lower: -1, upper: 1, using: &generator).scalars
        let b = try Tensor.randomUniform(shape: [shape.k * shape.n], lower: -1, upper: 1, using: &generator).scalars
        var c = [Float](repeating: 0, count: shape.m * shape.n)
        let calls = max(1, Int(min(200_000, 20e6 / (shape.flops / 100))))  // about 20 ms at 100 GFLOP/s
        let ta: Int32 = shape.transA ? 1 : 0, tb: Int32 = shape.transB ? 1 : 0
        let (m, n, k) = (Int64(shape.m), Int64(shape.n), Int64(shape.k))
        let seconds = medianTime(repeats: repeats) {
            for _ in 0..<calls {
                if let library {
                    kiln_gemm_library_run(library, ta, tb, m, n, k, a, b, &c)
                } else {
                    kiln_gemm_narrow(ta, m, n, k, a, b, &c)
                }
            }
        }
        return seconds / Double(calls)
    }
}
