import Foundation
import Kiln
import Testing

/// `loadWeights` matches weights by the model's structure (layer order, then weight order),
/// as Keras does, so the same architecture built again — with new unique layer names —
/// loads its own weights. Matching by name is an option.
@Suite("Loading weights by structure or by name")
struct LoadWeightsTests {
    func temporary(_ suffix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID())\(suffix)").path
    }

    func unnamedModel(hidden: Int = 8) -> Sequential {
        Sequential([Input(shape: [4]), Dense(hidden, activation: .relu), BatchNormalization(), Dense(3, activation: .softmax)])
    }

    @Test("the same architecture built again in the same process loads its own weights")
    func sameArchitectureBuiltAgain() throws {
        let first = unnamedModel(), second = unnamedModel()
        #expect(first.layers.map(\.name) != second.layers.map(\.name))
        let path = temporary(".safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try first.saveWeights(to: path)
        try second.loadWeights(from: path)
        #expect(second.getWeights() == first.getWeights())
        let x = try Tensor(shape: [2, 4], scalars: (0..<8).map { Float($0) / 8 })
        #expect(try second.predict(x) == first.predict(x))
    }

    @Test("by name, the same file needs the same layer names")
    func byNameIsAnOption() throws {
        let first = unnamedModel(), second = unnamedModel()
        let path = temporary(".safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try first.saveWeights(to: path)
        expectError("no tensor", "\(second.layers[0].name)/kernel") { try second.loadWeights(from: path, byName: true) }
        let renamed = Sequential([Input(shape: [4]), Dense(8, name: "a"), Dense(3, name: "b")])
        let reordered = Sequential([Input(shape: [4]), Dense(8, name: "a"), Dense(3, name: "b")])
        try renamed.saveWeights(to: path)
        try reordered.loadWeights(from: path, byName: true)
        #expect(reordered.getWeights() == renamed.getWeights())
    }

    @Test("another structure is an error naming the weights and shapes that differ")
    func anotherStructureIsAnError() throws {
        let path = temporary(".safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = unnamedModel()
        try model.saveWeights(to: path)
        let wider = unnamedModel(hidden: 9)
        let before = wider.getWeights()
        expectError(path, "\(wider.layers[0].name)/kernel", "[4, 9]", "[4, 8]") { try wider.loadWeights(from: path) }
        #expect(wider.getWeights() == before)
        let shorter = Sequential([Input(shape: [4]), Dense(8), Dense(3)])
        expectError(path, "has 8 weights", "has 4") { try shorter.loadWeights(from: path) }
    }

    @Test("a .kiln file's weights load too (as Keras' load_weights reads .keras files)")
    func fromAKilnFile() throws {
        let path = temporary(".kiln")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = unnamedModel()
        model.compile(optimizer: Adam(), loss: .sparseCategoricalCrossentropy)
        try model.save(to: path)
        let again = unnamedModel()
        try again.loadWeights(from: path)
        #expect(again.getWeights() == model.getWeights())
    }

    @Test("a weights file that gives no order is loaded by name only, and says so")
    func noOrderInTheFile() throws {
        let path = temporary(".safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let header = #"{"d/kernel":{"dtype":"F32","shape":[4,2],"data_offsets":[0,32]}}"#
        try Handmade.safetensors(header: header, body: Data(count: 32)).write(to: URL(fileURLWithPath: path))
        let model = Sequential([Input(shape: [4]), Dense(2, useBias: false, name: "d")])
        expectError(path, "byName: true") { try model.loadWeights(from: path) }
        try model.loadWeights(from: path, byName: true)
        #expect(model.getWeights()[0].scalars == Array(repeating: 0, count: 8))
    }
}
