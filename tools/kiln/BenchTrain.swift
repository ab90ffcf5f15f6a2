import ArgumentParser
import Kiln

/// `kiln bench train`: Keras-style training throughput, first-step latency and
/// single-sample predict latency for two workloads.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training samples/s, first-step latency and 1-sample predict latency (tabular, mlp784, convnet, lstm, gru).")

    @Option(help: "Epochs per workload; the first is excluded from the samples/s median.") var epochs = 6
    @Option(help: "Fresh models timed for the first-step latency (the median is printed).") var repeats = 5
    @Option(help: "The backend: jit or interpreter.") var backend = "jit"
    @Option(help: "Run only this workload (tabular, mlp784, convnet, lstm or gru).") var workload: String?
    @Flag(help: "Also time each kernel of the training step and show where a step's time goes.") var profile = false
    @Option(help: "Kernels listed in each profile, slowest first.") var kernels = 8
    @Option(help: "Save each workload's trained model as DIR/WORKLOAD.kiln (to export or compare it).") var save: String?

    func validate() throws {
        guard epochs >= 2 else { throw ValidationError("--epochs must be at least 2: the first epoch is not timed") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        #if DEBUG
        print("note: this is a debug build; benchmark figures come from `swift run -c release kiln bench train`")
        #endif
        let backend = try Backend(named: self.backend)
        print(Peak.line)
        print("workload    samples   batch   samples/s (median)   first step   predict 1 sample   GEMM work in training")
        let workloads = [
            Workload(name: "tabular", sizes: [2, 16, 8, 1], samples: 200_000, batch: 32),
            Workload(name: "mlp784", sizes: [784, 256, 128, 10], samples: 30_000, batch: 128),
            Workload(name: "convnet", sizes: [784, 10], samples: 12_800, batch: 128, image: 28),
            Workload(name: "lstm", sizes: [32, 1], samples: 6_400, batch: 64, recurrent: "lstm"),
            Workload(name: "gru", sizes: [32, 1], samples: 6_400, batch: 64, recurrent: "gru"),
        ]
        let chosen = workloads.filter { workload == nil || $0.name == workload }
        guard !chosen.isEmpty else {
            throw ValidationError("unknown workload \(String(reflecting: workload ?? "")); choose tabular, mlp784, convnet, lstm or gru")
        }
        var profiles: [String] = [], floors: [String] = []
        for item in chosen {
            let (model, stepSeconds, predictSeconds, x, y) = try bench(item, backend: backend)
            if let save { try model.save(to: "\(save)/\(item.name).kiln") }
            let weights = model.layers.reduce(0) { $0 + $1.parameterCount }
            let predictor = try predictorSeconds(model, Array(try x.rows(0..<1).scalars), calls: 2000)
            floors.append("predict 1 sample, \(item.name): \(microseconds(predictor)) through a Predictor; "
                          + Peak.readFloor(bytes: weights * MemoryLayout<Float>.size))
            if profile {
                profiles.append(try StepProfile.measure(item, model: model, fitStepSeconds: stepSeconds, x: x, y: y, listed: kernels))
                profiles.append(try StepProfile.measurePredict(item, model: model, predictSeconds: predictSeconds, x: x, listed: kernels))
            }
        }
        for line in floors { print(line) }
        for text in profiles { print("\n" + text, terminator: "") }
    }

    struct Workload {
        let name: String
        let sizes: [Int]
        let samples: Int
        let batch: Int
        /// The side of square grey images (the sample is `[image, image, 1]`), or 0 for vectors.
        var image = 0
        /// `lstm` or `gru` for sequences of ``steps`` steps of `sizes[0]` features into 64 units.
        var recurrent: String? = nil
        /// The steps of a recurrent workload's sequences.
        let steps = 100

        var classes: Int { sizes.last ?? 1 }

        /// 2-16-8-1 with relu and sigmoid for binary crossentropy, or relu layers and softmax
        /// for sparse categorical crossentropy; for images, the classic Keras convnet
        /// (Examples/FashionMNIST); for sequences, LSTM or GRU of 64 units and Dense(1) with
        /// mean squared error; Adam.
        func model(backend: Backend) -> Model {
            var elements: [any SequentialElement]
            if let recurrent {
                let model = Sequential([Input(shape: [steps, sizes[0]]), recurrent == "gru" ? GRU(64) : LSTM(64), Dense(1)])
                model.compile(optimizer: Adam(), loss: .meanSquaredError, backend: backend)
                return model
            }
            if image > 0 {
                elements = [Input(shape: [image, image, 1]), Conv2D(32, kernelSize: [3], activation: .relu),
                            MaxPooling2D(poolSize: [2]), Conv2D(64, kernelSize: [3], activation: .relu),
                            MaxPooling2D(poolSize: [2]), Flatten(), Dropout(0.5)]
            } else {
                elements = [Input(shape: [sizes[0]])]
                for size in sizes.dropFirst().dropLast() { elements.append(Dense(size, activation: .relu)) }
            }
            elements.append(Dense(classes, activation: classes == 1 ? .sigmoid : .softmax))
            let model = Sequential(elements)
            model.compile(optimizer: Adam(), loss: classes == 1 ? .binaryCrossentropy : .sparseCategoricalCrossentropy,
                          metrics: [.accuracy], backend: backend)
            return model
        }

        /// Random inputs in [-1, 1) and labels from a fixed random linear rule.
        func data() throws -> (Tensor, Tensor) {
            var generator = SeededGenerator(seed: 7)
            if recurrent != nil {
                // Targets: the mean over the steps of a fixed random projection of the features.
                let x = try Tensor.randomUniform(shape: [samples, steps, sizes[0]], lower: -1, upper: 1, using: &generator)
                let rule = (0..<sizes[0]).map { _ in generator.nextNormal() }
                let values = x.scalars, width = steps * sizes[0]
                let y = (0..<samples).map { row in
                    (0..<width).reduce(Float(0)) { $0 + values[row * width + $1] * rule[$1 % sizes[0]] } / Float(steps)
                }
                return (x, try Tensor(shape: [samples, 1], scalars: y))
            }
            let shape = image > 0 ? [samples, image, image, 1] : [samples, sizes[0]]
            let x = try Tensor.randomUniform(shape: shape, lower: image > 0 ? 0 : -1, upper: 1, using: &generator)
            let rule = (0..<(sizes[0] * Swift.max(classes, 2))).map { _ in generator.nextNormal() }
            let values = x.scalars
            var labels: [Float] = []
            for row in 0..<samples {
                let scores = (0..<Swift.max(classes, 2)).map { k in
                    (0..<sizes[0]).reduce(Float(0)) { $0 + values[row * sizes[0] + $1] * rule[k * sizes[0] + $1] }
                }
                let best = scores.indices.max { scores[$0] < scores[$1] } ?? 0
                labels.append(classes == 1 ? (scores[0] > 0 ? 1 : 0) : Float(best))
            }
            return (x, try Tensor(shape: classes == 1 ? [samples, 1] : [samples], scalars: labels))
        }
    }

    /// The matrix-product FLOPs of one training step of `batch` samples.
    private func trainingFLOPs(_ model: Model, batch: Int) throws -> Double {
        let step = try model.graph(for: .train)
        return try Peak.matmulFLOPs(step.graph, outputs: step.outputs, batch: batch)
    }

    /// Records each epoch's wall time.
    final class EpochTimer: Callback {
        var start = ContinuousClock.now
        var seconds: [Double] = []
        func onEpochBegin(_ epoch: Int, model: Model) throws { start = ContinuousClock.now }
        func onEpochEnd(_ epoch: Int, logs: [String: Float], model: Model) throws { seconds.append(elapsed(since: start)) }
    }

    /// Prints the workload's row; returns the trained model, the median seconds of one
    /// `fit` step and of one single-sample `predict`, and the data.
    private func bench(_ workload: Workload, backend: Backend) throws -> (Model, Double, Double, Tensor, Tensor) {
        let (x, y) = try workload.data()
        Kiln.setRandomSeed(1)

        var firstSteps: [Double] = []
        let firstX = try x.rows(0..<workload.batch), firstY = try y.rows(0..<workload.batch)
        for _ in 0..<repeats {
            let model = workload.model(backend: backend)
            let start = ContinuousClock.now
            try model.trainOnBatch(firstX, firstY)
            firstSteps.append(elapsed(since: start))
        }

        let model = workload.model(backend: backend)
        let timer = EpochTimer()
        try model.fit(x, y, batchSize: workload.batch, epochs: epochs, verbose: 0, callbacks: [timer])
        let throughput = Double(workload.samples) / median(Array(timer.seconds.dropFirst()))

        let one = try x.rows(0..<1)
        _ = try model.predict(one)
        var predictTimes: [Double] = []
        for _ in 0..<9 {
            let start = ContinuousClock.now
            for _ in 0..<2000 { _ = try model.predict(one) }
            predictTimes.append(elapsed(since: start) / 2000)
        }
        print(pad(workload.name, 10) + pad(String(workload.samples), 10, right: true) + pad(String(workload.batch), 8, right: true)
              + pad(rate(throughput), 21, right: true) + pad(milliseconds(median(firstSteps)), 13, right: true)
              + pad(microseconds(median(predictTimes)), 19, right: true)
              + "   " + Peak.share(try trainingFLOPs(model, batch: workload.batch) * throughput / Double(workload.batch) / 1e9))
        let steps = (workload.samples + workload.batch - 1) / workload.batch
        return (model, Double(workload.samples) / throughput / Double(steps), median(predictTimes), x, y)
    }
}
