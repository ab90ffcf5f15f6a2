import KilnSamples
import ArgumentParser
import Kiln
import KilnKernels

/// `kiln bench ...`: benchmarks (build with `-c release`).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks; run a release build: swift run -c release kiln bench MODEL.kiln|kernels|train.",
        subcommands: [BenchModel.self, BenchKernels.self, BenchTrain.self, BenchGEMM.self], defaultSubcommand: BenchModel.self)
}

/// `kiln bench kernels`: GEMM, a fused elementwise chain, and compile time.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Matmul GFLOP/s (JIT vs OpenBLAS called directly), fused elementwise GB/s (JIT vs interpreter), compile time.")

    @Option(help: "Timed repetitions per figure (the median is printed).") var repeats = 9

    func run() throws {
        #if DEBUG
        print("note: this is a debug build; benchmark figures come from `swift run -c release kiln bench kernels`")
        #endif
        if let failure = kiln_blas_load() { throw ValidationError(String(cString: failure)) }
        print("GEMM library: \(String(cString: kiln_gemm_library_name(kiln_gemm_library_chosen()))) "
              + "(OpenBLAS core: \(String(cString: kiln_blas_core_name())); kiln bench gemm compares the libraries)")
        print(Peak.line)
        print("\nmatmul [n,n] x [n,n]      JIT GFLOP/s    OpenBLAS GFLOP/s    JIT/OpenBLAS   JIT of peak")
        for size in [128, 512, 1024] { try benchMatmul(size) }
        try benchElementwise()
        try benchCompile()
    }

    private func median(_ body: () throws -> Void) rethrows -> Double { try medianTime(repeats: repeats, body) }

    /// The same product through a JIT program (result assigned to a variable, so nothing is
    /// copied out to Swift) and through `cblas_sgemm` called directly.
    private func benchMatmul(_ n: Int) throws {
        var generator = SeededGenerator(seed: 1)
        let a = try Tensor.randomUniform(shape: [n, n], lower: -1, upper: 1, using: &generator)
        let b = try Tensor.randomUniform(shape: [n, n], lower: -1, upper: 1, using: &generator)
        let graph = Graph()
        let x = try graph.placeholder("a", shape: [.size(n), .size(n)])
        let w = try graph.variable("b", initialValue: b)
        let out = try graph.variable("c", initialValue: Tensor(shape: [n, n], repeating: Float(0)))
        _ = try graph.assign(out, try matmul(x, w))
        let program = try JITProgram(graph: graph, outputs: [:])
        let feeds = ["a": a]
        let inner = max(1, 200_000_000 / (2 * n * n * n))
        let jit = try median { for _ in 0..<inner { _ = try program.run(feeds: feeds) } } / Double(inner)
        let left = a.scalars, right = b.scalars
        var c = [Float](repeating: 0, count: n * n)
        let direct = median {
            for _ in 0..<inner {
                cblas_sgemm(101, 111, 111, Int32(n), Int32(n), Int32(n), 1, left, Int32(n), right, Int32(n), 0, &c, Int32(n))
            }
        } / Double(inner)
        let flops = 2 * Double(n) * Double(n) * Double(n)
        print("  \(String(n).padding(24))\(fixed(flops / jit / 1e9, 1).padding(15))\(fixed(flops / direct / 1e9, 1).padding(20))"
              + "\(fixed(100 * direct / jit, 1))%".padding(15) + fixed(100 * flops / jit / 1e9 / Peak.allCores, 1) + "%")
    }

    /// Two chains over a million elements, each one fused loop on the JIT: arithmetic as in an
    /// optimizer update, and one dominated by libm's transcendental functions.
    private func benchElementwise() throws {
        let rows = 1024, columns = 1024
        let chains: [(String, (Node) throws -> Node)] = [
            ("relu(x * 0.5 + 1) * x - x / 3 (arithmetic, 6 ops)", { x in try relu(x * 0.5 + 1) * x - x / 3 }),
            ("tanh(x * 0.5 + 1) * sigmoid(x) - x / 3 (libm, 7 ops)", { x in try tanh(x * 0.5 + 1) * sigmoid(x) - x / 3 }),
        ]
        var generator = SeededGenerator(seed: 2)
        let feeds = ["x": try Tensor.randomUniform(shape: [rows, columns], lower: -2, upper: 2, using: &generator)]
        let bytes = Double(rows * columns * 8)
        print("\nfused elementwise chains over \(rows)x\(columns) f32 (GB/s counts one read and one write per element):")
        for (label, build) in chains {
            let graph = Graph()
            let y = try build(try graph.placeholder("x", shape: [.batch, .size(columns)]))
            let jit = try JITProgram(graph: graph, outputs: ["y": y])
            let interpreter = try InterpreterProgram(graph: graph, outputs: ["y": y])
            let jitTime = try median { _ = try jit.run(feeds: feeds) }
            let interpreterTime = try median { _ = try interpreter.run(feeds: feeds) }
            print("  \(label), \(jit.lowered.unit.kernelCount) kernel(s)")
            print("    JIT          \(fixed(bytes / jitTime / 1e9, 2)) GB/s   \(fixed(jitTime * 1e3, 2)) ms")
            print("    interpreter  \(fixed(bytes / interpreterTime / 1e9, 2)) GB/s   \(fixed(interpreterTime * 1e3, 2)) ms")
            print("    speedup      \(fixed(interpreterTime / jitTime, 1))x")
        }
    }

    /// Compiling the 784-256-128-10 training step (forward, loss, backward, Adam).
    private func benchCompile() throws {
        let sample = try SampleGraphs.sample(named: "mlp784-train-adam")
        var last: JITProgram? = nil
        let total = try median { last = try JITProgram(graph: sample.graph, outputs: sample.outputs, switches: DebugSwitches { _ in nil }) }
        guard let program = last else { return }
        let memory = program.lowered.function.memory
        print("\ncompile mlp784-train-adam (784-256-128-10, forward + backward + Adam):")
        print("  \(sample.graph.nodes.count) nodes -> \(program.lowered.unit.kernelCount) kernels, "
              + "\(program.lowered.unit.source.count { $0 == "\n" }) lines of C")
        print("  total \(fixed(total * 1e3, 2)) ms (last run: passes \(fixed(program.lowered.optimizeSeconds * 1e3, 2)) ms, "
              + "C \(fixed(program.lowered.renderSeconds * 1e3, 2)) ms, TinyCC \(fixed(program.unit.compileSeconds * 1e3, 2)) ms)")
        if let memory, let arena = memory.arenaBytes.value(n: 128), let unplanned = memory.unplannedBytes.value(n: 128) {
            print("  arena \(memory.arenaBytes) bytes = \(arena / 1024) KiB at batch 128 (unplanned \(unplanned / 1024) KiB)")
        }

        // A loop compiles once, whatever its length: an LSTM training step at three sequence lengths.
        print("\ncompile an LSTM training step (steps x 32 features, LSTM(64), Dense(1), Adam):")
        print("  steps   compile (median)   lines of C   bytes of C   kernels")
        for steps in [10, 100, 1000] {
            let model = Sequential([Input(shape: [steps, 32]), LSTM(64), Dense(1)])
            model.compile(optimizer: Adam(), loss: .meanSquaredError)
            let (graph, outputs) = try model.graph(for: .train)
            var program: JITProgram? = nil
            let seconds = try median { program = try JITProgram(graph: graph, outputs: outputs, switches: DebugSwitches { _ in nil }) }
            guard let program else { continue }
            let source = program.lowered.unit.source
            print(pad(String(steps), 7, right: true) + pad(fixed(seconds * 1e3, 2) + " ms", 19, right: true)
                  + pad(String(source.count { $0 == "\n" }), 13, right: true) + pad(String(source.utf8.count), 13, right: true)
                  + pad(String(program.lowered.unit.kernelCount), 10, right: true))
        }
    }
}
