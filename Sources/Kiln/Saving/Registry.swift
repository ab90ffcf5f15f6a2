import KilnGraph
import Synchronization

/// Custom objects registered by name so that saved models can name them: layer types,
/// losses, metrics.
final class Registry<Value: Sendable>: Sendable {
    private let values = Mutex<[String: Value]>([:])

    /// Registers `value` as `name`, replacing an earlier registration.
    func register(_ name: String, _ value: Value) { values.withLock { $0[name] = value } }

    /// The value registered as `name`.
    subscript(name: String) -> Value? { values.withLock { $0[name] } }

    /// The registered names, sorted.
    var names: [String] { values.withLock { $0.keys.sorted() } }

    /// `, and the registered a, b` to end a list of the built-in names in an error, or nothing.
    var listing: String {
        let names = names
        return names.isEmpty ? "" : ", and the registered \(names.joined(separator: ", "))"
    }
}

/// Custom losses registered for loading, by name.
enum CustomLosses {
    typealias Body = @Sendable (_ yTrue: Node, _ yPred: Node) throws -> Node

    static let registry = Registry<Body>()
}

/// Custom layer types registered for loading, by type name.
enum CustomLayers {
    /// Makes a layer called `name` from its saved configuration.
    typealias Factory = @Sendable (_ name: String, _ config: ConfigReader) throws -> Layer

    static let registry = Registry<Factory>()
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
        CustomLayers.registry.register(typeName, make)
    }
}

extension Loss {
    /// A custom loss (as ``custom(name:_:)``) registered by `name`, so that a model compiled
    /// with it saves its compile settings and loads compiled, and `compile(loss: name)` finds
    /// it (Keras' `register_keras_serializable`). Register it before loading.
    ///
    /// - Throws: ``KilnError`` if `name` is one of Keras' built-in losses.
    @discardableResult
    public static func register(name: String, _ body: @escaping @Sendable (_ yTrue: Node, _ yPred: Node) throws -> Node) throws -> Loss {
        if (try? Loss(builtIn: name)) != nil {
            throw KilnError(.invalidArgument, "loss \(String(reflecting: name)) is built in; give a custom loss another name")
        }
        CustomLosses.registry.register(name, body)
        return registered(name, body)
    }

    /// The registered loss `name`, saved as `{"name": name, "registered": true}`.
    static func registered(_ name: String, _ body: @escaping CustomLosses.Body) -> Loss {
        Loss(name: name, config: .object(["name": .string(name), "registered": .bool(true)]), body)
    }
}
