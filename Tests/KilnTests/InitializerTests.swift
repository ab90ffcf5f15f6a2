import Testing
import Kiln

/// The global generator is shared, so tests that seed it run one at a time.
@Suite("Initializers and seeding", .serialized)
struct InitializerTests {
    @Test func seedingMakesDrawsReproducible() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        Kiln.setRandomSeed(42)
        let first = try Initializer.glorotUniform.tensor(shape: [3, 4])
        let second = try Initializer.glorotUniform.tensor(shape: [3, 4])
        Kiln.setRandomSeed(42)
        #expect(try Initializer.glorotUniform.tensor(shape: [3, 4]) == first)
        #expect(try Initializer.glorotUniform.tensor(shape: [3, 4]) == second)
        #expect(first != second)
        Kiln.setRandomSeed(43)
        #expect(try Initializer.glorotUniform.tensor(shape: [3, 4]) != first)
    }

    @Test func fansFollowKeras() {
        #expect(Initializer.fans(of: []) == (1, 1))
        #expect(Initializer.fans(of: [7]) == (7, 7))
        #expect(Initializer.fans(of: [784, 256]) == (784, 256))
        #expect(Initializer.fans(of: [3, 3, 16, 32]) == (144, 288))
    }

    struct Statistics {
        let mean: Float, deviation: Float, largest: Float
        init(_ values: [Float]) {
            mean = values.reduce(0, +) / Float(values.count)
            let m = mean
            deviation = (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Float(values.count)).squareRoot()
            largest = values.map { Swift.abs($0) }.max() ?? 0
        }
    }

    struct Expectation: Sendable, CustomTestStringConvertible {
        let initializer: Initializer
        let shape: [Int]
        let deviation: Float
        let bound: Float
        var testDescription: String { "\(initializer) \(shape)" }
    }

    // Uniform in ±limit has deviation limit/√3; the truncated normals are scaled to the target deviation.
    @Test(arguments: [
        Expectation(initializer: .glorotUniform, shape: [300, 200], deviation: (6 / Float(500)).squareRoot() / Float(3).squareRoot(),
                    bound: (6 / Float(500)).squareRoot()),
        Expectation(initializer: .heUniform, shape: [300, 200], deviation: (6 / Float(300)).squareRoot() / Float(3).squareRoot(),
                    bound: (6 / Float(300)).squareRoot()),
        Expectation(initializer: .glorotNormal, shape: [300, 200], deviation: (2 / Float(500)).squareRoot(),
                    bound: 2 * (2 / Float(500)).squareRoot() / 0.879_625_7),
        Expectation(initializer: .heNormal, shape: [300, 200], deviation: (2 / Float(300)).squareRoot(),
                    bound: 2 * (2 / Float(300)).squareRoot() / 0.879_625_7),
        Expectation(initializer: .randomNormal(), shape: [60_000], deviation: 0.05, bound: .infinity),
        Expectation(initializer: .randomUniform(), shape: [60_000], deviation: 0.05 / Float(3).squareRoot(), bound: 0.05),
    ])
    func matchesKerasDistributions(_ e: Expectation) throws {
        let seed: UInt64 = 2024
        var generator = SeededGenerator(seed: seed)
        let stats = Statistics(try e.initializer.tensor(shape: e.shape, using: &generator).scalars)
        #expect(Swift.abs(stats.mean) < 0.05 * e.deviation + 1e-4, "seed \(seed): mean \(stats.mean)")
        #expect(Swift.abs(stats.deviation / e.deviation - 1) < 0.03, "seed \(seed): deviation \(stats.deviation), expected \(e.deviation)")
        #expect(stats.largest <= e.bound, "seed \(seed): \(stats.largest) beyond \(e.bound)")
    }

    @Test func constantInitializers() throws {
        #expect(try Initializer.zeros.tensor(shape: [2]) == Tensor([0, 0]))
        #expect(try Initializer.ones.tensor(shape: [1, 2]) == Tensor([[1, 1]]))
        #expect(try Initializer.constant(0.5).tensor(shape: []) == Tensor(0.5))
        #expect(throws: KilnError.self) { try Initializer.zeros.tensor(shape: [-1]) }
    }
}
