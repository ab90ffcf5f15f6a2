@_exported import KilnGraph
@_exported import KilnInterpreter
@_exported import KilnCompiler
@_exported import KilnJIT
import Synchronization

/// Library-wide settings: the random seed that makes runs reproducible.
public enum Kiln {
    private static let generator = Mutex(SeededGenerator(seed: UInt64.random(in: .min ... .max)))

    /// Seeds the generator behind initializers and shuffling, so that a program that calls it
    /// first draws the same numbers on every run (like `keras.utils.set_random_seed`).
    public static func setRandomSeed(_ seed: UInt64) {
        generator.withLock { $0 = SeededGenerator(seed: seed) }
    }

    /// Runs `body` with exclusive use of the library's generator.
    public static func withRandomGenerator<Result>(
        _ body: (inout SeededGenerator) throws -> Result
    ) throws -> Result {
        try generator.withLock { try body(&$0) }
    }
}
