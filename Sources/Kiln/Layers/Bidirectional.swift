import KilnGraph

/// Runs a recurrent layer over the sequence in both directions and merges the two outputs
/// (Keras' `Bidirectional`): the forward copy as configured, the backward copy with
/// `goBackwards` flipped; with `returnSequences`, the backward outputs are put back in the
/// input's step order before merging.
///
/// Shapes: input `[batch, steps, features]`; output `[batch, 2·units]` (`concat`) or
/// `[batch, units]` (`sum`, `mul`, `ave`), with a `steps` axis before it when the layer
/// returns sequences. Weights: the forward layer's, then the backward layer's, saved as
/// `bidirectional/forward_lstm/kernel`, ...
public final class Bidirectional: Layer {
    /// How the two directions' outputs are combined.
    public enum MergeMode: String, Sendable {
        /// Joined along the last axis (Keras' default).
        case concat
        /// Added.
        case sum
        /// Multiplied.
        case mul
        /// Averaged.
        case ave
    }

    /// The layer running in the given direction.
    public let forwardLayer: Recurrent
    /// Its copy running the other way.
    public let backwardLayer: Recurrent
    /// How the outputs are combined.
    public let mergeMode: MergeMode
    /// The wrapped layer's name, which its copies' names end with.
    private let wrappedName: String

    /// Wraps `layer`; its copy for the other direction has the same configuration.
    public init(_ layer: Recurrent, mergeMode: MergeMode = .concat, name: String? = nil) {
        self.mergeMode = mergeMode
        wrappedName = layer.name
        let placeholderName = name ?? LayerNames.unique("bidirectional")
        forwardLayer = Self.copy(layer, name: "\(placeholderName)/forward_\(layer.name)", flip: false) ?? layer
        backwardLayer = Self.copy(layer, name: "\(placeholderName)/backward_\(layer.name)", flip: true) ?? layer
        super.init(name: placeholderName)
    }

    /// `layer` made again from its configuration under `name`, its direction flipped or not.
    private static func copy(_ layer: Recurrent, name: String, flip: Bool) -> Recurrent? {
        var config = layer.config
        if flip { config["go_backwards"] = .bool(!layer.goBackwards) }
        return try? LayerRegistry.make(type(of: layer).typeName, name: name, config: config, file: "Bidirectional") as? Recurrent
    }

    override public var config: [String: JSONValue] {
        ["layer": Layer.wrappedConfig(forwardLayer, name: wrappedName), "merge_mode": .string(mergeMode.rawValue)]
    }

    override public func build(inputShapes: [[Int]]) throws {
        guard inputShapes.count == 1 else {
            throw KilnError(.invalidArgument, "takes one sequence; initial states for the two directions are not supported, "
                            + "got \(inputShapes.count) inputs \(Layer.shapesText(inputShapes))")
        }
        guard forwardLayer !== backwardLayer else {
            throw KilnError(.invalidArgument, "cannot make the backward copy of the wrapped layer from its configuration")
        }
        try forwardLayer.prepare(inputShapes: inputShapes)
        try backwardLayer.prepare(inputShapes: inputShapes)
        adoptWeights(of: forwardLayer)
        adoptWeights(of: backwardLayer)
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let shape = try forwardLayer.outputShape(inputShapes: inputShapes)
        return mergeMode == .concat ? shape.dropLast() + [2 * (shape.last ?? 0)] : shape
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try call(inputs, masks: [nil], context: context)
    }

    override public func call(_ inputs: [Node], masks: [Node?], context: LayerContext) throws -> Node {
        let forward = try forwardLayer.call(inputs, masks: masks, context: context)
        var backward = try backwardLayer.call(inputs, masks: masks, context: context)
        if backwardLayer.returnSequences { backward = try backwardLayer.reversed(backward, axis: 1) }
        switch mergeMode {
        case .concat: return try concatenate([forward, backward], axis: forward.shape.rank - 1)
        case .sum: return try forward + backward
        case .mul: return try forward * backward
        case .ave: return try (forward + backward) * forward.graph.constant(0.5)
        }
    }

    override public func computeMask(_ inputs: [Node], masks: [Node?]) throws -> Node? {
        try forwardLayer.computeMask(inputs, masks: masks)
    }
}
