import Foundation

/// A JSON value: what layer and model configurations are made of.
public enum JSONValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public var description: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }

    /// The number, if this is one.
    public var number: Double? { if case .number(let n) = self { n } else { nil } }
    /// The string, if this is one.
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    /// The array, if this is one.
    public var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    /// The object, if this is one.
    public var object: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }

    /// An array of integers.
    public static func ints(_ values: [Int]) -> JSONValue { .array(values.map { .number(Double($0)) }) }
}

/// Typed reads of a configuration object, throwing errors that name the field.
public struct ConfigReader {
    /// What the configuration describes, for error messages (`layer "dense_1"`).
    public let context: String
    /// The fields.
    public let fields: [String: JSONValue]

    public init(_ fields: [String: JSONValue], context: String) {
        self.fields = fields
        self.context = context
    }

    private func fail(_ key: String, _ expected: String) -> KilnError {
        let found = fields[key].map { "\($0)" } ?? "nothing"
        return KilnError(.invalidArgument, "\(context): field \(String(reflecting: key)) should be \(expected), found \(found)")
    }

    public func int(_ key: String) throws -> Int {
        guard let n = fields[key]?.number, n == n.rounded(), Swift.abs(n) < 1e15 else { throw fail(key, "an integer") }
        return Int(n)
    }

    public func float(_ key: String) throws -> Float {
        guard let n = fields[key]?.number else { throw fail(key, "a number") }
        return Float(n)
    }

    public func bool(_ key: String) throws -> Bool {
        guard case .bool(let b)? = fields[key] else { throw fail(key, "true or false") }
        return b
    }

    public func string(_ key: String) throws -> String {
        guard let s = fields[key]?.string else { throw fail(key, "a string") }
        return s
    }

    public func ints(_ key: String) throws -> [Int] {
        guard let values = fields[key]?.array, let ints = Optional(values.compactMap({ $0.number.map(Int.init) })),
              ints.count == values.count else { throw fail(key, "a list of integers") }
        return ints
    }

    public func object(_ key: String) throws -> [String: JSONValue] {
        guard let o = fields[key]?.object else { throw fail(key, "an object") }
        return o
    }

    public func array(_ key: String) throws -> [JSONValue] {
        guard let a = fields[key]?.array else { throw fail(key, "a list") }
        return a
    }

    public func optionalString(_ key: String) -> String? { fields[key]?.string }
}
