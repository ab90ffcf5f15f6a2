import Dispatch
import Foundation
import Kiln
import Synchronization
import Testing

/// Several threads using one compiled model at once, with results checked.
@Suite("Concurrent use", .serialized)
struct ConcurrencyTests {
    /// A model wide enough that predictions go through GEMM, with inputs of 1 to 9 rows.
    func wideModel(backend: Backend) -> Model {
        let model = Sequential([Input(shape: [32]), Dense(64, activation: .relu), Dense(48, activation: .tanh), Dense(5)])
        model.compile(optimizer: SGD(), loss: .meanSquaredError, backend: backend)
        return model
    }

    func inputs(_ count: Int) -> [Tensor] {
        (0..<count).map { k in
            let rows = 1 + k % 9
            return try! Tensor(shape: [rows, 32], scalars: (0..<(rows * 32)).map { Float(($0 * 31 + k * 17) % 97) / 97 - 0.5 })
        }
    }

    @Test("threads predicting on one model, and one thread training another, all get the right answers",
          arguments: Backend.allCases)
    func predictFromSeveralThreads(_ backend: Backend) throws {
        let threads = 4
        let calls = backend == .jit ? 2_000 : 100
        let model = wideModel(backend: backend)
        let samples = inputs(17)
        // The answers from a copy of the model, one call at a time; the threads' first calls
        // also compile the program, from several threads at once.
        let reference = wideModel(backend: backend)
        try reference.setWeights(model.getWeights())
        let expected = try samples.map { try reference.predict($0) }
        let trainee = wideModel(backend: backend)
        let x = try Tensor(shape: [64, 32], scalars: (0..<2048).map { Float($0 % 13) / 13 })
        let y = try Tensor(shape: [64, 5], scalars: (0..<320).map { Float($0 % 7) / 7 })
        let wrong = Mutex(0), failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: threads + 1) { thread in
            do {
                if thread == threads {
                    try trainee.fit(x, y, batchSize: 8, epochs: backend == .jit ? 20 : 2, verbose: 0)
                    return
                }
                for call in 0..<calls {
                    let k = (call * 5 + thread) % samples.count
                    let got = try model.predict(samples[k])
                    if got != expected[k] { wrong.withLock { $0 += 1 } }
                }
            } catch {
                failures.withLock { $0.append("thread \(thread): \(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(wrong.withLock { $0 } == 0, "wrong results out of \(threads * calls) calls")
        #expect(trainee.optimizer?.iterations == (backend == .jit ? 160 : 16))
    }

    @Test("one JIT program run from several threads at once, with batch sizes that grow its scratch memory")
    func programFromSeveralThreads() throws {
        let graph = Graph()
        let input = try graph.placeholder("x", shape: [.batch, 16])
        let w = graph.constant(try Tensor(shape: [16, 16], scalars: (0..<256).map { Float($0 % 9) / 9 - 0.4 }))
        let y = try softmax(tanh(matmul(input, w)) * 3)
        let program = try Backend.jit.compile(graph, outputs: ["y": y])
        let reference = try InterpreterProgram(graph: graph, outputs: ["y": y])
        let feeds = (1...12).map { rows in
            try! Tensor(shape: [rows, 16], scalars: (0..<(rows * 16)).map { Float(($0 * 7 + rows) % 23) / 23 })
        }
        let expected = try feeds.map { try reference.run(feeds: ["x": $0])["y"]! }
        nonisolated(unsafe) let shared = program
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for call in 0..<3_000 {
                let k = (call * 7 + thread * 3) % feeds.count
                guard let got = try? shared.run(feeds: ["x": feeds[k]])["y"],
                      zip(got.scalars, expected[k].scalars).allSatisfy({ Swift.abs($0 - $1) <= 1e-6 }) else {
                    mismatches.withLock { $0 += 1 }
                    continue
                }
            }
        }
        #expect(mismatches.withLock { $0 } == 0)
    }
}
