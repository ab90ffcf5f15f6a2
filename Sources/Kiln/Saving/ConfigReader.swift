/// Typed reads of a configuration object, throwing errors that name the field.
///
/// Numbers are checked before they are converted: an integer field takes only a whole
/// number that `Int` represents exactly (not `4.5`, `1e30` or NaN), and a float field only
/// a number that is finite as a `Float`.
public struct ConfigReader {
    /// What the configuration describes, for error messages (`layer "dense_1"`).
    public let context: String
    /// The fields.
    public let fields: [String: JSONValue]

    /// A reader of `fields`; `context` starts every error message.
    public init(_ fields: [String: JSONValue], context: String) {
        self.fields = fields
        self.context = context
    }

    private func fail(_ key: String, _ expected: String) -> KilnError {
        let found = fields[key].map { "\($0)" } ?? "nothing"
        return KilnError(.invalidArgument, "\(context): field \(String(reflecting: key)) should be \(expected), found \(found)")
    }

    /// The largest magnitude an integer field may have: 2^53, below which every whole
    /// `Double` is exact.
    public static let integerLimit: Double = 9_007_199_254_740_992

    /// `value` as an `Int`, if it is a whole number of at most ``integerLimit``.
    static func exactInt(_ value: JSONValue) -> Int? {
        guard let n = value.number, n.isFinite, n == n.rounded(), Swift.abs(n) <= integerLimit else { return nil }
        return Int(n)
    }

    /// A whole number.
    public func int(_ key: String) throws -> Int {
        guard let value = fields[key], let n = Self.exactInt(value) else { throw fail(key, "an integer") }
        return n
    }

    /// A whole number of at least `minimum` (a count, a size).
    public func int(_ key: String, atLeast minimum: Int) throws -> Int {
        guard let value = fields[key], let n = Self.exactInt(value), n >= minimum else {
            throw fail(key, "an integer of at least \(minimum)")
        }
        return n
    }

    /// A number that is finite as a `Float`.
    public func float(_ key: String) throws -> Float {
        guard let n = fields[key]?.number, Float(n).isFinite else { throw fail(key, "a finite number") }
        return Float(n)
    }

    /// A number that is finite as a `Float`, or `nil` when the field is absent or `null`.
    public func optionalFloat(_ key: String) throws -> Float? {
        guard let value = fields[key], value != .null else { return nil }
        return try float(key)
    }

    /// `true` or `false`.
    public func bool(_ key: String) throws -> Bool {
        guard case .bool(let b)? = fields[key] else { throw fail(key, "true or false") }
        return b
    }

    /// A string.
    public func string(_ key: String) throws -> String {
        guard let s = fields[key]?.string else { throw fail(key, "a string") }
        return s
    }

    /// A list of whole numbers, each at least `minimum` when given.
    public func ints(_ key: String, atLeast minimum: Int? = nil) throws -> [Int] {
        let expected = minimum.map { "a list of integers of at least \($0)" } ?? "a list of integers"
        guard let values = fields[key]?.array else { throw fail(key, expected) }
        return try values.map { value in
            guard let n = Self.exactInt(value), n >= (minimum ?? Int.min) else { throw fail(key, expected) }
            return n
        }
    }

    /// An object.
    public func object(_ key: String) throws -> [String: JSONValue] {
        guard let o = fields[key]?.object else { throw fail(key, "an object") }
        return o
    }

    /// A list.
    public func array(_ key: String) throws -> [JSONValue] {
        guard let a = fields[key]?.array else { throw fail(key, "a list") }
        return a
    }

    /// The string, or `nil` when the field is absent or not a string.
    public func optionalString(_ key: String) -> String? { fields[key]?.string }
}
