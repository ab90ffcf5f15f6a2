import KilnGraph

/// A compile setting given once for every output, as a list in the model's output order, or
/// by output name (Keras' `loss`, `loss_weights` and `metrics` arguments).
enum PerOutput<Value> {
    case all(Value)
    case list([Value])
    case named([String: Value])

    /// The value for the first output, if the setting names one.
    var first: Value? {
        switch self {
        case .all(let value): value
        case .list(let values): values.first
        case .named(let values): values.min(by: { $0.key < $1.key })?.value
        }
    }
}

extension PerOutput {
    /// The setting with `transform` applied to each value.
    func map<T>(_ transform: (Value) throws -> T) rethrows -> PerOutput<T> {
        switch self {
        case .all(let value): .all(try transform(value))
        case .list(let values): .list(try values.map(transform))
        case .named(let values): .named(try values.mapValues(transform))
        }
    }

    /// The setting in a saved file: the value itself for `.all`, else an object with a
    /// `list` array or a `named` object (`nil` if a value has no saved form).
    func json(_ encode: (Value) -> JSONValue?) -> JSONValue? {
        switch self {
        case .all(let value):
            return encode(value)
        case .list(let values):
            let encoded = values.compactMap(encode)
            return encoded.count == values.count ? .object(["list": .array(encoded)]) : nil
        case .named(let values):
            let encoded = values.compactMapValues(encode)
            return encoded.count == values.count ? .object(["named": .object(encoded)]) : nil
        }
    }

    /// The setting ``json(_:)`` saved; `perOutput` says whether the file saved it per output.
    static func read(_ json: JSONValue, perOutput: Bool, context: String,
                     _ decode: (JSONValue) throws -> Value) throws -> PerOutput<Value> {
        guard perOutput else { return .all(try decode(json)) }
        if let list = json.object?["list"]?.array { return .list(try list.map(decode)) }
        if let named = json.object?["named"]?.object { return .named(try named.mapValues(decode)) }
        throw KilnError(.file, "\(context): a per-output setting should be {\"list\": [...]} or {\"named\": {...}}, found \(json)")
    }
}

/// What one output is trained for: its loss, the weight of that loss in the total, and the
/// metrics reported for it.
struct OutputObjective {
    /// The output's name (``Model/outputNames``).
    let name: String
    let loss: Loss
    /// The factor of the output's loss in the total loss; `nil` counts it once.
    let weight: Float?
    let metrics: [Metric]
}

extension Model {
    /// The outputs' names for training: ``outputNames``, or the last layer's name for a
    /// ``Sequential`` model not built yet (which has one output).
    var objectiveNames: [String] { outputNames.isEmpty ? [layers.last?.name ?? "output"] : outputNames }

    /// The compile settings resolved per output, with Keras' rules: one loss serves every
    /// output; a list gives one per output in order; a dictionary must name exactly the
    /// outputs. Loss weights come as a list or by name; metrics as a list for a one-output
    /// model, one list per output, or by name for some outputs.
    ///
    /// - Throws: ``KilnError`` naming the setting, the outputs and what was given instead.
    func objectives(_ options: CompileOptions) throws -> [OutputObjective] {
        let names = objectiveNames
        let model = "model \(String(reflecting: name))"
        let known = names.joined(separator: ", ")
        func perOutput<Value>(_ setting: PerOutput<Value>, _ what: String, everyName: Bool) throws -> [Value?] {
            switch setting {
            case .all(let value):
                return names.map { _ in value }
            case .list(let values):
                guard values.count == names.count else {
                    throw KilnError(.invalidArgument, "\(model) has \(names.count) outputs (\(known)), got \(values.count) \(what)")
                }
                return values
            case .named(let values):
                if let unknown = values.keys.sorted().first(where: { !names.contains($0) }) {
                    throw KilnError(.invalidArgument, "\(model) has no output \(String(reflecting: unknown)) for \(what); "
                                    + "its outputs are: \(known)")
                }
                if everyName, let missing = names.first(where: { values[$0] == nil }) {
                    throw KilnError(.invalidArgument, "\(model): no \(what) for output \(String(reflecting: missing)); every output "
                                    + "needs one (its outputs are: \(known))")
                }
                return names.map { values[$0] }
            }
        }
        let losses = try perOutput(options.loss, "losses", everyName: true)
        let weights: [Float?] = try options.lossWeights.map { try perOutput($0, "loss weights", everyName: true) }
            ?? names.map { _ in nil }
        let metrics: [[Metric]?]
        if case .all(let flat) = options.metrics, names.count > 1, !flat.isEmpty {
            // Keras reads a flat list on a model with several outputs as one metric per output.
            guard flat.count == names.count else {
                throw KilnError(.invalidArgument, "\(model) has \(names.count) outputs (\(known)); give metrics as one list per "
                                + "output ([[Metric]]) or by output name ([String: [Metric]]), not one list of \(flat.count)")
            }
            metrics = flat.map { [$0] }
        } else {
            metrics = try perOutput(options.metrics, "metric lists", everyName: false)
        }
        return names.indices.map { index in
            OutputObjective(name: names[index], loss: losses[index]!, weight: weights[index], metrics: metrics[index] ?? [])
        }
    }
}
