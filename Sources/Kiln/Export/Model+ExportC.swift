import Foundation
import KilnGraph

extension Model {
    /// What ``exportC(to:name:test:)`` wrote.
    public struct CExportResult: Sendable {
        /// The files written, in `directory`.
        public let files: [String]
        /// The lines of the C source.
        public let lines: Int
        /// The bytes of the weights written into it (4 per element).
        public let weightBytes: Int
    }

    /// Writes the model's inference as plain C99 into `directory` (`kiln export`): `NAME.h`,
    /// the documented API (`NAME_predict` for one sample, `NAME_predict_batch` for several,
    /// sizes and error codes as constants), and `NAME.c`, the program Kiln compiles for
    /// `predict` with the runtime functions it calls and the weights as `static const`
    /// arrays, needing only `<math.h>`, `<stdint.h>` and `<string.h>`. With `test`, also
    /// `NAME_test.c`: a `main` that runs seven seeded samples recorded now and checks the
    /// outputs against this model's `predict` (1e-5 relative, 1e-6 absolute), exiting 1 on a
    /// mismatch. The files are replaced together: a failure leaves the old ones.
    ///
    /// With `weightsFile`, the weights go in `NAME.weights` instead (little-endian, for large
    /// models), and every function takes them as its first argument. With `dynamicBatch`,
    /// `NAME_predict_batch_with_workspace` also runs a batch of any size through the program
    /// at once, in a workspace of `NAME_BATCH_WORKSPACE_BYTES(n)` bytes.
    ///
    /// - Parameter name: The C prefix of every name the files define; the model's name by default.
    /// - Throws: ``KilnError`` if the name is not a C identifier, the model has a None size or
    ///   is not built, or a file cannot be written.
    @discardableResult
    public func exportC(to directory: String, name: String? = nil, test: Bool = false, weightsFile: Bool = false,
                        dynamicBatch: Bool = false) throws -> CExportResult {
        let prefix = name ?? self.name
        try Self.checkCIdentifier(prefix)
        let (graph, outputs) = try predictGraph()
        let inputs = self.inputs.map { CExport.Part(name: $0.name, shape: $0.shape, dtype: $0.dtype) }
        let ordered = try predictOutputNames.map { name -> (name: String, node: Node) in
            guard let node = outputs[name] else { throw KilnError(.invalidGraph, "the inference graph has no output \(name)") }
            return (name, node)
        }
        let values = Dictionary(variables.map { ($0.path, $0.value) }, uniquingKeysWith: { first, _ in first })
        let export = try CExport(graph: graph, outputs: ordered, inputs: inputs, variables: values, modelName: self.name,
                                 modelType: typeName, name: prefix, weightsFile: weightsFile, dynamicBatch: dynamicBatch)
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw KilnError(.file, "cannot make the directory \(directory): \((error as NSError).localizedDescription)")
            }
        } else if !isDirectory.boolValue {
            throw KilnError(.file, "\(directory) is not a directory")
        }
        var files = [("\(prefix).h", Data(export.header.utf8)), ("\(prefix).c", Data(export.source.utf8))]
        if let weights = export.weights { files.append(("\(prefix).weights", weights)) }
        if test {
            files.append(("\(prefix)_test.c", Data(try exportTest(prefix, weightsFile: weightsFile, dynamicBatch: dynamicBatch).utf8)))
        }
        // Every file is written before any is replaced: an export that fails leaves the old ones.
        try writeAllAtomically(files.map { (directory + "/" + $0.0, $0.1) })
        return CExportResult(files: files.map(\.0), lines: export.source.split(separator: "\n", omittingEmptySubsequences: false).count,
                             weightBytes: export.weightElements * 4)
    }

    /// `NAME_test.c`: seven seeded samples and this model's predictions for them, and a main
    /// that compares the exported C's.
    private func exportTest(_ prefix: String, weightsFile: Bool, dynamicBatch: Bool) throws -> String {
        var generator = SeededGenerator(seed: 2024)
        let vocabulary = layers.compactMap { ($0 as? Embedding)?.inputDim }.min() ?? 2
        let count = 7
        let xs = try inputs.map { input -> Tensor in
            let shape = [count] + input.shape
            if input.dtype == .int32 {
                let ids = (0..<shape.reduce(1, *)).map { _ in Float(Int(generator.nextUniform() * Float(vocabulary)) % vocabulary) }
                return try Tensor(shape: shape, scalars: ids)
            }
            return try Tensor.randomUniform(shape: shape, lower: -1, upper: 1, using: &generator)
        }
        let predictions = try predictAll(xs, batchSize: count)
        // Samples as the C API lays them out: each sample's inputs (outputs) one after the other.
        func interleave(_ tensors: [Tensor]) -> [Float] {
            let widths = tensors.map { $0.scalarCount / count }
            return (0..<count).flatMap { row in zip(tensors, widths).flatMap { tensor, width in tensor.scalars[(row * width)..<((row + 1) * width)] } }
        }
        func list(_ values: [Float]) -> String {
            stride(from: 0, to: values.count, by: 8).map { start in
                "    " + values[start..<Swift.min(start + 8, values.count)].map { $0 == 0 ? "0" : "\($0)f" }.joined(separator: ", ") + ","
            }.joined(separator: "\n")
        }
        let upper = prefix.uppercased()
        let argument = weightsFile ? "weights.bytes, " : ""
        let weightsLoader = """
            /* The weights, read from \(prefix).weights in the current directory. */
            static union { float alignment; unsigned char bytes[\(upper)_WEIGHTS_BYTES]; } weights;

            static int load_weights(void) {
                FILE *file = fopen("\(prefix).weights", "rb");
                size_t read;
                if (!file) { printf("\(prefix): cannot open \(prefix).weights\\n"); return 0; }
                read = fread(weights.bytes, 1, sizeof weights.bytes, file);
                fclose(file);
                if (read != sizeof weights.bytes) { printf("\(prefix): \(prefix).weights is too short\\n"); return 0; }
                return 1;
            }

            """
        let loadCall = "\n    if (!load_weights()) return 1;"
        // With a dynamic batch, the whole batch in one run must agree with the batch of single runs.
        let batchCheck = """
                {
                    static union { double alignment; unsigned char bytes[\(upper)_BATCH_WORKSPACE_BYTES(\(count))]; } workspace;
                    static float together[\(count) * \(upper)_OUTPUT_SIZE];
                    if (\(prefix)_predict_batch_with_workspace(\(argument)\(count), inputs, together, workspace.bytes) != \(upper)_OK) return 1;
                    for (int i = 0; i < \(count) * \(upper)_OUTPUT_SIZE; i++) {
                        if (!(fabs((double)together[i] - (double)expected[i]) <= 1e-6 + 1e-5 * fabs((double)expected[i]))) wrong++;
                    }
                }

            """
        return """
            /* \(prefix)_test.c: runs \(count) samples recorded at export through \(prefix).c and checks the predictions
               against the ones Kiln computed (1e-5 relative, 1e-6 absolute); exits 1 on a mismatch. With --time, also
               prints the microseconds of one \(prefix)_predict call (the median of 9 runs).
               cc -O2 -std=c99 \(prefix).c \(prefix)_test.c -lm && ./a.out */
            #define _POSIX_C_SOURCE 199309L
            #include "\(prefix).h"

            #include <math.h>
            #include <stdio.h>
            #include <string.h>
            #include <time.h>

            static const float inputs[\(count) * \(upper)_INPUT_SIZE] = {
            \(list(interleave(xs)))
            };
            static const float expected[\(count) * \(upper)_OUTPUT_SIZE] = {
            \(list(interleave(predictions)))
            };

            \(weightsFile ? weightsLoader : "")
            static double seconds(void) {
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
            }

            /* The median over 9 runs of the time of one prediction, in microseconds. */
            static double predict_microseconds(void) {
                static float one[\(upper)_OUTPUT_SIZE];
                double runs[9];
                int calls = 1;
                double start = seconds();
                while (seconds() - start < 0.01) { \(prefix)_predict(\(argument)inputs, one); calls++; }
                for (int run = 0; run < 9; run++) {
                    start = seconds();
                    for (int i = 0; i < calls; i++) \(prefix)_predict(\(argument)inputs + (i % \(count)) * \(upper)_INPUT_SIZE, one);
                    runs[run] = (seconds() - start) / calls * 1e6;
                }
                for (int i = 1; i < 9; i++) {
                    for (int j = i; j > 0 && runs[j - 1] > runs[j]; j--) {
                        double t = runs[j]; runs[j] = runs[j - 1]; runs[j - 1] = t;
                    }
                }
                return runs[4];
            }

            int main(int argc, char **argv) {
                static float outputs[\(count) * \(upper)_OUTPUT_SIZE];\(weightsFile ? loadCall : "")
                double worst = 0;
                int wrong = 0, status = \(prefix)_predict_batch(\(argument)\(count), inputs, outputs);
                if (status != \(upper)_OK) {
                    printf("\(prefix): predict_batch failed with status %d\\n", status);
                    return 1;
                }
                {
                    /* The header's shapes and sizes agree. */
                    static const int64_t shape[] = \(upper)_OUTPUT_0_SHAPE;
                    int64_t size = 1;
                    for (int i = 0; i < \(upper)_OUTPUT_0_RANK; i++) size *= shape[i];
                    if (size != \(upper)_OUTPUT_0_SIZE || \(upper)_INPUT_0_OFFSET != 0) wrong++;
                }
                for (int i = 0; i < \(count) * \(upper)_OUTPUT_SIZE; i++) {
                    double difference = fabs((double)outputs[i] - (double)expected[i]);
                    if (difference > worst) worst = difference;
                    if (!(difference <= 1e-6 + 1e-5 * fabs((double)expected[i]))) wrong++;
                }
            \(dynamicBatch ? batchCheck : "")    for (int s = 0; s < \(count); s++) {
                    float one[\(upper)_OUTPUT_SIZE];
                    if (\(prefix)_predict(\(argument)inputs + s * \(upper)_INPUT_SIZE, one) != \(upper)_OK) return 1;
                    for (int i = 0; i < \(upper)_OUTPUT_SIZE; i++) {
                        if (one[i] != outputs[s * \(upper)_OUTPUT_SIZE + i]) wrong++;
                    }
                }
                printf("\(prefix): %d samples, %d of %d values differ from Kiln's, largest difference %.3g\\n", \(count), wrong,
                       \(count) * \(upper)_OUTPUT_SIZE, worst);
                if (argc > 1 && strcmp(argv[1], "--time") == 0) printf("\(prefix): %.2f us per prediction\\n", predict_microseconds());
                return wrong == 0 ? 0 : 1;
            }

            """
    }

    /// Throws unless `name` is a C identifier that is not a keyword.
    static func checkCIdentifier(_ name: String) throws {
        let keywords: Set<String> = ["auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
                                     "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict",
                                     "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
                                     "unsigned", "void", "volatile", "while"]
        guard let first = name.unicodeScalars.first, first.properties.isASCIIHexDigit || CharacterSet.letters.contains(first) || first == "_",
              !(("0"..."9").contains(Character(first))),
              name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") }),
              !keywords.contains(name) else {
            throw KilnError(.invalidArgument, "\(String(reflecting: name)) is not a C identifier (letters, digits and _, not starting "
                            + "with a digit, not a keyword); give the export another name")
        }
    }
}
