import Foundation

/// Little-endian reads from a file's bytes that return `nil`, rather than trap, outside them:
/// the base of the zip and HDF5 readers, which check every offset a file gives.
struct ByteReader {
    private let bytes: [UInt8]

    init(_ data: Data) { bytes = [UInt8](data) }

    var count: Int { bytes.count }

    /// The unsigned little-endian integer of `size` bytes (at most 8) at `offset`.
    func uint(_ offset: Int, _ size: Int) -> UInt64? {
        guard offset >= 0, size <= 8, size <= count, offset <= count - size else { return nil }
        var value: UInt64 = 0
        for k in 0..<size { value |= UInt64(bytes[offset + k]) << (8 * UInt64(k)) }
        return value
    }

    /// The field at a place already checked to be inside the bytes (0 if it is not).
    func field(_ offset: Int, _ size: Int) -> UInt64 { uint(offset, size) ?? 0 }

    /// Whether `expected` is at `offset`.
    func matches(_ offset: Int, _ expected: [UInt8]) -> Bool {
        guard offset >= 0, expected.count <= count, offset <= count - expected.count else { return false }
        return bytes[offset..<(offset + expected.count)].elementsEqual(expected)
    }

    /// The UTF-8 text in `range`, if it is inside the bytes and valid.
    func text(_ range: Range<Int>) -> String? {
        guard range.lowerBound >= 0, range.upperBound <= count else { return nil }
        return String(bytes: bytes[range], encoding: .utf8)
    }

    /// The NUL-terminated UTF-8 string at `offset`, which must end before `limit`.
    func cString(_ offset: Int, limit: Int) -> String? {
        let limit = Swift.min(limit, count)
        guard offset >= 0, offset < limit, let end = bytes[offset..<limit].firstIndex(of: 0) else { return nil }
        return String(bytes: bytes[offset..<end], encoding: .utf8)
    }

    /// Whether `value` is the undefined address of an `size`-byte field (all ones).
    static func isUndefined(_ value: UInt64, size: Int) -> Bool {
        value == (size == 8 ? UInt64.max : (UInt64(1) << (8 * UInt64(size))) - 1)
    }

    /// A stored number type.
    enum Element: CustomStringConvertible {
        case float32, float64
        case integer(size: Int, signed: Bool)

        var size: Int {
            switch self {
            case .float32: 4
            case .float64: 8
            case .integer(let size, _): size
            }
        }

        var description: String {
            switch self {
            case .float32: "float32"
            case .float64: "float64"
            case .integer(let size, let signed): "\(signed ? "int" : "uint")\(8 * size)"
            }
        }
    }

    /// `count` little-endian elements from `offset` (checked by the caller), as `Float`s.
    func floats(_ offset: Int, count: Int, element: Element) -> [Float] {
        (0..<count).map { k in
            let raw = field(offset + k * element.size, element.size)
            switch element {
            case .float32: return Float(bitPattern: UInt32(truncatingIfNeeded: raw))
            case .float64: return Float(Double(bitPattern: raw))
            case .integer(let size, let signed):
                guard signed, size < 8 else { return signed ? Float(Int64(bitPattern: raw)) : Float(raw) }
                let shift = UInt64(64 - 8 * size)
                return Float(Int64(bitPattern: raw << shift) >> Int64(shift))
            }
        }
    }
}
