import Foundation
import Kiln
import Testing

/// Small images whose label says whether the bright pixels sit in the top half, seeded.
func stripeImages(_ count: Int, size: Int = 8, seed: UInt64) throws -> (x: Tensor, y: Tensor) {
    var generator = SeededGenerator(seed: seed)
    var pixels: [Float] = [], labels: [Float] = []
    for i in 0..<count {
        let top = i % 2 == 0
        for row in 0..<size {
            for _ in 0..<size {
                let bright = (row < size / 2) == top
                pixels.append((bright ? 0.8 : 0.1) + generator.nextNormal() * 0.1)
            }
        }
        labels.append(top ? 1 : 0)
    }
    return (try Tensor(shape: [count, size, size, 1], scalars: pixels), try Tensor(shape: [count], scalars: labels))
}

/// The classic Keras convnet, at `size`×`size` images.
func classicConvnet(size: Int = 28, classes: Int = 10, dropout: Float = 0.5) -> Sequential {
    Sequential([
        Input(shape: [size, size, 1]),
        Conv2D(32, kernelSize: [3], activation: .relu),
        MaxPooling2D(poolSize: [2]),
        Conv2D(64, kernelSize: [3, 3], activation: .relu),
        MaxPooling2D(poolSize: [2, 2]),
        Flatten(),
        Dropout(dropout),
        Dense(classes, activation: .softmax),
    ])
}

@Suite("Convolution and pooling layers")
struct ConvolutionLayerTests {
    @Test("the classic convnet's summary has Keras' names, shapes and parameter counts")
    func summaryMatchesKeras() throws {
        let text = classicConvnet().summaryText()
        for expected in ["conv2d", "(Conv2D)", "(None, 26, 26, 32)", "320", "max_pooling2d", "(MaxPooling2D)",
                         "(None, 13, 13, 32)", "(None, 11, 11, 64)", "18,496", "(None, 5, 5, 64)", "(None, 1600)",
                         "16,010", "Total params: 34,826 (136.04 KB)"] {
            #expect(text.contains(expected), "\(expected) not in\n\(text)")
        }
    }

    @Test("shapes of same and valid padding, strides, dilation and the global poolings")
    func outputShapes() throws {
        let x = Input(shape: [9, 7, 3])
        #expect(Conv2D(4, kernelSize: [3], strides: [2], padding: .same)(x).shape == [5, 4, 4])
        #expect(Conv2D(4, kernelSize: [3, 2], dilationRate: [2])(x).shape == [5, 5, 4])
        #expect(MaxPooling2D(poolSize: [2], strides: [1])(x).shape == [8, 6, 3])
        #expect(AveragePooling2D(poolSize: [3], padding: .same)(x).shape == [3, 3, 3])
        #expect(GlobalAveragePooling2D()(x).shape == [3])
        #expect(GlobalMaxPooling2D(keepDims: true)(x).shape == [1, 1, 3])
        let conv = Conv2D(5, kernelSize: [2, 3])
        _ = conv(x)
        #expect(conv.variables.map(\.shape) == [[2, 3, 3, 5], [5]])
        #expect(conv.variables.map(\.name) == ["kernel", "bias"])
    }

    @Test("windows larger than the input, wrong ranks and bad sizes are errors naming the layer")
    func badInput() throws {
        expectModelError("conv2d", "5×5", "4×4") { Sequential([Input(shape: [4, 4, 1]), Conv2D(2, kernelSize: [5])]) }
        expectModelError("images [height, width, channels]", "(None, 28, 28)") {
            Sequential([Input(shape: [28, 28]), Conv2D(2, kernelSize: [3])])
        }
        expectModelError("kernel_size", "[0, 0]") { Sequential([Input(shape: [4, 4, 1]), Conv2D(2, kernelSize: [0])]) }
        expectModelError("max_pooling2d", "3×3", "2×2") { Sequential([Input(shape: [2, 2, 1]), MaxPooling2D(poolSize: [3])]) }
        expectModelError("filters must be positive") { Sequential([Input(shape: [4, 4, 1]), Conv2D(0, kernelSize: [1])]) }
    }

    @Test("a small convnet learns on both backends, identically, and survives saving", arguments: Backend.allCases)
    func trainsSavesAndLoads(_ backend: Backend) throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let (x, y) = try stripeImages(64, seed: 3)
        Kiln.setRandomSeed(5)
        let model = Sequential([
            Input(shape: [8, 8, 1]),
            Conv2D(4, kernelSize: [3], padding: .same, activation: .relu),
            MaxPooling2D(poolSize: [2]),
            Conv2D(6, kernelSize: [2], strides: [2], activation: .relu),
            AveragePooling2D(poolSize: [2], strides: [1], padding: .same),
            GlobalAveragePooling2D(),
            Dense(2, activation: .softmax),
        ])
        model.compile(optimizer: Adam(learningRate: 0.05), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy],
                      backend: backend)
        let history = try model.fit(x, y, batchSize: 16, epochs: 15, verbose: 0)
        let accuracy = try #require(history.history["accuracy"]?.last)
        #expect(accuracy > 0.9, "accuracy \(accuracy)")

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-conv-\(UUID()).kiln").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(to: path)
        let again = try Model.load(from: path)
        #expect(again.layers.map { String(describing: type(of: $0)) } == model.layers.map { String(describing: type(of: $0)) })
        let (before, after) = (try model.predict(x).scalars, try again.predict(x).scalars)
        #expect(zip(before, after).allSatisfy { Swift.abs($0 - $1) <= 1e-5 }, "the loaded model predicts otherwise")
        let conv = try #require(again.layers.first as? Conv2D)
        #expect(conv.padding == .same && conv.kernelSize == [3, 3])
    }

    @Test("the backends agree step by step on a convnet with dropout, rtol 1e-4")
    func backendsAgree() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let (x, y) = try stripeImages(32, size: 12, seed: 9)
        var weights: [[Tensor]] = [], losses: [[Float]] = []
        for backend in Backend.allCases {
            Kiln.setRandomSeed(2)
            let model = classicConvnet(size: 12, classes: 2, dropout: 0.3)
            model.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy, backend: backend)
            losses.append(try #require(try model.fit(x, y, batchSize: 8, epochs: 2, verbose: 0).history["loss"]))
            weights.append(model.getWeights())
        }
        for (a, b) in zip(losses[0], losses[1]) { #expect(Swift.abs(a - b) <= 1e-4 * Swift.abs(a) + 1e-6, "\(a) vs \(b)") }
        for (u, v) in zip(weights[0], weights[1]) {
            #expect(zip(u.scalars, v.scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-4 * Swift.abs($1) + 1e-5 })
        }
    }
}

@Suite("1-D, transposed, padding, upsampling and spatial dropout layers")
struct MoreImageLayerTests {
    /// The output of `layer` on `x` with `weights`, on one backend.
    func output(_ layer: Layer, _ x: Tensor, weights: [Tensor], backend: Backend = .jit) throws -> Tensor {
        let model = Sequential([Input(shape: Array(x.shape.dropFirst())), layer])
        if !weights.isEmpty { try layer.setWeights(weights) }
        model.compile(optimizer: SGD(), loss: .meanSquaredError, backend: backend)
        return try model.predict(x)
    }

    @Test("values Keras 3.15 computes: causal Conv1D, Conv2DTranspose valid and same", arguments: Backend.allCases)
    func kerasValues(_ backend: Backend) throws {
        let causal = try output(Conv1D(1, kernelSize: 2, padding: .causal, useBias: false), try Tensor(shape: [1, 3, 1], scalars: [Float(1), 2, 3]),
                                weights: [try Tensor(shape: [2, 1, 1], scalars: [Float(1), 10])], backend: backend)
        #expect(causal.scalars == [10, 21, 32])
        let stamped = try output(Conv2DTranspose(1, kernelSize: [2], strides: [2], useBias: false),
                                 try Tensor(shape: [1, 2, 2, 1], scalars: [Float(1), 2, 3, 4]),
                                 weights: [try Tensor(shape: [2, 2, 1, 1], scalars: [Float(1), 2, 3, 4])], backend: backend)
        #expect(stamped.shape == [1, 4, 4, 1] && stamped.scalars == [1, 2, 2, 4, 3, 4, 6, 8, 3, 6, 4, 8, 9, 12, 12, 16])
        let same = try output(Conv2DTranspose(2, kernelSize: [3], strides: [2], padding: .same, useBias: false),
                              try Tensor(shape: [1, 3, 3, 2], scalars: (0..<18).map { Float($0) / 10 }),
                              weights: [try Tensor(shape: [3, 3, 2, 2], scalars: (0..<36).map { (Float($0) - 17) / 10 })], backend: backend)
        #expect(same.shape == [1, 6, 6, 2])
        let head: [Float] = [-0.16, -0.14, -0.12, -0.10, -0.90, -0.78, -0.62, -0.52, -1.90, -1.62, -1.12, -0.94]
        let tail: [Float] = [-0.14, 0.44, -0.46, 0.78, -0.16, 0.50]
        for (a, b) in zip(Array(same.scalars.prefix(12)) + Array(same.scalars.suffix(6)), head + tail) {
            #expect(Swift.abs(a - b) <= 1e-5, "\(a) vs \(b)")
        }
    }

    @Test("shapes and values of pooling, padding and upsampling")
    func shapesAndValues() throws {
        let sequence = Input(shape: [10, 3])
        #expect(Conv1D(4, kernelSize: 3)(sequence).shape == [8, 4])
        #expect(Conv1D(4, kernelSize: 3, strides: 2, padding: .same)(sequence).shape == [5, 4])
        #expect(Conv1D(4, kernelSize: 3, padding: .causal, dilationRate: 2)(sequence).shape == [10, 4])
        #expect(MaxPooling1D(poolSize: 3)(sequence).shape == [3, 3])
        #expect(AveragePooling1D(poolSize: 4, strides: 2, padding: .same)(sequence).shape == [5, 3])
        #expect(GlobalMaxPooling1D()(sequence).shape == [3] && GlobalAveragePooling1D(keepDims: true)(sequence).shape == [1, 3])
        let image = Input(shape: [5, 4, 2])
        #expect(Conv2DTranspose(3, kernelSize: [3], strides: [2])(image).shape == [11, 9, 3])
        #expect(Conv2DTranspose(3, kernelSize: [3], strides: [2], padding: .same)(image).shape == [10, 8, 3])
        #expect(ZeroPadding2D(padding: [[1, 2], [0, 3]])(image).shape == [8, 7, 2])
        #expect(UpSampling2D(size: [2, 3])(image).shape == [10, 12, 2])
        #expect(SpatialDropout2D(0.5)(image).shape == [5, 4, 2])

        let pixels = try Tensor(shape: [1, 1, 2, 1], scalars: [Float(1), 2])
        #expect(try output(UpSampling2D(size: [2]), pixels, weights: []).scalars == [1, 1, 2, 2, 1, 1, 2, 2])
        #expect(try output(ZeroPadding2D(padding: [[1, 0], [0, 1]]), pixels, weights: []).scalars == [0, 0, 0, 1, 2, 0])
        let steps = try Tensor(shape: [1, 5, 1], scalars: [Float(3), 1, 4, 1, 5])
        #expect(try output(MaxPooling1D(poolSize: 2), steps, weights: []).scalars == [3, 4])
        #expect(try output(AveragePooling1D(poolSize: 2, padding: .same), steps, weights: []).scalars == [2, 2.5, 5])
        #expect(try output(GlobalMaxPooling1D(), steps, weights: []).scalars == [5])
    }

    @Test("bad arguments are errors naming the layer")
    func badArguments() throws {
        expectModelError("causal padding is for Conv1D") { Sequential([Input(shape: [4, 4, 1]), Conv2D(2, kernelSize: [2], padding: .causal)]) }
        expectModelError("interpolation", "bilinear") { Sequential([Input(shape: [4, 4, 1]), UpSampling2D(interpolation: "bilinear")]) }
        expectModelError("conv1d", "sequences [steps, channels]") { Sequential([Input(shape: [4, 4, 1]), Conv1D(2, kernelSize: 2)]) }
        expectModelError("max_pooling1d", "3", "2") { Sequential([Input(shape: [2, 1]), MaxPooling1D(poolSize: 3)]) }
        expectModelError("padding needs") { Sequential([Input(shape: [4, 4, 1]), ZeroPadding2D(padding: [[1, -1], [0, 0]])]) }
        expectModelError("rate must be in [0, 1)") { Sequential([Input(shape: [4, 4, 1]), SpatialDropout2D(1)]) }
    }

    @Test("a model of every image layer trains alike on both backends and survives saving")
    func everyImageLayerTrainsAndSaves() throws {
        seededRuns.lock()
        defer { seededRuns.unlock() }
        let (x, y) = try stripeImages(24, size: 8, seed: 12)
        var weights: [[Tensor]] = [], predictions: [[Float]] = []
        for backend in Backend.allCases {
            Kiln.setRandomSeed(8)
            let image = Input(shape: [8, 8, 1])
            var h = ZeroPadding2D(1)(image)
            h = Conv2D(4, kernelSize: [3], strides: [2], activation: .relu)(h)
            h = SpatialDropout2D(0.25)(BatchNormalization()(h))
            h = UpSampling2D(size: [2])(h)
            h = Conv2DTranspose(3, kernelSize: [3], strides: [2], padding: .same, activation: .relu)(h)
            h = AveragePooling2D(poolSize: [2])(MaxPooling2D(poolSize: [2], strides: [1], padding: .same)(h))
            h = Reshape([64, 3])(h)
            h = Conv1D(4, kernelSize: 3, padding: .causal, dilationRate: 2, activation: .tanh)(h)
            h = AveragePooling1D(poolSize: 2)(MaxPooling1D(poolSize: 2, strides: 1, padding: .same)(h))
            let pooled = Concatenate()([GlobalAveragePooling1D()(h), GlobalMaxPooling1D()(h)])
            let model = Model(inputs: image, outputs: Dense(2, activation: .softmax)(pooled))
            model.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy, backend: backend)
            try model.fit(x, y, batchSize: 8, epochs: 2, verbose: 0)
            weights.append(model.getWeights())
            predictions.append(try model.predict(x).scalars)

            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-image-\(UUID()).kiln").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.save(to: path)
            let again = try Model.load(from: path)
            #expect(again.layers.map(\.description) == model.layers.map(\.description))
            #expect(zip(try again.predict(x).scalars, predictions.last!).allSatisfy { Swift.abs($0 - $1) <= 1e-5 })
        }
        for (u, v) in zip(weights[0], weights[1]) {
            #expect(zip(u.scalars, v.scalars).allSatisfy { Swift.abs($0 - $1) <= 1e-4 * Swift.abs($1) + 1e-5 })
        }
    }
}

/// Expects building `body`'s model to fail with a message holding every fragment.
func expectModelError(_ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation, _ body: () -> Model) {
    let text = body().summaryText()
    #expect(text.contains("(not built: "), "\(text)", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(text.contains(fragment), "\(fragment) not in \(text)", sourceLocation: sourceLocation)
    }
}
