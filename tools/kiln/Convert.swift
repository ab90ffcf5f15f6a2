import ArgumentParser
import Foundation
import Kiln

/// `kiln convert IN OUT`: a model between Kiln's `.kiln` and Keras 3's `.keras` files.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a saved model between .kiln and Keras 3's .keras files.",
        discussion: "OUT ending in .keras is written for keras.saving.load_model (architecture and weights); any other "
            + "name is written as a .kiln file.")

    @Argument(help: "The model: a .kiln or .keras file.") var input: String
    @Argument(help: "The file to write: NAME.keras or NAME.kiln.") var output: String

    func run() throws {
        let model = try Model.load(from: input)
        if output.hasSuffix(".keras") {
            try model.save(keras: URL(fileURLWithPath: output))
        } else {
            try model.save(to: output)
        }
        print("wrote \(output): model \(String(reflecting: model.name)), \(model.layers.count) layers, "
              + "\(model.variables.reduce(0) { $0 + $1.shape.reduce(1, *) }) weights")
    }
}
