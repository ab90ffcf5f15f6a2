import ArgumentParser
import Kiln

/// `kiln summary MODEL.kiln`: Keras' table of a saved model, or what a sample graph holds.
struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a saved model's summary (Keras' table), or a sample graph's inputs and outputs.")

    @OptionGroup var subject: SubjectArgument

    func run() throws {
        if subject.isFile {
            let model = try subject.loadModel()
            print(model.summaryText())
            if let optimizer = model.optimizer, let loss = model.loss {
                print("Compiled with \(type(of: optimizer)) (learning rate \(optimizer.learningRate), step "
                      + "\(optimizer.iterations)) and \(Self.losses(model.outputLosses) ?? "loss \(loss.name)").")
            }
            return
        }
        let sample = try subject.load()
        print("\(sample.name): \(sample.summary)")
        for node in sample.graph.nodes {
            if case .placeholder(let name, let type) = node.op { print("  input  \(name): \(type)") }
        }
        for (name, node) in sample.outputs.sorted(by: { $0.key < $1.key }) { print("  output \(name): \(node.type)") }
        print("  \(sample.graph.nodes.count) nodes")
    }

    /// `losses score: mean_squared_error, label × 0.3: sparse_categorical_crossentropy` for a
    /// model with several outputs, `nil` for one.
    static func losses(_ losses: [(output: String, loss: Loss, weight: Float?)]) -> String? {
        guard losses.count > 1 else { return nil }
        return "losses " + losses.map { "\($0.output)\($0.weight.map { " × \($0)" } ?? ""): \($0.loss.name)" }.joined(separator: ", ")
    }
}
