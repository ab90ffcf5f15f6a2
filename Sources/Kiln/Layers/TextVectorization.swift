import KilnGraph

/// Turns text into token ids, as Keras' `TextVectorization` with `output_mode="int"`, and
/// keeps its vocabulary in the model: put it first, and it is saved and loaded with the rest.
///
/// ```swift
/// let vectorize = TextVectorization(maxTokens: 10_000, outputSequenceLength: 80)
/// vectorize.adapt(trainingTexts)
/// let model = Sequential([Input(shape: [80]), vectorize, Embedding(inputDim: 10_000, outputDim: 32, maskZero: true),
///                         LSTM(32), Dense(1, activation: .sigmoid)])
/// try model.fit(try vectorize(trainingTexts), labels)
/// // later: let again = try Model.load(from: path); let ids = try (again.layers[0] as! TextVectorization)(texts)
/// ```
///
/// Text is standardized (lower case, ASCII punctuation removed), split at whitespace, and each
/// token looked up: 0 is padding, 1 an out-of-vocabulary token, then the vocabulary by
/// decreasing frequency (ties in decreasing token order, as Keras sorts them). Each text gives
/// `outputSequenceLength` ids, cut or padded with 0 at the end.
///
/// In the graph the layer passes its input (ids `[batch, outputSequenceLength]`) through
/// unchanged; the text is turned into ids by calling it on strings.
public final class TextVectorization: Layer {
    /// How text is normalized before it is split.
    public enum Standardize: String, Sendable {
        /// Lower case, ASCII punctuation removed (Keras' default).
        case lowerAndStripPunctuation = "lower_and_strip_punctuation"
        /// Lower case only.
        case lower
        /// ASCII punctuation removed only.
        case stripPunctuation = "strip_punctuation"
        /// As it is.
        case none
    }

    /// The most ids, counting padding and out-of-vocabulary (`nil`: every token seen).
    public let maxTokens: Int?
    /// The ids per text.
    public let outputSequenceLength: Int
    /// How text is normalized.
    public let standardize: Standardize
    /// The tokens by id: `""` (padding), `"[UNK]"`, then the vocabulary.
    public private(set) var vocabulary: [String]
    private var ids: [String: Int] = [:]

    /// Keras' punctuation set, removed by the standardizations that strip punctuation.
    static let punctuation = Set("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'")

    /// A vectorizer without a vocabulary (call ``adapt(_:)``), or with `vocabulary` (tokens
    /// from id 2 on; padding and `[UNK]` are added in front).
    public init(maxTokens: Int? = nil, outputSequenceLength: Int, standardize: Standardize = .lowerAndStripPunctuation,
                vocabulary: [String] = [], name: String? = nil) {
        self.maxTokens = maxTokens
        self.outputSequenceLength = outputSequenceLength
        self.standardize = standardize
        self.vocabulary = ["", "[UNK]"]
        super.init(name: name)
        trainable = false
        setVocabulary(vocabulary)
    }

    /// The tokens of `text` after standardization, split at whitespace.
    public func tokens(_ text: String) -> [String] {
        var normalized = text
        if standardize == .lowerAndStripPunctuation || standardize == .lower { normalized = normalized.lowercased() }
        if standardize == .lowerAndStripPunctuation || standardize == .stripPunctuation {
            normalized.removeAll { Self.punctuation.contains($0) }
        }
        return normalized.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    /// Builds the vocabulary from `texts`: every token, most frequent first, at most
    /// `maxTokens - 2` of them.
    public func adapt(_ texts: [String]) {
        var counts: [String: Int] = [:]
        for text in texts {
            for token in tokens(text) { counts[token, default: 0] += 1 }
        }
        var ordered = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key > $1.key }.map(\.key)
        if let maxTokens { ordered = Array(ordered.prefix(Swift.max(0, maxTokens - 2))) }
        setVocabulary(ordered)
    }

    private func setVocabulary(_ tokens: [String]) {
        vocabulary = ["", "[UNK]"] + tokens
        ids = [:]
        for (id, token) in vocabulary.enumerated() where ids[token] == nil { ids[token] = id }
    }

    /// The ids of each text, `[texts.count, outputSequenceLength]`.
    ///
    /// - Throws: ``KilnError`` if the vocabulary has duplicate or empty tokens (from a file).
    public func callAsFunction(_ texts: [String]) throws -> Tensor {
        try checkVocabulary()
        var values: [Float] = []
        values.reserveCapacity(texts.count * outputSequenceLength)
        for text in texts {
            let row = tokens(text).prefix(outputSequenceLength).map { Float(ids[$0] ?? 1) }
            values += row + [Float](repeating: 0, count: outputSequenceLength - row.count)
        }
        return try Tensor(shape: [texts.count, outputSequenceLength], scalars: values)
    }

    private func checkVocabulary() throws {
        guard outputSequenceLength >= 1 else {
            throw KilnError(.invalidArgument, "layer \(String(reflecting: name)): outputSequenceLength must be at least 1, "
                            + "got \(outputSequenceLength)")
        }
        let tokens = vocabulary.dropFirst(2)
        if let empty = tokens.firstIndex(where: { $0.isEmpty }) {
            throw KilnError(.invalidArgument, "layer \(String(reflecting: name)): vocabulary entry \(empty) is empty")
        }
        var seen = Set<String>()
        for (id, token) in zip(tokens.indices, tokens) where !seen.insert(token).inserted {
            throw KilnError(.invalidArgument, "layer \(String(reflecting: name)): token \(String(reflecting: token)) "
                            + "appears twice in the vocabulary (the second time as id \(id))")
        }
    }

    // MARK: Layer

    override public var config: [String: JSONValue] {
        ["max_tokens": maxTokens.map { .number(Double($0)) } ?? .null,
         "output_sequence_length": .number(Double(outputSequenceLength)), "standardize": .string(standardize.rawValue),
         "split": .string("whitespace"), "output_mode": .string("int"),
         "vocabulary": .array(vocabulary.dropFirst(2).map { .string($0) })]
    }

    override public func build(inputShapes: [[Int]]) throws {
        try requireSingleInput(inputShapes)
        try checkVocabulary()
        guard inputShapes[0] == [outputSequenceLength] else {
            throw KilnError(.shapeMismatch, "takes the ids of texts, [\(outputSequenceLength)] per sample, "
                            + "got \(Layer.shapesText(inputShapes))")
        }
    }

    override public func outputDType(inputDTypes: [DType]) -> DType { inputDTypes.first ?? .float32 }

    override public func call(_ inputs: [Node], context: LayerContext) throws -> Node { inputs[0] }
}
