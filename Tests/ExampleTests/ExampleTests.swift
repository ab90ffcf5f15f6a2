import Foundation
import Kiln
import Testing

/// Runs the example programs (built next to the test bundle) at small sizes and checks that
/// each learned: the figure on its `RESULT` line against a bar set below its full-size figure.
@Suite("Examples learn", .serialized)
struct ExampleTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let data = repository.appendingPathComponent("Examples/Data").path

    @Test func productLiked() throws {
        let result = try runProgram("ProductLiked", [])
        #expect(result.status == 0, "\(result.errors)")
        #expect((result.result["accuracy"] ?? 0) >= 0.8, "\(result.output)")
    }

    @Test func digits() throws {
        let result = try runProgram("Digits", ["--epochs", "15", "--data", Self.data])
        #expect(result.status == 0, "\(result.errors)")
        #expect((result.result["accuracy"] ?? 0) >= 0.93, "\(result.output)")
    }

    @Test("Digits trains with every JIT call checked against the interpreter (KILN_VALIDATE=1)")
    func digitsValidated() throws {
        let result = try runProgram("Digits", ["--epochs", "3", "--data", Self.data], environment: ["KILN_VALIDATE": "1"])
        #expect(result.status == 0, "\(result.errors)")
        #expect((result.result["accuracy"] ?? 0) >= 0.8, "\(result.output)")
    }

    @Test("FashionMNIST trains its convnet on small generated images of ten patterns, draws them and saves")
    func fashionMNIST() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-fashion-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        try writePatternImages(to: directory, train: 600, test: 100)
        let result = try runProgram("FashionMNIST", ["--epochs", "6", "--data", directory.path, "--samples", "600",
                                                     "--save", "fashion.kiln"], in: directory)
        #expect(result.status == 0, "\(result.errors)")
        #expect((result.result["accuracy"] ?? 0) >= 0.8, "\(result.output)")
        #expect(result.output.contains("Total params: 34,826") && result.output.contains("confusion"), "\(result.output)")
        let grid = try String(contentsOf: directory.appendingPathComponent("fashion-predictions.svg"), encoding: .utf8)
        #expect(grid.hasPrefix("<svg") && grid.contains("(true: "), "fashion-predictions.svg")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("fashion.kiln").path))
        // The saved convnet exports to C that predicts as Kiln does.
        try expectExportMatches(directory.appendingPathComponent("fashion.kiln").path, name: "fashion", in: directory)

        let missing = try runProgram("FashionMNIST", ["--data", "/nonexistent"])
        #expect(missing.status == 1 && missing.errors.contains("dataset-fashion-mnist"), "\(missing.errors)")
    }

    @Test("Sunspots forecasts held-out months better than the naive forecast")
    func sunspots() throws {
        let result = try runProgram("Sunspots", ["--epochs", "12", "--units", "16", "--data", Self.data])
        let figures = result.result
        #expect(result.status == 0, "\(result.errors)")
        #expect((figures["mae"] ?? .infinity) < (figures["baseline"] ?? 0), "\(result.output)")
    }

    @Test("TextGeneration learns more than character frequencies and writes at three temperatures")
    func textGeneration() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-text-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try runProgram("TextGeneration", ["--epochs", "3", "--characters", "30000", "--units", "48", "--length", "24",
                                                       "--data", Self.data, "--save", "text.kiln"], in: directory)
        let figures = result.result
        #expect(result.status == 0, "\(result.errors)")
        #expect((figures["loss"] ?? .infinity) < 0.85 * (figures["unigram"] ?? 0), "\(result.output)")
        #expect(result.output.contains("temperature 0.2") && result.output.contains("temperature 1.0"), "\(result.output)")
        // The saved character-level LSTM exports to C that predicts as Kiln does.
        try expectExportMatches(directory.appendingPathComponent("text.kiln").path, name: "text", in: directory)
    }

    @Test func pricePrediction() throws {
        let result = try runProgram("PricePrediction", ["--epochs", "40"])
        let figures = result.result
        #expect(result.status == 0, "\(result.errors)")
        #expect((figures["mae"] ?? .infinity) < 0.5 * (figures["baseline"] ?? 0), "\(result.output)")
    }

    @Test func diabetes() throws {
        let result = try runProgram("Diabetes", ["--epochs", "100", "--data", Self.data])
        #expect(result.status == 0, "\(result.errors)")
        #expect((result.result["r2"] ?? 0) > 0.3, "\(result.output)")
    }

    @Test func clustering() throws {
        let result = try runProgram("Clustering", ["--epochs", "20", "--data", Self.data])
        #expect(result.status == 0, "\(result.errors)")
        #expect((result.result["purity"] ?? 0) > 0.35, "\(result.output)")
    }

    @Test func semiSupervised() throws {
        let result = try runProgram("SemiSupervised", ["--epochs", "60", "--data", Self.data])
        let figures = result.result
        #expect(result.status == 0, "\(result.errors)")
        #expect((figures["baseline"] ?? 0) > 0.6, "\(result.output)")
        #expect((figures["pseudo"] ?? 0) > (figures["baseline"] ?? 1), "\(result.output)")
    }

    @Test func reinforcement() throws {
        let result = try runProgram("Reinforcement", [])
        #expect(result.status == 0, "\(result.errors)")
        #expect((result.result["average"] ?? 0) >= 195, "\(result.output)")
    }

    @Test func transferLearning() throws {
        let result = try runProgram("TransferLearning", ["--epochs", "20", "--data", Self.data])
        let figures = result.result
        #expect(result.status == 0, "\(result.errors)")
        #expect((figures["transfer"] ?? 0) > 0.8 && (figures["scratch"] ?? 0) > 0.6, "\(result.output)")
        // Fine-tuning compiles a new optimizer: it starts at step 0 with its own low rate and
        // does not undo what the frozen phase learned.
        #expect(result.output.contains("fine-tuning every layer at learning rate 0.0001, from step 0"), "\(result.output)")
        #expect((figures["finetuned"] ?? 0) >= (figures["transfer"] ?? 1) - 0.02, "\(result.output)")
    }

    @Test("GAN draws digits a classifier of real digits reads with confidence, in most of the ten classes")
    func gan() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-gan-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try runProgram("GAN", ["--epochs", "40", "--data", Self.data], in: directory)
        let figures = result.result
        #expect(result.status == 0, "\(result.errors)")
        #expect((figures["confidence"] ?? 0) > (figures["noise_confidence"] ?? 1) + 0.15, "\(result.output)")
        #expect((figures["classes"] ?? 0) >= 7 && (figures["largest_share"] ?? 1) < 0.4, "\(result.output)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("gan-digits.svg").path))
    }

    @Test("Distillation teaches a small student from a large teacher in a custom step")
    func distillation() throws {
        let result = try runProgram("Distillation", ["--epochs", "15", "--data", Self.data])
        let figures = result.result
        #expect(result.status == 0, "\(result.errors)")
        #expect((figures["teacher"] ?? 0) >= 0.95 && (figures["distilled"] ?? 0) >= 0.88, "\(result.output)")
        #expect((figures["distilled"] ?? 0) >= (figures["scratch"] ?? 1) - 0.05, "\(result.output)")
    }

    @Test func aMissingDataFileIsOneLineAndStatusOne() throws {
        let result = try runProgram("Digits", ["--data", "/nonexistent"])
        #expect(result.status == 1)
        #expect(result.errors.hasPrefix("error: ") && result.errors.split(separator: "\n").count == 1, "\(result.errors)")
        #expect(result.errors.contains("/nonexistent/digits.csv.gz"))
    }
}

/// Fashion-MNIST's four IDX files in `directory`, of 28×28 images whose class `k` is a bright
/// band at rows `2k` to `2k + 8` over noise, seeded.
func writePatternImages(to directory: URL, train: Int, test: Int) throws {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var generator = SeededGenerator(seed: 4)
    for (prefix, count) in [("train", train), ("t10k", test)] {
        var pixels: [UInt8] = [], labels: [UInt8] = []
        for index in 0..<count {
            let label = index % 10
            for row in 0..<28 {
                for _ in 0..<28 {
                    let band = row >= 2 * label && row < 2 * label + 9
                    pixels.append(UInt8(band ? 160 + generator.nextIndex(below: 90) : generator.nextIndex(below: 70)))
                }
            }
            labels.append(UInt8(label))
        }
        try IDX.encode(unsignedBytes: pixels, shape: [count, 28, 28]).write(to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
        try IDX.encode(unsignedBytes: labels, shape: [count]).write(to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
    }
}
