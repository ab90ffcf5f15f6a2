import Foundation

/// A JSON value: what layer and model configurations are made of.
public enum JSONValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Decodes any JSON value.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    /// Encodes the value as JSON.
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

    /// Where the value holds a number JSON cannot write (NaN or an infinity): the path to it
    /// (`rate`, `layer.config.scale[2]`) and the number; `nil` when there is none.
    func nonFinite(at path: String = "") -> (path: String, value: Double)? {
        switch self {
        case .number(let value):
            return value.isFinite ? nil : (path, value)
        case .array(let values):
            for (index, value) in values.enumerated() {
                if let found = value.nonFinite(at: "\(path)[\(index)]") { return found }
            }
            return nil
        case .object(let fields):
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                if let found = value.nonFinite(at: path.isEmpty ? key : "\(path).\(key)") { return found }
            }
            return nil
        case .null, .bool, .string:
            return nil
        }
    }

    /// The value as compact JSON text with sorted keys.
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
