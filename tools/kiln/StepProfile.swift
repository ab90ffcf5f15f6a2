import Kiln

/// `kiln bench train --profile`: where one training step's time goes, and one single-sample
/// prediction's. The model's program is compiled again with every kernel timed
/// (`KILN_PROFILE=1`) and run on the workload's data; the table shows each category of
/// kernel, the program's own run (timed just before the kernels) and its time outside them
/// (binding feeds), and the rest of a `fit` step or `predict` call (batching, shuffling,
/// metrics, checks).
enum StepProfile {
    static let steps = 300

    /// The training step at the workload's batch size; `fitStepSeconds` is one `fit` step.
    static func measure(_ workload: BenchTrain.Workload, model: Model, fitStepSeconds: Double,
                        x: Tensor, y: Tensor, listed: Int) throws -> String {
        guard let input = model.inputs.first?.name else { return "" }
        let batches = try (0..<(workload.samples / workload.batch)).map { b -> [String: Tensor] in
            let rows = (b * workload.batch)..<((b + 1) * workload.batch)
            return [input: try x.rows(rows), ModelStep.targetFeed: try y.rows(rows),
                    ModelStep.sampleWeightFeed: try Tensor(shape: [workload.batch], repeating: Float(1))]
        }
        let (graph, outputs) = try model.graph(for: .train)
        return try profile(graph: graph, outputs: outputs, feeds: batches, steps: steps, callSeconds: fitStepSeconds,
                           title: "\(workload.name) training step, batch \(workload.batch)", call: "fit step", listed: listed)
    }

    /// One single-sample prediction; `predictSeconds` is one `predict` call.
    static func measurePredict(_ workload: BenchTrain.Workload, model: Model, predictSeconds: Double,
                               x: Tensor, listed: Int) throws -> String {
        guard let input = model.inputs.first?.name else { return "" }
        let (graph, outputs) = try model.graph(for: .predict)
        return try profile(graph: graph, outputs: outputs, feeds: [[input: try x.rows(0..<1)]], steps: 20 * steps,
                           callSeconds: predictSeconds, title: "\(workload.name) predict, 1 sample", call: "predict call",
                           listed: listed)
    }

    private static func profile(graph: Graph, outputs: [String: Node], feeds: [[String: Tensor]], steps: Int,
                                callSeconds: Double, title: String, call: String, listed: Int) throws -> String {
        let profiling = DebugSwitches { $0 == "KILN_PROFILE" ? "1" : nil }
        let program = try JITProgram(graph: graph, outputs: outputs, switches: profiling)
        let plain = try JITProgram(graph: graph, outputs: outputs, switches: DebugSwitches { _ in nil })
        func time(_ program: JITProgram) throws -> Double {
            for step in 0..<20 { _ = try program.run(feeds: feeds[step % feeds.count]) }
            program.resetKernelProfile()
            let start = ContinuousClock.now
            for s in 0..<steps { _ = try program.run(feeds: feeds[s % feeds.count]) }
            return elapsed(since: start) / Double(steps)
        }
        let plainSeconds = try time(plain), profiledSeconds = try time(program)
        guard let profile = program.kernelProfile(), profile.calls > 0 else { return "" }
        let calls = Double(profile.calls)
        let overhead = Swift.max(0, profiledSeconds - plainSeconds)
        let kernelSeconds = profile.seconds / calls

        var out = "\(title): \(profile.kernels.count) kernels, "
            + "\(steps) profiled runs (timing them added \(microseconds(overhead)) per run)\n"
        func row(_ label: String, _ seconds: Double, indent: Int = 2) {
            out += String(repeating: " ", count: indent) + pad(label, 46 - indent) + pad(microseconds(seconds), 12, right: true)
                + pad(fixed(100 * seconds / callSeconds, 1) + "%", 8, right: true) + "\n"
        }
        row("\(call) (measured above)", callSeconds)
        row("in the kernels", kernelSeconds)
        for category in KernelCategory.allCases {
            let seconds = profile.seconds(in: category) / calls
            if seconds > 0 { row(category.rawValue, seconds, indent: 4) }
        }
        row("copying assigned values", profile.assignSeconds / calls, indent: 4)
        // The call was measured before this profile, and the machine's speed can drift in
        // between: the program alone is timed here, just before the kernels, so the time it
        // spends outside them is a difference of two figures of the same moment.
        row("the program alone (measured here)", plainSeconds)
        row("of which outside the kernels (feeds)", Swift.max(0, plainSeconds - (kernelSeconds - overhead)), indent: 4)
        row("\(call) beyond it (batches, checks)", Swift.max(0, callSeconds - plainSeconds), indent: 4)
        out += "  slowest kernels:\n"
        for kernel in profile.kernels.sorted(by: { $0.seconds > $1.seconds }).prefix(listed) {
            let detail = kernel.lines.first(where: { $0.contains(" matmul ") }) ?? kernel.lines.last ?? ""
            row(kernel.name, kernel.seconds / calls, indent: 4)
            let share = kernel.category == .gemm || kernel.gemmSeconds == 0 ? ""
                : "GEMM \(microseconds(kernel.gemmSeconds / calls)), \(kernel.category.rawValue) the rest; "
            out += "      " + share + String(detail.prefix(72)) + "\n"
        }
        return out
    }
}
