import KilnGraph

/// What a layer's ``Layer/call(_:context:)`` builds with: the graph, whether it is the
/// training graph, the graph nodes of the layers' weights, and random numbers.
public final class LayerContext {
    /// The graph being built.
    public let graph: Graph
    /// Whether this is the training step (dropout active, batch statistics used and tracked).
    public let training: Bool
    /// The graph node of each weight read so far, shared by the contexts of one graph.
    private let nodes: WeightNodes
    private var seed: Node?
    private var randomCalls: Int32 = 0
    /// Scalar losses the layers added (activity regularizers' penalties), which training and
    /// evaluation add to the loss (Keras' `add_loss`).
    public private(set) var addedLosses: [Node] = []

    /// Adds a scalar `loss` to the training and evaluation loss (Keras' `add_loss`).
    public func addLoss(_ loss: Node) throws {
        guard loss.shape.rank == 0, loss.dtype == .float32 else {
            throw KilnError(.shapeMismatch, "an added loss must be an f32 scalar, got \(loss.type)")
        }
        addedLosses.append(loss)
    }

    /// The name of the `int32` variable dropout masks are drawn from; each training step adds one.
    public static let seedVariable = "seed_generator/state"

    /// What a layer run inside a loop's body (``TimeDistributed``) may not do, if it is one.
    private let loopOwner: String?

    init(graph: Graph, training: Bool) {
        self.graph = graph
        self.training = training
        loopOwner = nil
        nodes = WeightNodes()
    }

    /// A context on `other`'s graph reading the same weight nodes, with its own training
    /// flag (a custom step calling one model in training and another in inference).
    init(sharing other: LayerContext, training: Bool) {
        graph = other.graph
        self.training = training
        loopOwner = nil
        nodes = other.nodes
    }

    /// The context of a loop's body: `weights` are the body's placeholders standing for the
    /// layers' weights; random numbers and weight updates are errors naming `owner`.
    init(body: Graph, training: Bool, weights: [(LayerVariable, Node)], owner: String) {
        graph = body
        self.training = training
        loopOwner = owner
        nodes = WeightNodes()
        for (weight, node) in weights { nodes.byWeight[ObjectIdentifier(weight)] = node }
    }

    /// The graph node reading `weight`.
    public func variable(_ weight: LayerVariable) throws -> Node {
        if let node = nodes.byWeight[ObjectIdentifier(weight)] { return node }
        if let loopOwner {
            throw KilnError(.invalidArgument, "\(loopOwner): weight \(weight.path) is not one of the wrapped layer's")
        }
        let node = try graph.variable(weight.path, initialValue: weight.value)
        nodes.byWeight[ObjectIdentifier(weight)] = node
        return node
    }

    /// Writes `value` into `weight` at the end of each training step (batch normalisation's
    /// moving statistics). Outside training, does nothing.
    public func update(_ weight: LayerVariable, to value: Node) throws {
        guard training else { return }
        if let loopOwner {
            throw KilnError(.invalidArgument, "\(loopOwner): the wrapped layer updates \(weight.path) in training "
                            + "(moving statistics), which a loop over the steps cannot do; apply it outside")
        }
        _ = try graph.assign(try variable(weight), value)
    }

    /// Uniform numbers in `[0, 1)`, new at every training step and different for every call,
    /// drawn identically by every backend.
    public func randomUniform(shape: Shape) throws -> Node {
        if let loopOwner {
            throw KilnError(.invalidArgument, "\(loopOwner): the wrapped layer draws random numbers in training (dropout), "
                            + "which a loop over the steps cannot do; apply it outside")
        }
        let state: Node
        if let seed { state = seed } else {
            let initial = try Kiln.withRandomGenerator { Int32(truncatingIfNeeded: $0.next()) }
            state = try graph.variable(Self.seedVariable, initialValue: Tensor(shape: [], scalars: [initial]))
            seed = state
        }
        randomCalls += 1
        let key = graph.constant(try Tensor(shape: [], scalars: [randomCalls &* 16_777_619]))
        return try KilnGraph.randomUniform(shape: shape, seed: state + key)
    }

    /// `x` in training with a fraction `rate` of it set to zero and the rest scaled by
    /// `1 / (1 - rate)`, by a mask of `maskShape` broadcast over `x` (one mask element per
    /// element for Dropout, per channel for SpatialDropout2D, per feature of a whole sequence
    /// for recurrent layers); `x` unchanged outside training or with a rate of 0.
    public func dropout(_ x: Node, rate: Float, maskShape: Shape) throws -> Node {
        guard training, rate > 0 else { return x }
        return try select(kept(rate: rate, shape: maskShape), x / (1 - rate), x.graph.constant(0))
    }

    /// A dropout mask of `shape` in training: each element `1 / (1 - rate)` with probability
    /// `1 - rate` and 0 otherwise, as Keras' `dropout(ones)`; `nil` outside training or with
    /// a rate of 0.
    public func dropoutMask(rate: Float, shape: Shape) throws -> Node? {
        guard training, rate > 0 else { return nil }
        return try select(kept(rate: rate, shape: shape), graph.constant(1 / (1 - rate)), graph.constant(0))
    }

    /// Which elements of `shape` dropout keeps: each with probability `1 - rate`.
    private func kept(rate: Float, shape: Shape) throws -> Node {
        try less(randomUniform(shape: shape), graph.constant(1 - rate))
    }

    /// Adds the step that advances the random state, if anything drew from it.
    func advanceRandomState() throws {
        guard let seed else { return }
        _ = try graph.assign(seed, seed + graph.constant(try Tensor(shape: [], scalars: [Int32(1)])))
    }
}

/// The graph nodes of the weights a graph reads, by weight.
private final class WeightNodes {
    var byWeight: [ObjectIdentifier: Node] = [:]
}
