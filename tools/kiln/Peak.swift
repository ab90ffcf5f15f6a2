import Kiln
import KilnKernels

/// The machine's measured peaks (Kernels/peak.c), which benchmarks state their GFLOP/s and
/// single-sample latencies against, and the matrix-product FLOPs of a graph.
enum Peak {
    /// GFLOP/s of FMAs on the widest vectors on every core: the best of 7 runs of 0.1 s,
    /// measured once per process (a core lent to another process in one run does not count).
    static let allCores = (0..<7).map { _ in kiln_peak_gflops(0, 0.1) }.max() ?? 0
    /// The same on one core.
    static let oneCore = (0..<7).map { _ in kiln_peak_gflops(1, 0.1) }.max() ?? 0

    /// `machine peak: 380 GFLOP/s on 2 cores (190 on one), an FMA loop from registers`.
    static var line: String {
        "machine peak: \(fixed(allCores, 0)) GFLOP/s on every core (\(fixed(oneCore, 0)) on one), "
            + "fused multiply-adds on the widest vectors from registers"
    }

    /// GB/s of reading `bytes` that stay in the caches, split between every core (or on one):
    /// the best of 7 runs of 20 ms.
    static func readGBps(bytes: Int, everyCore: Bool = true) -> Double {
        (0..<7).map { _ in kiln_peak_read_gbps(everyCore ? 0 : 1, Int64(bytes), 0.02) }.max() ?? 0
    }

    /// `reading its 0.94 MB of weights once takes at least 5.4 µs (174 GB/s from the caches of
    /// every core; 88 on one)`: the floor of a single-sample prediction, which reads every weight.
    static func readFloor(bytes: Int) -> String {
        let all = readGBps(bytes: bytes), one = readGBps(bytes: bytes, everyCore: false)
        let size = bytes >= 100_000 ? "\(fixed(Double(bytes) / 1e6, 2)) MB" : "\(fixed(Double(bytes) / 1e3, 1)) kB"
        let nanoseconds = Double(bytes) / all
        let floor = nanoseconds >= 1000 ? "\(fixed(nanoseconds / 1e3, 1)) µs" : "\(fixed(nanoseconds, 0)) ns"
        return "reading its \(size) of weights once takes at least \(floor) (\(fixed(all, 0)) GB/s from the caches of "
            + "every core; \(fixed(one, 0)) on one)"
    }

    /// `121 GFLOP/s = 32% of peak`.
    static func share(_ gflops: Double) -> String {
        "\(fixed(gflops, gflops < 10 ? 1 : 0)) GFLOP/s = \(fixed(100 * gflops / allCores, 1))% of peak"
    }

    /// The FLOPs of the matrix products a program of `graph` computing `outputs` (and running
    /// every assign) runs at batch size `batch`, loops' bodies once per step: those of the
    /// function the optimizer's rewriting passes make, as the program runs it
    /// (``Function/matmulFLOPs(batch:)``).
    static func matmulFLOPs(_ graph: Graph, outputs: [String: Node], batch: Int) throws -> Double {
        let function = try Function(graph: graph, outputs: outputs)
        return try Pipeline.optimize(function, upTo: "eliminate-dead-code").matmulFLOPs(batch: batch)
    }
}
