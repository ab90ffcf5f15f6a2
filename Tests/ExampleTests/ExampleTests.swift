import Foundation
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

    @Test func aMissingDataFileIsOneLineAndStatusOne() throws {
        let result = try runProgram("Digits", ["--data", "/nonexistent"])
        #expect(result.status == 1)
        #expect(result.errors.hasPrefix("error: ") && result.errors.split(separator: "\n").count == 1, "\(result.errors)")
        #expect(result.errors.contains("/nonexistent/digits.csv.gz"))
    }
}
