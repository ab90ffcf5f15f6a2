import Foundation
import Kiln
import Testing

/// Files made by hand, so that tests can write what Kiln never would.
enum Handmade {
    /// A zip archive of stored (uncompressed) entries.
    static func zip(_ entries: [(String, Data)]) -> Data {
        func le(_ value: Int, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        var out = [UInt8](), directory = [UInt8]()
        for (name, data) in entries {
            let bytes = [UInt8](data), nameBytes = [UInt8](name.utf8)
            let crc = Int(HandmadeGzip.crc32(bytes)), offset = out.count
            out += le(0x0403_4B50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) + le(bytes.count, 4)
                + le(bytes.count, 4) + le(nameBytes.count, 2) + le(0, 2) + nameBytes + bytes
            directory += le(0x0201_4B50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4)
                + le(bytes.count, 4) + le(bytes.count, 4) + le(nameBytes.count, 2) + le(0, 2) + le(0, 2) + le(0, 2)
                + le(0, 2) + le(0, 4) + le(offset, 4) + nameBytes
        }
        let start = out.count
        out += directory
        out += le(0x0605_4B50, 4) + le(0, 2) + le(0, 2) + le(entries.count, 2) + le(entries.count, 2)
            + le(directory.count, 4) + le(start, 4) + le(0, 2)
        return Data(out)
    }

    /// A safetensors file with a header written as given and `body` after it.
    static func safetensors(header: String, body: Data) -> Data {
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(body)
        return data
    }

    /// f32 tensors as a safetensors file.
    static func safetensors(_ tensors: [(name: String, shape: [Int], values: [Float])]) -> Data {
        var fields: [String] = [], body = Data()
        for tensor in tensors {
            let start = body.count
            for value in tensor.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            fields.append("\"\(tensor.name)\":{\"dtype\":\"F32\",\"shape\":\(tensor.shape),\"data_offsets\":[\(start),\(body.count)]}")
        }
        return safetensors(header: "{" + fields.joined(separator: ",") + "}", body: body)
    }

    /// The `config.json` of a Sequential model `in` [4] → Dense `d` (`units`), with each field
    /// replaceable by raw JSON text.
    static func config(units: String = "3", shape: String = "[4]", dtype: String = "\"f32\"", compile: String? = nil,
                       layer: String? = nil) -> String {
        let dense = layer ?? """
            {"class_name":"Dense","name":"d","trainable":true,"config":{"units":\(units),"activation":"linear",\
            "use_bias":true,"kernel_initializer":"zeros","bias_initializer":"zeros"}}
            """
        return """
            {"format":"kiln","version":1,"class_name":"Sequential","name":"m",\
            "inputs":[{"name":"in","shape":\(shape),"dtype":\(dtype)}],"layers":[\(dense)],\
            "calls":[{"layer":"\(layer == nil ? "d" : "r")","inputs":["in"],"output":"out"}],"output":"out"\
            \(compile.map { ",\"compile\":\($0)" } ?? "")}
            """
    }

    static let sgdCompile = """
        {"optimizer":{"name":"sgd","learning_rate":0.01,"momentum":0,"nesterov":false},\
        "loss":"mean_squared_error","metrics":[]}
        """

    /// The weights of `config()`'s Dense layer, with `extra` tensors.
    static func weights(_ extra: [(name: String, shape: [Int], values: [Float])] = []) -> Data {
        safetensors([("d/kernel", [4, 3], Array(repeating: 0.5, count: 12)), ("d/bias", [3], [0, 0, 0])] + extra)
    }
}

/// Absurd sizes, numbers out of range and impossible arguments: each a thrown error naming
/// what was wrong, never an overflow trap, a failed allocation or a hang.
@Suite("Hostile sizes and numbers are errors")
struct HostileInputTests {
    let x = try! Tensor(shape: [6, 4], scalars: (0..<24).map { Float($0) / 24 })
    let labels = try! Tensor(shape: [6], scalars: [Float(0), 1, 2, 0, 1, 2])

    func temporary(_ suffix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(UUID())\(suffix)").path
    }

    /// Loads a `.kiln` made of `config` and `weights`, expecting an error with `fragments`.
    func expectLoadError(_ config: String, _ weights: Data = Handmade.weights(), _ fragments: String...,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = temporary(".kiln")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Handmade.zip([("config.json", Data(config.utf8)), ("model.safetensors", weights)]).write(to: URL(fileURLWithPath: path))
        do {
            _ = try Model.load(from: path)
            Issue.record("loaded without error", sourceLocation: sourceLocation)
        } catch let error as KilnError {
            for fragment in [path] + fragments where !error.message.contains(fragment) {
                Issue.record("\(error.message) does not mention \(fragment)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("the handmade .kiln loads when nothing is wrong with it")
    func handmadeFileLoads() throws {
        let path = temporary(".kiln")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = Handmade.config(compile: Handmade.sgdCompile)
        try Handmade.zip([("config.json", Data(config.utf8)), ("model.safetensors", Handmade.weights())])
            .write(to: URL(fileURLWithPath: path))
        let model = try Model.load(from: path)
        #expect(model.getWeights()[0].scalars == Array(repeating: 0.5, count: 12))
        #expect(model.optimizer is SGD)
    }

    @Test("batchSize: Int.max is one batch of everything")
    func hugeBatchSize() throws {
        let model = smallClassifier()
        let history = try model.fit(x, labels, batchSize: .max, epochs: 2, verbose: 0)
        #expect(history.history["loss"]?.count == 2 && model.optimizer?.iterations == 2)
        #expect(try model.evaluate(x, labels, batchSize: .max, verbose: 0)["loss"] != nil)
        #expect(try model.predict(x, batchSize: .max).shape == [6, 3])
    }

    @Test("sizes whose product overflows, in the non-throwing initialisers")
    func overflowingShapes() throws {
        let reshaped = Sequential([Input(shape: [4]), Reshape([Int.max, 2])])
        expectError("Reshape", "overflows") { _ = try reshaped.predict(x) }
        let flattened = Sequential([Input(shape: [1 << 31, 1 << 31, 4]), Flatten()])
        expectError("Input", "[2147483648, 2147483648, 4]") { _ = try flattened.predict(x) }
        let functional = Model(inputs: Input(shape: [1 << 40, 1 << 40]), outputs: Dense(2)(Input(shape: [2])))
        expectError("Input") { _ = try functional.predict(x) }
    }

    @Test("a weight or a one-hot table beyond the size limit is an error before anything is allocated")
    func absurdAllocations() throws {
        let wide = Sequential([Input(shape: [4]), Dense(1 << 40)])
        expectError("Dense", "kernel", "limit") { _ = try wide.predict(x) }
        expectError("classes", "limit") { _ = try oneHot(labels, classes: 1 << 40) }
        expectError("limit") { _ = try Tensor(shape: [1 << 30, 1 << 30], repeating: Float(0)) }
        expectError("limit") { _ = try Initializer.glorotUniform.tensor(shape: [1 << 20, 1 << 20]) }
        #expect(Tensor.byteLimit == 1 << 34)
    }

    @Test("a huge batch is refused by the program before it allocates its scratch memory", arguments: Backend.allCases)
    func hugeBatchInAProgram(_ backend: Backend) throws {
        let graph = Graph()
        let input = try graph.placeholder("x", shape: [.batch, 1])
        let wide = graph.constant(try Tensor(shape: [1, 1 << 16], repeating: Float(1)))
        let program = try backend.compile(graph, outputs: ["y": try input * wide])
        // 2^20 rows of 2^16 floats: 256 GiB of intermediate values.
        let feed = try Tensor(shape: [1 << 20, 1], repeating: Float(1))
        expectError("limit") { _ = try program.run(feeds: ["x": feed]) }
    }

    @Test("a safetensors shape whose byte count overflows is an error")
    func safetensorsHugeShape() throws {
        let path = temporary(".safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        for shape in ["[2305843009213693952]", "[4611686018427387904, 4]", "[1e30]", "[4.5]", "[-1]"] {
            let header = #"{"hidden/kernel":{"dtype":"F32","shape":"# + shape + #","data_offsets":[0,8]}}"#
            try Handmade.safetensors(header: header, body: Data(count: 8)).write(to: URL(fileURLWithPath: path))
            expectError(path, "hidden/kernel") { try smallClassifier().loadWeights(from: path, byName: true) }
        }
        for offsets in ["[0,1e300]", "[-8,0]", "[0,9223372036854775807]"] {
            let header = #"{"hidden/kernel":{"dtype":"F32","shape":[2],"data_offsets":"# + offsets + "}}"
            try Handmade.safetensors(header: header, body: Data(count: 8)).write(to: URL(fileURLWithPath: path))
            expectError(path, "hidden/kernel") { try smallClassifier().loadWeights(from: path, byName: true) }
        }
    }

    @Test("numbers in a saved configuration that do not fit the field are errors naming it")
    func configurationNumbers() throws {
        for units in ["1e30", "1e300", "4.5", "-3", "0", "\"3\""] {
            try expectLoadError(Handmade.config(units: units), Handmade.weights(), "\"units\"")
        }
        try expectLoadError(Handmade.config(units: "100000000000000"), Handmade.weights(), "Dense", "limit")
        try expectLoadError(Handmade.config(shape: "[4.5]"), Handmade.weights(), "\"shape\"")
        try expectLoadError(Handmade.config(shape: "[1e30]"), Handmade.weights(), "\"shape\"")
        try expectLoadError(Handmade.config(shape: "[-4]"), Handmade.weights(), "\"shape\"")
        let rescaling = #"{"class_name":"Rescaling","name":"r","trainable":true,"config":{"features":-1}}"#
        try expectLoadError(Handmade.config(layer: rescaling), Handmade.weights(), "\"features\"")
        let reshape = #"{"class_name":"Reshape","name":"r","trainable":true,"config":{"target_shape":[1e30]}}"#
        try expectLoadError(Handmade.config(layer: reshape), Handmade.weights(), "\"target_shape\"")
    }

    @Test("fields of the wrong kind are errors, not silently read as something else")
    func silentAcceptances() throws {
        try expectLoadError(Handmade.config(dtype: "\"bool\""), Handmade.weights(), "\"dtype\"", "bool")
        try expectLoadError(Handmade.config(dtype: "\"f64\""), Handmade.weights(), "\"dtype\"")
        try expectLoadError(Handmade.config(compile: "5"), Handmade.weights(), "\"compile\"")
        try expectLoadError(Handmade.config(compile: #"{"optimizer":{"name":"sgd","learning_rate":1e300,"#
                                            + #""momentum":0,"nesterov":false},"loss":"mean_squared_error","metrics":[]}"#),
                            Handmade.weights(), "\"learning_rate\"")
    }

    @Test("optimizer state read from a file is checked", arguments: [
        ("iterations", [Int](), [Float.nan], "nan"), ("iterations", [], [1e30], "1e+30"), ("iterations", [0], [], "[0]"),
        ("iterations", [], [-2], "-2"), ("iterations", [], [2.5], "2.5"), ("learning_rate", [], [.infinity], "inf"),
        ("d/kernel/momentum", [3, 4], Array(repeating: 0, count: 12), "[3, 4]"),
        ("nothing/kernel/momentum", [4, 3], Array(repeating: 0, count: 12), "nothing/kernel"),
    ])
    func optimizerState(_ state: (name: String, shape: [Int], values: [Float], fragment: String)) throws {
        let weights = Handmade.weights([("sgd/" + state.name, state.shape, state.values)])
        try expectLoadError(Handmade.config(compile: Handmade.sgdCompile), weights, "sgd/\(state.name)", state.fragment)
    }

    @Test("a tensor in a .kiln that nothing owns is an error naming it")
    func strayTensor() throws {
        try expectLoadError(Handmade.config(), Handmade.weights([("adam/iterations", [], [3])]), "adam/iterations", "not compiled")
    }

    @Test("classWeight with a label that is no class index names the row")
    func classWeightLabels() throws {
        let model = Sequential([Input(shape: [4], name: "features"), Dense(1, activation: .sigmoid)])
        model.compile(optimizer: SGD(), loss: .binaryCrossentropy)
        let y = try Tensor(shape: [6], scalars: [Float(0), 1, 1e30, 0, 1, 0])
        expectError("row 2", "1e+30") { try model.fit(x, y, classWeight: [0: 1, 1: 2], verbose: 0) }
        model.checksFiniteInputs = false
        let nan = try Tensor(shape: [6], scalars: [Float(0), 1, 0, .nan, 1, 0])
        expectError("row 3", "nan") { try model.fit(x, nan, classWeight: [0: 1, 1: 2], verbose: 0) }
    }

    @Test("negative epochs, a negative initial epoch and a negative batch are errors", arguments: Backend.allCases)
    func negativeCounts(_ backend: Backend) throws {
        let model = smallClassifier(backend: backend)
        expectError("epochs", "-3") { try model.fit(x, labels, epochs: -3, verbose: 0) }
        expectError("initialEpoch", "-4") { try model.fit(x, labels, initialEpoch: -4, verbose: 0) }
        let graph = Graph()
        let input = try graph.placeholder("x", shape: [.batch, 2])
        let w = try graph.variable("w", initialValue: Tensor([1, 1]))
        _ = try graph.assign(w, w + sum(input, axes: [0]))
        let program = try backend.compile(graph, outputs: [:])
        let row: [Float] = [1, 2]
        try row.withUnsafeBytes { raw in
            let addresses = [raw.baseAddress!]
            try addresses.withUnsafeBufferPointer { inputs in
                expectError("batch", "-5") { try program.runAssigns(batch: -5, inputs: inputs) }
                try program.runAssigns(batch: 1, inputs: inputs)
            }
        }
        #expect(try program.variable("w") == Tensor([2, 3]))
    }
}
