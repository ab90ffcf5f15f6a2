import Foundation
import Kiln
import Testing

/// The `kiln` tool on a model a user trained and saved (Examples/Digits with `--save`).
@Suite("kiln on a saved model", .serialized)
struct KilnToolTests {
    let directory: URL
    let model: String

    /// Trains Digits briefly and saves it in a fresh directory.
    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-tool-\(UUID())")
        model = directory.appendingPathComponent("digits.kiln").path
        let trained = try runProgram("Digits", ["--epochs", "2", "--data", ExampleTests.data, "--save", model], in: directory)
        #expect(trained.status == 0, "\(trained.errors)")
    }

    func cleanUp() { try? FileManager.default.removeItem(at: directory) }

    @Test("summary prints Keras' table and the compile settings")
    func summary() throws {
        defer { cleanUp() }
        let run = try runProgram("kiln", ["summary", model])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("dense (Dense)") && run.output.contains("Total params: 4,810"), "\(run.output)")
        #expect(run.output.contains("Compiled with Adam"), "\(run.output)")
    }

    @Test("export writes the saved Digits model as C that gcc compiles and that predicts as Kiln does")
    func export() throws {
        defer { cleanUp() }
        try expectExportMatches(model, name: "digits", in: directory)
    }

    @Test("dump-c and graph show the model's own programs, for each step")
    func dumpAndGraph() throws {
        defer { cleanUp() }
        let c = try runProgram("kiln", ["dump-c", model])
        #expect(c.status == 0 && c.output.contains("int kiln_run(") && c.output.contains("kiln_gemm("), "\(c.errors)")
        let train = try runProgram("kiln", ["dump-c", model, "--step", "train"])
        #expect(train.status == 0 && train.output.contains("variable \"adam/iterations\""), "\(train.errors)")
        let graph = try runProgram("kiln", ["graph", model, "--step", "evaluate", "--optimized"])
        #expect(graph.status == 0 && graph.output.contains("placeholder \"target\"") && graph.output.contains("# k0"),
                "\(graph.errors)")
    }

    @Test("compare passes on both backends for every step, from random inputs or a file")
    func comparePasses() throws {
        defer { cleanUp() }
        for step in ModelStep.allCases {
            let run = try runProgram("kiln", ["compare", model, "--step", step.rawValue, "--steps", "2"])
            #expect(run.status == 0 && run.output.contains("PASS: every value agrees"), "\(step): \(run.output)\(run.errors)")
        }
        let inputs = directory.appendingPathComponent("inputs.safetensors").path
        try saveTensors(["input_layer": Tensor(shape: [3, 64], scalars: (0..<192).map { Float($0 % 17) / 8 - 1 })], to: inputs)
        let fromFile = try runProgram("kiln", ["compare", model, "--input", inputs, "--steps", "1"])
        #expect(fromFile.status == 0 && fromFile.output.contains("inputs from \(inputs)"), "\(fromFile.output)\(fromFile.errors)")
    }

    @Test("compare fails, with status 1, when the JIT's GEMM is broken (a fake OpenBLAS)")
    func compareCatchesABrokenBackend() throws {
        defer { cleanUp() }
        // An OpenBLAS whose products are off by 1%: the JIT loads it by name, the interpreter never does.
        let fake = directory.appendingPathComponent("fake-blas")
        try FileManager.default.createDirectory(at: fake, withIntermediateDirectories: true)
        let source = fake.appendingPathComponent("blas.c")
        try """
            static void gemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                             const float *b, int ldb, float beta, float *c, int ldc) {
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        float s = 0;
                        for (int p = 0; p < k; p++) s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                        c[i * ldc + j] = 1.01f * alpha * s;
                    }
            }
            void cblas_sgemm(int o, int ta, int tb, int m, int n, int k, float al, const float *a, int lda,
                             const float *b, int ldb, float be, float *c, int ldc) { gemm(o, ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc); }
            void cblas_sgemv(int o, int t, int m, int n, float al, const float *a, int lda, const float *x, int ix,
                             float be, float *y, int iy) {
                if (t == 111) gemm(o, 0, 0, m, 1, n, al, a, lda, x, 1, be, y, 1); else gemm(o, 1, 0, n, 1, m, al, a, lda, x, 1, be, y, 1);
            }
            """.write(to: source, atomically: true, encoding: .utf8)
        let library = fake.appendingPathComponent("libopenblas.so.0").path
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/usr/bin/tcc")
        build.arguments = ["-shared", "-o", library, source.path]
        try build.run()
        build.waitUntilExit()
        try #require(build.terminationStatus == 0, "tcc could not build the fake OpenBLAS")
        let broken = try runProgram("kiln", ["compare", model, "--steps", "1"],
                                    environment: ["LD_LIBRARY_PATH": fake.path, "KILN_GEMM": "openblas"])
        #expect(broken.status == 1, "\(broken.output)\(broken.errors)")
        #expect(broken.output.contains("FAIL") && broken.output.contains("call 1 output y"), "\(broken.output)")
        let honest = try runProgram("kiln", ["compare", model, "--steps", "1"])
        #expect(honest.status == 0)
        let openBLAS = try runProgram("kiln", ["compare", model, "--steps", "1"], environment: ["KILN_GEMM": "openblas"])
        #expect(openBLAS.status == 0, "\(openBLAS.output)\(openBLAS.errors)")
    }

    @Test("KILN_GEMM naming no library is one line listing the choices, and status 1")
    func unknownGEMMLibrary() throws {
        defer { cleanUp() }
        let run = try runProgram("kiln", ["compare", model, "--steps", "1"], environment: ["KILN_GEMM": "mkl"])
        #expect(run.status == 1)
        #expect(run.errors.contains("KILN_GEMM=mkl names no GEMM library; the choices are onednn, openblas, blis"), "\(run.errors)")
        #expect(run.errors.split(separator: "\n").count == 1, "\(run.errors)")
    }

    @Test("a missing, truncated or non-Kiln file is one line naming it, and status 1")
    func badFiles() throws {
        defer { cleanUp() }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: model))
        let cut = directory.appendingPathComponent("cut.kiln").path, text = directory.appendingPathComponent("notes.kiln").path
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        try Data("not a model\n".utf8).write(to: URL(fileURLWithPath: text))
        for (path, command, fragment) in [(directory.appendingPathComponent("none.kiln").path, "summary", "no such file"),
                                          (cut, "dump-c", "damaged"), (text, "compare", "not a .kiln or .keras file")] {
            let run = try runProgram("kiln", [command, path])
            #expect(run.status == 1, "\(command) \(path): \(run.errors)")
            #expect(run.errors.hasPrefix("error: \(path)") || run.errors.hasPrefix("error: cannot read \(path)"), "\(run.errors)")
            #expect(run.errors.contains(fragment) && run.errors.split(separator: "\n").count == 1, "\(run.errors)")
        }
    }

    @Test("bench times the saved model's prediction and training step")
    func bench() throws {
        defer { cleanUp() }
        let run = try runProgram("kiln", ["bench", model, "--repeats", "1", "--calls", "10"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("predict 1 sample") && run.output.contains("training step of 32 samples"), "\(run.output)")
    }
}

/// The `kiln` tool on a saved model with two inputs and two outputs.
@Suite("kiln on a model with several outputs")
struct KilnToolMultiOutputTests {
    @Test("summary names each output's loss; compare passes for every step")
    func multiOutput() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-tool-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = Input(shape: [4], name: "a"), b = Input(shape: [3], name: "b")
        let h = Dense(6, activation: .relu, name: "shared")(Concatenate()([a, b]))
        let model = Model(inputs: [a, b], outputs: [Dense(1, name: "score")(h), Dense(3, activation: .softmax, name: "label")(h)])
        model.compile(optimizer: Adam(), loss: ["score": .meanSquaredError, "label": .sparseCategoricalCrossentropy],
                      lossWeights: ["score": 1, "label": 0.5], metrics: ["label": [.accuracy]])
        let path = directory.appendingPathComponent("two.kiln").path
        try model.save(to: path)
        let summary = try runProgram("kiln", ["summary", path])
        #expect(summary.status == 0 && summary.output.contains("losses score × 1.0: mean_squared_error, label × 0.5: "
                                                               + "sparse_categorical_crossentropy"), "\(summary.output)\(summary.errors)")
        for step in ModelStep.allCases {
            let run = try runProgram("kiln", ["compare", path, "--step", step.rawValue, "--steps", "2"])
            #expect(run.status == 0 && run.output.contains("PASS: every value agrees"), "\(step): \(run.output)\(run.errors)")
        }
    }
}
