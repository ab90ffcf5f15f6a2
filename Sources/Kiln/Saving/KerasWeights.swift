import Foundation

/// Where Keras 3 keeps each layer's variables in `model.weights.h5`: a layer of a model is at
/// `layers/NAME`, where NAME is its class name in snake case (`batch_normalization`), with
/// `_1`, `_2`, ... for repeats in the model's layer order (not the layer's own name); its
/// variables are `vars/0`, `vars/1`, ... in Keras' weight order. A recurrent layer's are in
/// its `cell`, a `Bidirectional`'s in `forward_layer/cell` and `backward_layer/cell`, a
/// `TimeDistributed`'s in `layer`, a nested model's under its own `layers`.
enum KerasWeights {
    /// One group of variables: its HDF5 path (`layers/dense/vars`) and the variables in order.
    struct Group {
        let path: String
        let variables: [LayerVariable]
        /// The layer they belong to, for messages.
        let layer: Layer
    }

    /// Keras' `to_snake_case` of a class name: `Conv2DTranspose` is `conv2d_transpose`,
    /// `SimpleRNN` is `simple_rnn`.
    static func snakeCase(_ name: String) -> String {
        var text = name.filter { $0.isLetter || $0.isNumber || $0 == "_" }
        text = replacing(text, pattern: "(.)([A-Z][a-z]+)")
        return replacing(text, pattern: "([a-z])([A-Z])").lowercased()
    }

    private static func replacing(_ text: String, pattern: String) -> String {
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return text }
        let range = NSRange(text.startIndex..., in: text)
        return expression.stringByReplacingMatches(in: text, range: range, withTemplate: "$1_$2")
    }

    /// The paths Keras gives `classNames` (in the model's layer order) under `prefix`.
    static func paths(_ classNames: [String], under prefix: String) -> [String] {
        var used: [String: Int] = [:]
        return classNames.map { className in
            let name = snakeCase(className)
            let count = used[name].map { $0 + 1 } ?? 0
            used[name] = count
            return "\(prefix)/\(count == 0 ? name : "\(name)_\(count)")"
        }
    }

    /// The variable groups of a model's layers, given as Keras lists them: in order, with
    /// their Keras class names (`InputLayer`, without a layer, where a functional model
    /// lists an input).
    static func groups(of layers: [(className: String, layer: Layer?)], under prefix: String = "layers") -> [Group] {
        zip(layers, paths(layers.map(\.className), under: prefix)).flatMap { entry, path in
            entry.layer.map { groups(of: $0, at: path) } ?? []
        }
    }

    /// The variable groups of one layer at `path`.
    static func groups(of layer: Layer, at path: String) -> [Group] {
        switch layer {
        case let recurrent as Recurrent:
            return [Group(path: "\(path)/cell/vars", variables: recurrent.variables, layer: layer)]
        case let bidirectional as Bidirectional:
            return [Group(path: "\(path)/forward_layer/cell/vars", variables: bidirectional.forwardLayer.variables, layer: layer),
                    Group(path: "\(path)/backward_layer/cell/vars", variables: bidirectional.backwardLayer.variables, layer: layer)]
        case let wrapper as TimeDistributed:
            return groups(of: wrapper.layer, at: "\(path)/layer")
        case let nested as ModelLayer:
            return groups(of: KerasConfig.layerList(of: nested.model), under: "\(path)/layers")
        case is Rescaling:
            // Keras keeps the scale and offset in the configuration.
            return []
        default:
            return [Group(path: "\(path)/vars", variables: layer.variables, layer: layer)]
        }
    }
}
