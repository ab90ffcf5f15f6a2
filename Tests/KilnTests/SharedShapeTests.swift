import Foundation
import Kiln
import Testing

@Suite("A built layer called on other shapes its weights fit")
struct SharedShapeTests {
    @Test("an Embedding, an LSTM and a Dense shared by models of 12-step and 5-step sequences, alike on both backends")
    func sequencesOfTwoLengths() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        for backend in Backend.allCases {
            Kiln.setRandomSeed(3)
            let embedding = Embedding(inputDim: 20, outputDim: 4), lstm = LSTM(3, returnSequences: true), dense = Dense(2)
            func model(_ steps: Int) -> Model {
                let ids = Input(shape: [steps], dtype: .int32)
                return Model(inputs: ids, outputs: dense(lstm(embedding(ids))))
            }
            let long = model(12), short = model(5)
            #expect(embedding.variables.count == 1 && lstm.variables.count == 3)
            #expect(long.variables.map(\.path) == short.variables.map(\.path))
            var generator = SeededGenerator(seed: 9)
            let ids = (0..<24).map { _ in Int32(generator.next() % 20) }
            let x12 = try Tensor(shape: [2, 12], scalars: ids)
            // The first 5 steps of a sequence give the same outputs in both models.
            let x5 = try Tensor(shape: [2, 5], scalars: Array(ids[0..<5]) + Array(ids[12..<17]))
            long.compile(loss: .meanSquaredError, backend: backend)
            short.compile(loss: .meanSquaredError, backend: backend)
            let a = try long.predict(x12), b = try short.predict(x5)
            #expect(a.shape == [2, 12, 2] && b.shape == [2, 5, 2])
            for sample in 0..<2 {
                let first = Array(a.scalars[(sample * 24)..<(sample * 24 + 10)]), other = Array(b.scalars[(sample * 10)..<(sample * 10 + 10)])
                #expect(zip(first, other).allSatisfy { Swift.abs($0 - $1) < 1e-5 }, "\(first) vs \(other) on \(backend)")
            }
            // Training one trains the weights the other uses.
            try short.fit(x5, Tensor(shape: [2, 5, 2], repeating: Float(0.5)), epochs: 2, verbose: 0)
            #expect(try long.predict(x12).scalars != a.scalars)
        }
    }

    @Test("convolutions take images of another size; other feature counts are still errors naming both shapes")
    func sizes() {
        let conv = Conv2D(2, kernelSize: [3, 3])
        let small = Input(shape: [8, 8, 1]), large = Input(shape: [12, 10, 1])
        #expect(conv(small).shape == [6, 6, 2] && conv(large).shape == [10, 8, 2])
        expectModelError("conv2d", "was built for inputs (None, 8, 8, 1), called on (None, 8, 8, 3)") {
            Sequential([Input(shape: [8, 8, 3]), conv])
        }
        let dense = Dense(3)
        _ = dense(Input(shape: [4]))
        expectModelError("dense", "was built for inputs (None, 4), called on (None, 5)") { Sequential([Input(shape: [5]), dense]) }
        #expect(dense(Input(shape: [7, 4])).shape == [7, 3])
    }
}
