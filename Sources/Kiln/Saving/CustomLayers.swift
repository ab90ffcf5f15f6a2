import Synchronization

/// Custom layer types registered for loading, by type name.
enum CustomLayers {
    /// Makes a layer called `name` from its saved configuration.
    typealias Factory = @Sendable (_ name: String, _ config: ConfigReader) throws -> Layer

    private static let factories = Mutex<[String: Factory]>([:])

    static func register(_ typeName: String, _ make: @escaping Factory) {
        factories.withLock { $0[typeName] = make }
    }

    static func factory(_ typeName: String) -> Factory? { factories.withLock { $0[typeName] } }
}

extension Layer {
    /// Registers a custom layer type so that ``Model/load(from:)`` can make it again from the
    /// ``config`` it saved (Keras' `register_keras_serializable`): `make` gets the layer's
    /// name and its configuration; the weights are built and then read from the file.
    ///
    /// ```swift
    /// final class Scale: Layer {
    ///     let initial: Float
    ///     init(initial: Float = 1, name: String? = nil) { self.initial = initial; super.init(name: name) }
    ///     override var config: [String: JSONValue] { ["initial": .number(Double(initial))] }
    ///     ...
    /// }
    /// Scale.register { name, config in Scale(initial: try config.float("initial"), name: name) }
    /// ```
    ///
    /// Register before loading; a later registration of the same type replaces the earlier.
    /// Built-in types cannot be replaced.
    public static func register(_ make: @escaping @Sendable (_ name: String, _ config: ConfigReader) throws -> Layer) {
        CustomLayers.register(typeName, make)
    }
}
