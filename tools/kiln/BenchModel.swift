import ArgumentParser
import Kiln
import KilnSamples

/// `kiln bench MODEL.kiln`: how long a saved model takes to compile, predict and train.
struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Time a saved model: compiling, predicting one sample and a batch, one training step.",
        discussion: "Inputs and targets are seeded random values of the model's shapes. Each figure is the median "
            + "of --repeats timed runs after an untimed one; run a release build (swift run -c release kiln bench ...).")

    @Argument(help: "A model file (.kiln).") var path: String
    @Option(help: "The batch size of the batch predictions and the training step.") var batch = 32
    @Option(help: "Timed runs per figure.") var repeats = 9
    @Option(help: "Calls per timed run of the one-sample prediction.") var calls = 1000
    @Option(help: "The backend: jit or interpreter.") var backend = "jit"

    func validate() throws {
        guard batch >= 1, repeats >= 1, calls >= 1 else { throw ValidationError("--batch, --repeats and --calls must be positive") }
    }

    func run() throws {
        #if DEBUG
        print("note: this is a debug build; benchmark figures come from `swift run -c release kiln bench \(path)`")
        #endif
        let backend = try Backend(named: self.backend)
        let model = try Model.load(from: path)
        let subject = try SampleGraph(model: model, step: .predict, name: path)
        print("\(path): \(subject.summary.replacing(", predict step", with: "")); \(backend) backend, batch \(batch)")
        print(Peak.line)
        var generator = SeededGenerator(seed: 1)
        let one = try subject.makeFeeds(batch: 1, using: &generator)
        let many = try subject.makeFeeds(batch: batch, using: &generator)
        let compile = try medianTime(repeats: repeats) { _ = try backend.compile(subject.graph, outputs: subject.outputs) }
        let program = try backend.compile(subject.graph, outputs: subject.outputs)
        let single = try medianTime(repeats: repeats) { for _ in 0..<calls { _ = try program.run(feeds: one) } } / Double(calls)
        let batched = try medianTime(repeats: repeats) { _ = try program.run(feeds: many) }
        print(pad("compile the predict program", 36) + pad(milliseconds(compile), 12, right: true))
        print(pad("predict 1 sample", 36) + pad(microseconds(single), 12, right: true))
        if model.backend == backend, one.count == 1, let input = one.first?.value, input.dtype == .float32,
           subject.outputs.count == 1 {
            let served = try predictorSeconds(model, Array(input.scalars), calls: calls)
            print(pad("predict 1 sample through a Predictor", 36) + pad(microseconds(served), 12, right: true))
        }
        print(pad("predict \(batch) samples", 36) + pad(microseconds(batched), 12, right: true)
              + "   \(rate(Double(batch) / batched)) samples/s, "
              + Peak.share(try Peak.matmulFLOPs(subject.graph, outputs: subject.outputs, batch: batch) / batched / 1e9))
        guard model.optimizer != nil else {
            print("no training step: the model was saved without compile settings")
            return
        }
        let train = try SampleGraph(model: model, step: .train, name: path)
        let feeds = try train.makeFeeds(batch: batch, using: &generator)
        let step = try backend.compile(train.graph, outputs: train.outputs)
        let stepTime = try medianTime(repeats: repeats) { _ = try step.run(feeds: feeds) }
        print(pad("training step of \(batch) samples", 36) + pad(microseconds(stepTime), 12, right: true)
              + "   \(rate(Double(batch) / stepTime)) samples/s, "
              + Peak.share(try Peak.matmulFLOPs(train.graph, outputs: train.outputs, batch: batch) / stepTime / 1e9))
    }
}
