import Testing
import KilnGraph

@Suite("Tensor")
struct TensorTests {
    @Test func holdsShapeAndScalars() throws {
        let t = try Tensor([[1, 2, 3], [4, 5, 6]])
        #expect(t.shape == [2, 3])
        #expect(t.dtype == .float32)
        #expect(t.scalars == [1, 2, 3, 4, 5, 6])
        #expect(t.type == TensorType(.float32, [2, 3]))
        #expect(Tensor(2.5).shape == [])
        #expect(Tensor([1, 2]).shape == [2])
        let labels = try Tensor(shape: [3], scalars: [Int32(2), 0, 1])
        #expect(labels.dtype == .int32)
        #expect(labels.scalars == [2, 0, 1])
        let mask = try Tensor(shape: [2], scalars: [true, false])
        #expect(mask.scalars == [1, 0])
        #expect(mask.int32Scalars == [1, 0])
    }

    @Test func rejectsInconsistentShapes() {
        let count = #expect(throws: KilnError.self) { try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5]) }
        #expect(count?.message == "Tensor(shape: [2, 3]) needs 6 scalars but was given 5")
        let negative = #expect(throws: KilnError.self) { try Tensor(shape: [2, -1], scalars: [Float]()) }
        #expect(negative?.message.contains("dimension 1 is negative") == true)
        let ragged = #expect(throws: KilnError.self) { try Tensor([[1, 2], [3]]) }
        #expect(ragged?.message == "Tensor(rows): row 1 has 1 values but row 0 has 2")
        #expect(throws: KilnError.self) { try Tensor(shape: [1 << 40, 1 << 40], repeating: Float(0)) }
    }

    @Test func emptyTensors() throws {
        let empty = try Tensor(shape: [0, 3], scalars: [Float]())
        #expect(empty.scalarCount == 0)
        #expect(try Tensor([[Float]]()).shape == [0, 0])
        #expect(empty.description == "f32[0,3]\n[]")
        #expect(try Tensor(shape: [2], repeating: 3) == Tensor([3, 3]))
        #expect(try Tensor(shape: [1], repeating: Int32(3)).dtype == .int32)
    }

    @Test func convertsFloatToInt32LikeKilnCasts() {
        #expect(Tensor.int32(fromFloat: 2.9) == 2)
        #expect(Tensor.int32(fromFloat: -2.9) == -2)
        #expect(Tensor.int32(fromFloat: .nan) == 0)
        #expect(Tensor.int32(fromFloat: .infinity) == .max)
        #expect(Tensor.int32(fromFloat: -.infinity) == .min)
        #expect(Tensor.int32(fromFloat: 3e9) == .max)
        #expect(Tensor.int32(fromFloat: -2_147_483_648) == .min)
    }

    @Test func describesLikeNumPy() throws {
        #expect(try Tensor([[1, 2, 3], [4, 5, 6]]).description == "f32[2,3]\n[[1.0, 2.0, 3.0],\n [4.0, 5.0, 6.0]]")
        #expect(Tensor(1.5).description == "f32[]\n1.5")
        let cube = try Tensor(shape: [2, 1, 2], scalars: [Int32(1), 2, 3, 4])
        #expect(cube.description == "i32[2,1,2]\n[[[1, 2]],\n\n [[3, 4]]]")
        let long = try Tensor(shape: [2000], repeating: Float(0))
        #expect(long.description == "f32[2000]\n[0.0, 0.0, 0.0, ..., 0.0, 0.0, 0.0]")
    }

    @Test func equalityComparesTypeAndValues() throws {
        #expect(try Tensor([[1, 2]]) == Tensor(shape: [1, 2], scalars: [1, 2]))
        #expect(try Tensor([[1, 2]]) != Tensor(shape: [2, 1], scalars: [1, 2]))
        #expect(try Tensor(shape: [1], scalars: [Int32(1)]) != Tensor([1]))
    }

    @Test func seededRandomTensorsAreReproducible() throws {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let x = try Tensor.randomUniform(shape: [100], lower: -2, upper: 3, using: &a)
        #expect(x == (try Tensor.randomUniform(shape: [100], lower: -2, upper: 3, using: &b)))
        #expect(x != (try Tensor.randomUniform(shape: [100], lower: -2, upper: 3, using: &c)))
        #expect(x.scalars.allSatisfy { $0 >= -2 && $0 < 3 })
        let normal = try Tensor.randomNormal(shape: [20_000], mean: 1, standardDeviation: 2, using: &a).scalars
        let mean = normal.reduce(0, +) / Float(normal.count)
        let variance = normal.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(normal.count)
        #expect(Swift.abs(mean - 1) < 0.05, "seed 42: mean \(mean)")
        #expect(Swift.abs(variance.squareRoot() - 2) < 0.05, "seed 42: deviation \(variance.squareRoot())")
    }

    @Test func generatorMatchesReferenceSequence() {
        // xoshiro256** seeded through SplitMix64, values from an independent implementation:
        // a fixed sequence keeps seeded runs reproducible across releases.
        var zero = SeededGenerator(seed: 0)
        #expect((0..<3).map { _ in zero.next() } == [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0])
        var answer = SeededGenerator(seed: 42)
        #expect((0..<2).map { _ in answer.next() } == [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E])
        var bounded = SeededGenerator(seed: 9)
        #expect((0..<1000).allSatisfy { _ in bounded.nextIndex(below: 7) < 7 })
    }
}
