/// An error thrown by Kiln: what kind of mistake it is, and a message that names the node,
/// layer, feed or file involved with the expected and actual shapes or types.
public struct KilnError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of mistake, for code that reacts to errors.
    public enum Kind: String, Sendable, Equatable {
        /// Shapes that cannot be combined (broadcasting, matmul, reshape, concatenation, ...).
        case shapeMismatch
        /// Element types that cannot be combined, or an op applied to a type it does not support.
        case dtypeMismatch
        /// An argument outside its valid range: an axis, a permutation, a size, a name.
        case invalidArgument
        /// A graph whose structure is broken: a cycle, a wrong recorded type, a bad reference.
        case invalidGraph
        /// A feed or output name the program does not know.
        case unknownName
        /// A placeholder the program needs was not fed.
        case missingFeed
        /// A feed or variable value of the wrong shape or element type.
        case feedMismatch
        /// Gradients requested of something that is not a scalar loss, or that cannot be differentiated.
        case gradient
        /// A value that is out of range while a program runs (an index, a label).
        case runtime
        /// Training or evaluation data that cannot be used: NaN or infinity, labels out of
        /// range, lengths that disagree, nothing at all.
        case invalidData
        /// A file that cannot be read or written, or whose contents are broken or do not fit.
        case file
        /// A method called before what it needs: `fit` before `compile`.
        case notReady
    }

    /// The kind of mistake.
    public let kind: Kind
    /// A human-readable explanation.
    public let message: String

    /// An error of `kind` with `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
