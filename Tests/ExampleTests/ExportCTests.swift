import Foundation
import Kiln
import Testing

/// Runs `executable` with `arguments` in `directory`; its status and its output and errors together.
func runTool(_ executable: String, _ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Exports the saved model at `path` with `kiln export --test` into `directory`, builds the
/// test with gcc's strictest flags and expects it to agree with Kiln's predictions.
func expectExportMatches(_ path: String, name: String, in directory: URL,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
    let exported = try runProgram("kiln", ["export", path, "--c", directory.path, "--name", name, "--test"])
    #expect(exported.status == 0, "\(exported.errors)", sourceLocation: sourceLocation)
    let built = try runTool("/usr/bin/gcc", CCompilers.strict + ["\(name).c", "\(name)_test.c", "-o", "\(name)_test", "-lm"],
                            in: directory)
    #expect(built.status == 0, "\(built.output)", sourceLocation: sourceLocation)
    let run = try runTool(directory.appendingPathComponent("\(name)_test").path, [], in: directory)
    #expect(run.status == 0 && run.output.contains(" 0 of "), "\(run.output)", sourceLocation: sourceLocation)
}

/// The C compilers the exported C is checked with: the strictest flags each has.
enum CCompilers {
    static let strict = ["-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]

    /// `clang` from the Swift toolchain (next to `swift` on PATH), or on PATH.
    static var clang: String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/clang") {
            return "\(directory)/clang"
        }
        return "/opt/swift/usr/bin/clang"
    }

    static let all: [(name: String, path: String, flags: [String])] = [
        ("gcc", "/usr/bin/gcc", strict), ("clang", clang, strict), ("tcc", "/usr/bin/tcc", ["-std=c99", "-Wall", "-Werror"]),
    ]
}

@Suite("Export to C: the exported model compiles with gcc, clang and tcc and predicts as Kiln does", .serialized)
struct ExportCTests {
    /// Exports `model` with its test, compiles it with every compiler (and once with the
    /// address and undefined-behaviour sanitizers) and runs it; returns the test's line.
    @discardableResult
    static func exportAndRun(_ model: Model, name: String, weightsFile: Bool = false, dynamicBatch: Bool = false,
                             calling kernels: [String] = []) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-export-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try model.exportC(to: directory.path, name: name, test: true, weightsFile: weightsFile,
                                       dynamicBatch: dynamicBatch)
        let source = try String(contentsOf: directory.appendingPathComponent("\(name).c"), encoding: .utf8)
        // The runtime's functions carry the model's name in place of kiln.
        for kernel in kernels { #expect(source.contains("    \(name)_\(kernel)("), "\(name) calls \(name)_\(kernel)") }
        #expect(result.files == ["\(name).h", "\(name).c"] + (weightsFile ? ["\(name).weights"] : []) + ["\(name)_test.c"])
        var line = ""
        var builds = CCompilers.all
        builds.append(("gcc with sanitizers", "/usr/bin/gcc", ["-O1", "-g", "-std=c99", "-fsanitize=address,undefined",
                                                               "-fno-sanitize-recover=all"]))
        for compiler in builds {
            guard FileManager.default.isExecutableFile(atPath: compiler.path) else {
                Issue.record("\(compiler.name) is not installed at \(compiler.path) (tools/bootstrap installs it)")
                continue
            }
            let built = try runTool(compiler.path, compiler.flags + ["\(name).c", "\(name)_test.c", "-o", "test", "-lm"], in: directory)
            #expect(built.status == 0, "\(name) with \(compiler.name): \(built.output)")
            guard built.status == 0 else { continue }
            let run = try runTool(directory.appendingPathComponent("test").path, [], in: directory)
            #expect(run.status == 0 && run.output.contains("0 of"), "\(name) with \(compiler.name): \(run.output)")
            line = run.output
        }
        // A Cortex-M4 build, compile only, when Debian's gcc-arm-none-eabi is installed.
        let arm = "/usr/bin/arm-none-eabi-gcc"
        if FileManager.default.isExecutableFile(atPath: arm) {
            let built = try runTool(arm, ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"] + CCompilers.strict
                                    + ["-c", "\(name).c", "-o", "\(name).o"], in: directory)
            #expect(built.status == 0, "\(name) for Cortex-M4: \(built.output)")
        } else {
            print("ExportCTests: \(arm) is not installed (apt-get install gcc-arm-none-eabi); the Cortex-M4 build is skipped")
        }
        return line
    }

    @Test("dense layers, every activation, normalization layers and dropout")
    func dense() throws {
        Kiln.setRandomSeed(3)
        let model = Sequential([
            Input(shape: [6]),
            Rescaling(scale: [1, 2, 0.5, 1, 1, 3], offset: [0, -1, 0, 0.5, 0, 0]),
            Dense(8, activation: .gelu), BatchNormalization(), Dropout(0.3),
            Dense(8, activation: .swish), LayerNormalization(),
            Dense(8, activation: .elu(alpha: 1)), Dense(8, activation: .selu), Dense(8, activation: .softplus),
            Dense(8, activation: .leakyRelu(negativeSlope: 0.2)), Dense(8, activation: .tanh), Dense(8, activation: .sigmoid),
            Dense(3, activation: .softmax),
        ])
        model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy)
        // Moving statistics away from their initial values, so the export must carry them.
        let x = try Tensor(shape: [32, 6], scalars: (0..<192).map { Float(($0 * 7) % 13) / 4 - 1 })
        try model.fit(x, Tensor((0..<32).map { Float($0 % 3) }), epochs: 2, verbose: 0)
        try Self.exportAndRun(model, name: "dense_model")
    }

    @Test("convolutions, pooling, padding, upsampling and global pooling on images; Conv1D on sequences")
    func convolution() throws {
        let image = Input(shape: [12, 12, 2])
        // A max pooling of the ReLU of a convolution of an even number of rows of windows: the
        // program pools its windows' products as they are made (kiln_gemm_window_pool).
        var x = Conv2D(4, kernelSize: [3, 3], padding: .same, activation: .relu)(image)
        x = MaxPooling2D()(x)
        x = Conv2D(3, kernelSize: [2, 2], strides: [2, 2], activation: .relu)(ZeroPadding2D(1)(x))
        x = Conv2DTranspose(2, kernelSize: [3, 3], strides: [2, 2], padding: .same)(x)
        x = AveragePooling2D(poolSize: [2, 2])(UpSampling2D(size: [2, 2])(x))
        let pooled = GlobalAveragePooling2D()(BatchNormalization()(x))
        let sequence = Input(shape: [12, 3])
        var s = Conv1D(4, kernelSize: 3, padding: .causal, activation: .tanh)(sequence)
        s = GlobalMaxPooling1D()(MaxPooling1D()(s))
        let model = Model(inputs: [image, sequence], outputs: [Dense(2, activation: .softmax)(Concatenate()([pooled, s])), s])
        try Self.exportAndRun(model, name: "conv_model", calling: ["gemm_window_pool"])
        // A whole batch in one run: two inputs laid out apart, two outputs laid out per sample.
        try Self.exportAndRun(model, name: "conv_batch", dynamicBatch: true, calling: ["gemm_window_pool"])
    }

    @Test("embeddings and recurrent layers: SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed")
    func recurrent() throws {
        let ids = Input(shape: [7], dtype: .int32)
        let embedded = Embedding(inputDim: 12, outputDim: 4)(ids)
        let lstm = LSTM(5, returnSequences: true)(embedded)
        let gru = Bidirectional(GRU(3, returnSequences: true), mergeMode: .concat)(lstm)
        let steps = TimeDistributed(Dense(2))(gru)
        let last = SimpleRNN(4, goBackwards: true)(steps)
        let model = Model(inputs: ids, outputs: Dense(1, activation: .sigmoid)(last))
        try Self.exportAndRun(model, name: "text_model")
        // The same with the weights in a file of their own, which the test reads and passes, and
        // integer ids converted for a whole batch at once.
        try Self.exportAndRun(model, name: "text_file", weightsFile: true, dynamicBatch: true)
    }

    @Test("kiln export writes the files for a saved model; bad names and unwritable directories are one-line errors")
    func tool() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-export-tool-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = Sequential([Input(shape: [3]), Dense(4, activation: .relu), Dense(2)], name: "tiny")
        let path = directory.appendingPathComponent("tiny.kiln").path
        try model.save(to: path)
        try expectExportMatches(path, name: "tiny", in: directory)
        let badName = try runProgram("kiln", ["export", path, "--c", directory.path, "--name", "2fast"])
        #expect(badName.status == 1 && badName.errors.contains("\"2fast\" is not a C identifier"), "\(badName.errors)")
        try Data().write(to: directory.appendingPathComponent("file"))
        let notDirectory = try runProgram("kiln", ["export", path, "--c", directory.appendingPathComponent("file").path])
        #expect(notDirectory.status == 1 && notDirectory.errors.contains("is not a directory"), "\(notDirectory.errors)")
        // A file that cannot be written (its name is a directory): no file is replaced.
        let partial = directory.appendingPathComponent("partial")
        try FileManager.default.createDirectory(at: partial.appendingPathComponent("tiny.c"), withIntermediateDirectories: true)
        try Data("old".utf8).write(to: partial.appendingPathComponent("tiny.h"))
        let refused = try runProgram("kiln", ["export", path, "--c", partial.path])
        #expect(refused.status == 1 && refused.errors.contains("tiny.c"), "\(refused.errors)")
        #expect(try String(contentsOf: partial.appendingPathComponent("tiny.h"), encoding: .utf8) == "old")
        let missing = try runProgram("kiln", ["export", directory.appendingPathComponent("none.kiln").path, "--c", directory.path])
        #expect(missing.status == 1 && missing.errors.split(separator: "\n").count == 1, "\(missing.errors)")
    }
}
