import ArgumentParser
import Kiln

/// `kiln export MODEL.kiln|MODEL.keras --c DIR`: the model's inference as plain C99.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a saved model's inference as plain C99 (NAME.h, NAME.c, and NAME_test.c with --test).",
        discussion: "The C needs only <math.h>, <stdint.h> and <string.h>: no Kiln, no BLAS, no allocation. "
            + "cc -O2 -std=c99 -c NAME.c, then call NAME_predict.")

    @Argument(help: "A .kiln or .keras file.") var model: String
    @Option(name: .customLong("c"), help: "The directory to write the C files into.") var directory: String
    @Option(help: "The prefix of every C name, and the files' name (the model's name by default).") var name: String?
    @Flag(help: "Also write NAME_test.c, which checks the exported C against Kiln's predictions.") var test = false
    @Option(help: "inline: the weights as static const arrays in NAME.c; file: in NAME.weights (for large models).")
    var weights = "inline"
    @Option(help: ArgumentHelp("fixed: NAME_predict_batch runs the samples one at a time in a stack workspace; dynamic: "
                               + "also NAME_predict_batch_with_workspace, the whole batch in one run in the caller's memory."))
    var batch = "fixed"

    func run() throws {
        guard weights == "inline" || weights == "file" else {
            throw ValidationError("--weights is inline or file, not \(String(reflecting: weights))")
        }
        guard batch == "fixed" || batch == "dynamic" else {
            throw ValidationError("--batch is fixed or dynamic, not \(String(reflecting: batch))")
        }
        let loaded = try Model.load(from: model)
        let result = try loaded.exportC(to: directory, name: name, test: test, weightsFile: weights == "file",
                                        dynamicBatch: batch == "dynamic")
        print("wrote \(result.files.map { directory + "/" + $0 }.joined(separator: ", ")): \(result.lines) lines of C, "
              + "\(result.weightBytes) bytes of weights")
    }
}
