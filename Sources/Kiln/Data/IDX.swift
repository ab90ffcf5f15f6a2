import Foundation
import KilnGraph

/// IDX files, the format of MNIST and Fashion-MNIST: a magic number giving the element type
/// and the number of axes, each axis' length, then the elements, all big-endian. Read gzipped
/// (as distributed) or not.
public enum IDX {
    /// The elements of the IDX file at `path` as an `f32` tensor of its shape (`uint8` pixels
    /// keep their values 0 to 255).
    ///
    /// - Throws: ``KilnError`` naming the file and the offset if it cannot be read, is not a
    ///   valid gzip file, has a wrong magic number or element type, or holds more or fewer
    ///   bytes than its header says.
    public static func read(contentsOf path: String) throws -> Tensor {
        let raw: Data
        do {
            raw = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw KilnError(.file, "cannot read \(path): \((error as NSError).localizedDescription)")
        }
        return try decode(Gzip.isCompressed(raw) ? Gzip.decompress(raw, path: path) : raw, source: path)
    }

    /// The elements of IDX bytes as an `f32` tensor; `source` names them in errors.
    ///
    /// - Throws: ``KilnError`` as ``read(contentsOf:)`` does.
    public static func decode(_ data: Data, source: String) throws -> Tensor {
        let bytes = [UInt8](data)
        let header = try Header(bytes, fileSize: bytes.count, source: source)
        let values: [Float] = bytes.withUnsafeBufferPointer { buffer in
            header.type.floats(UnsafeBufferPointer(rebasing: buffer[header.size...]), count: header.count)
        }
        return try Tensor(shape: header.shape, scalars: values)
    }

    /// An IDX file's header: the element type, the shape and the header's length.
    struct Header {
        let type: ElementType
        let shape: [Int]
        /// The header's length in bytes, where the elements start.
        let size: Int
        /// The number of elements.
        let count: Int

        /// The header at the start of `bytes` (at least its first 4 + 4 × rank bytes) of a
        /// file of `fileSize` bytes.
        ///
        /// - Throws: ``KilnError`` naming `source` and the offset if the magic number, the
        ///   element type or the rank is wrong, or the file does not hold the elements the
        ///   header says.
        init(_ bytes: [UInt8], fileSize: Int, source: String) throws {
            guard bytes.count >= 4 else {
                throw KilnError(.file, "\(source): \(bytes.count) bytes, too short for an IDX header (4 bytes at least)")
            }
            guard bytes[0] == 0, bytes[1] == 0 else {
                throw KilnError(.file, "\(source): not an IDX file: the magic number starts with \(hex(bytes[0])) "
                                + "\(hex(bytes[1])) at offset 0, not 00 00")
            }
            guard let type = ElementType(rawValue: bytes[2]) else {
                throw KilnError(.file, "\(source): unknown IDX element type \(hex(bytes[2])) at offset 2 "
                                + "(08 ubyte, 09 byte, 0b short, 0c int, 0d float, 0e double)")
            }
            let rank = Int(bytes[3])
            guard rank >= 1 else { throw KilnError(.file, "\(source): an IDX file with no axes (offset 3)") }
            let size = 4 + 4 * rank
            guard bytes.count >= size else {
                throw KilnError(.file, "\(source): the header of \(rank) axes needs \(size) bytes, the file has \(bytes.count)")
            }
            let shape = (0..<rank).map { Int(bigEndian32(bytes, at: 4 + 4 * $0)) }
            guard let count = Shape.product(shape), case (let bodySize, false) = count.multipliedReportingOverflow(by: type.size),
                  fileSize - size == bodySize else {
                throw KilnError(.file, "\(source): the header (offset 4) says \(shape.map(String.init).joined(separator: "×")) "
                                + "\(type) elements, \(shapeBytes(shape, type)) bytes after the \(size)-byte header; "
                                + "the file has \(fileSize - size)")
            }
            (self.type, self.shape, self.size, self.count) = (type, shape, size, count)
        }
    }

    /// IDX bytes of `uint8` elements of `shape` (the format of MNIST's images and labels).
    ///
    /// - Throws: ``KilnError`` if the element count differs from `shape`'s or a length does
    ///   not fit in 32 bits.
    public static func encode(unsignedBytes values: [UInt8], shape: [Int]) throws -> Data {
        guard !shape.isEmpty, shape.count < 256, shape.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }),
              Shape.product(shape) == values.count else {
            throw KilnError(.invalidArgument, "IDX: \(values.count) bytes do not make a tensor of shape \(shape)")
        }
        var out: [UInt8] = [0, 0, ElementType.unsignedByte.rawValue, UInt8(shape.count)]
        for length in shape { out += withUnsafeBytes(of: UInt32(length).bigEndian, Array.init) }
        return Data(out + values)
    }

    /// The element types of the IDX format, by their code in the magic number.
    enum ElementType: UInt8, CustomStringConvertible {
        case unsignedByte = 0x08, signedByte = 0x09, short = 0x0B, int = 0x0C, float = 0x0D, double = 0x0E

        var size: Int {
            switch self {
            case .unsignedByte, .signedByte: 1
            case .short: 2
            case .int, .float: 4
            case .double: 8
            }
        }

        var description: String {
            switch self {
            case .unsignedByte: "ubyte"
            case .signedByte: "byte"
            case .short: "short"
            case .int: "int"
            case .float: "float"
            case .double: "double"
            }
        }

        /// The first `count` elements of `body`, as floats.
        func floats(_ body: UnsafeBufferPointer<UInt8>, count: Int) -> [Float] {
            [Float](unsafeUninitializedCapacity: count) { out, initialized in
                if self == .unsignedByte {
                    for k in 0..<count { out[k] = Float(body[k]) }
                } else {
                    for k in 0..<count { out[k] = value(body, at: k * size) }
                }
                initialized = count
            }
        }

        /// The big-endian element at byte `offset` of `body`, as a `Float`.
        func value(_ body: UnsafeBufferPointer<UInt8>, at offset: Int) -> Float {
            switch self {
            case .unsignedByte: return Float(body[offset])
            case .signedByte: return Float(Int8(bitPattern: body[offset]))
            case .short: return Float(Int16(bitPattern: UInt16(body[offset]) << 8 | UInt16(body[offset + 1])))
            case .int: return Float(Int32(bitPattern: IDX.bigEndian32(body, at: offset)))
            case .float: return Float(bitPattern: IDX.bigEndian32(body, at: offset))
            case .double:
                let high = UInt64(IDX.bigEndian32(body, at: offset)), low = UInt64(IDX.bigEndian32(body, at: offset + 4))
                return Float(Double(bitPattern: high << 32 | low))
            }
        }
    }

    static func bigEndian32<C: RandomAccessCollection<UInt8>>(_ bytes: C, at offset: Int) -> UInt32 where C.Index == Int {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[bytes.startIndex + offset + $1]) }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    static func shapeBytes(_ shape: [Int], _ type: ElementType) -> String {
        guard let count = Shape.product(shape), case (let size, false) = count.multipliedReportingOverflow(by: type.size) else {
            return "more than an Int can count"
        }
        return String(size)
    }
}
