import KilnGraph

/// Runs a recurrent layer over the sequence in both directions and merges the two outputs
/// (Keras' `Bidirectional`): the forward copy as configured, the backward copy with
/// `goBackwards` flipped; with `returnSequences`, the backward outputs are put back in the
/// input's step order before merging.
///
/// Shapes: input `[batch, steps, features]`, optionally followed by the initial states of
/// the forward layer and then of the backward one (`[batch, units]` each), as Keras'
/// `initial_state`; output `[batch, 2·units]` (`concat`) or `[batch, units]` (`sum`, `mul`,
/// `ave`), with a `steps` axis before it when the layer returns sequences. When the wrapped
/// layer has `returnState`, the forward layer's final states and then the backward one's
/// follow the output. Weights: the forward layer's, then the backward layer's, saved as
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
        var config = layer.savedConfig
        if flip { config["go_backwards"] = .bool(!layer.goBackwards) }
        return try? LayerRegistry.make(type(of: layer).typeName, name: name, config: config, file: "Bidirectional") as? Recurrent
    }

    override public var config: [String: JSONValue] {
        ["layer": Layer.wrappedConfig(forwardLayer, name: wrappedName), "merge_mode": .string(mergeMode.rawValue)]
    }

    override public var outputCount: Int { forwardLayer.returnState ? 1 + 2 * forwardLayer.stateCount : 1 }

    /// The inputs of each direction: the sequence, with that direction's initial states if given.
    private func split<T>(_ inputs: [T]) throws -> (forward: [T], backward: [T]) {
        let states = forwardLayer.stateCount
        guard inputs.count == 1 || inputs.count == 1 + 2 * states else {
            throw KilnError(.invalidArgument, "takes a sequence, or a sequence and \(2 * states) initial states (the forward "
                            + "layer's \(states), then the backward layer's), got \(inputs.count) inputs")
        }
        guard inputs.count > 1 else { return (inputs, inputs) }
        return ([inputs[0]] + inputs[1...states], [inputs[0]] + inputs[(1 + states)...])
    }

    override public func build(inputShapes: [[Int]]) throws {
        let (forwardShapes, backwardShapes) = try split(inputShapes)
        guard forwardLayer !== backwardLayer else {
            throw KilnError(.invalidArgument, "cannot make the backward copy of the wrapped layer from its configuration")
        }
        try forwardLayer.prepare(inputShapes: forwardShapes)
        try backwardLayer.prepare(inputShapes: backwardShapes)
        adoptWeights(of: forwardLayer)
        adoptWeights(of: backwardLayer)
    }

    /// The shapes its wrapped layer accepts, for each direction.
    override public func accepts(inputShapes shapes: [[Int]], builtFor built: [[Int]]) -> Bool {
        guard let new = try? split(shapes), let old = try? split(built) else { return false }
        return forwardLayer.accepts(inputShapes: new.forward, builtFor: old.forward)
            && backwardLayer.accepts(inputShapes: new.backward, builtFor: old.backward)
    }

    override public func outputShape(inputShapes: [[Int]]) throws -> [Int] {
        let shape = try forwardLayer.outputShape(inputShapes: split(inputShapes).forward)
        return mergeMode == .concat ? shape.dropLast() + [2 * (shape.last ?? 0)] : shape
    }

    override public func outputShapes(inputShapes: [[Int]]) throws -> [[Int]] {
        let (forwardShapes, backwardShapes) = try split(inputShapes)
        return [try outputShape(inputShapes: inputShapes)] + (try forwardLayer.outputShapes(inputShapes: forwardShapes).dropFirst())
            + (try backwardLayer.outputShapes(inputShapes: backwardShapes).dropFirst())
    }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node {
        try callAll(inputs, masks: Array(repeating: nil, count: inputs.count), context: context)[0]
    }

    override public func call(_ inputs: [Node], masks: [Node?], context: LayerContext) throws -> Node {
        try callAll(inputs, masks: masks, context: context)[0]
    }

    override public func callAll(_ inputs: [Node], masks: [Node?], context: LayerContext) throws -> [Node] {
        let (forwardInputs, backwardInputs) = try split(inputs)
        let sequenceMask = [masks.first ?? nil]
        let forwardResults = try forwardLayer.callAll(forwardInputs, masks: sequenceMask, context: context)
        let backwardResults = try backwardLayer.callAll(backwardInputs, masks: sequenceMask, context: context)
        let forward = forwardResults[0]
        var backward = backwardResults[0]
        if backwardLayer.returnSequences { backward = try backwardLayer.reversed(backward, axis: 1) }
        let merged: Node
        switch mergeMode {
        case .concat: merged = try concatenate([forward, backward], axis: forward.shape.rank - 1)
        case .sum: merged = try forward + backward
        case .mul: merged = try forward * backward
        case .ave: merged = try (forward + backward) * forward.graph.constant(0.5)
        }
        return [merged] + forwardResults.dropFirst() + backwardResults.dropFirst()
    }

    override public func computeMask(_ inputs: [Node], masks: [Node?]) throws -> Node? {
        try forwardLayer.computeMask(inputs, masks: masks)
    }
}
