import Foundation
import KilnGraph

/// The safetensors format: an 8-byte little-endian header length, a JSON header giving each
/// tensor's dtype, shape and byte range, then the little-endian elements.
enum Safetensors {
    /// The file's bytes for `tensors` (written in name order) and string `metadata`.
    static func encode(_ tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: JSONValue] = [:]
        if !metadata.isEmpty { header["__metadata__"] = .object(metadata.mapValues { .string($0) }) }
        var body = Data()
        for (name, tensor) in tensors.sorted(by: { $0.0 < $1.0 }) {
            let start = body.count
            let bytes = [UInt8](unsafeUninitializedCapacity: tensor.byteCount) { buffer, count in
                if let base = buffer.baseAddress { tensor.copyBytes(to: UnsafeMutableRawPointer(base)) }
                count = tensor.byteCount
            }
            body.append(contentsOf: bytes)
            header[name] = .object(["dtype": .string(code(tensor.dtype)), "shape": .ints(tensor.shape),
                                    "data_offsets": .ints([start, body.count])])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var json = try encoder.encode(JSONValue.object(header))
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(body)
        return data
    }

    /// The tensors and metadata in `data`.
    ///
    /// - Throws: ``KilnError`` naming `file` and what is wrong: a truncated header, bad JSON,
    ///   an unknown dtype, a byte range that does not fit the shape or the file.
    static func decode(_ data: Data, file: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        func fail(_ message: String) -> KilnError { KilnError(.file, "\(file): \(message)") }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, too short for a safetensors header") }
        let length = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(data.count - 8) else {
            throw fail("truncated: the header claims \(length) bytes but the file has \(data.count - 8) after the length")
        }
        let headerData = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(length)))
        guard let header = (try? JSONDecoder().decode(JSONValue.self, from: headerData))?.object else {
            throw fail("the safetensors header is not a JSON object")
        }
        let bodyStart = data.startIndex + 8 + Int(length)
        let bodyCount = data.count - 8 - Int(length)
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, entry) in header {
            if name == "__metadata__" {
                for (key, value) in entry.object ?? [:] { metadata[key] = value.string }
                continue
            }
            let reader = ConfigReader(entry.object ?? [:], context: "\(file): tensor \(String(reflecting: name))")
            let dtype: DType
            switch try reader.string("dtype") {
            case "F32": dtype = .float32
            case "I32": dtype = .int32
            case "BOOL": dtype = .bool
            case let other: throw fail("tensor \(String(reflecting: name)) has dtype \(other); Kiln reads F32, I32 and BOOL")
            }
            let shape = try reader.ints("shape", atLeast: 0)
            let offsets = try reader.ints("data_offsets", atLeast: 0)
            let count: Int
            do {
                count = try Tensor.checkedCount(shape, dtype: dtype, what: "tensor \(String(reflecting: name))")
            } catch let error as KilnError {
                throw fail(error.message)
            }
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= bodyCount else {
                throw fail("tensor \(String(reflecting: name)): data_offsets \(offsets) are outside the \(bodyCount) bytes of data"
                           + " (the file is truncated or corrupted)")
            }
            guard offsets[1] - offsets[0] == count * dtype.byteSize else {
                throw fail("tensor \(String(reflecting: name)): shape \(shape) needs \(count * dtype.byteSize) bytes, "
                           + "data_offsets \(offsets) give \(offsets[1] - offsets[0])")
            }
            let bytes = data.subdata(in: (bodyStart + offsets[0])..<(bodyStart + offsets[1]))
            tensors[name] = bytes.withUnsafeBytes { raw in
                let aligned = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(raw.count, 1), alignment: 16)
                defer { aligned.deallocate() }
                if let base = raw.baseAddress { aligned.copyMemory(from: base, byteCount: raw.count) }
                return Tensor(shape: shape, dtype: dtype, copyingFrom: aligned)
            }
        }
        return (tensors, metadata)
    }

    private static func code(_ dtype: DType) -> String {
        switch dtype {
        case .float32: "F32"
        case .int32: "I32"
        case .bool: "BOOL"
        }
    }
}

/// The tensors of a safetensors file, by name (`f32`, `i32` and `bool` elements).
///
/// - Throws: ``KilnError`` naming the file and what is wrong with it.
public func loadTensors(from path: String) throws -> [String: Tensor] {
    try Safetensors.decode(try readFile(path), file: path).tensors
}

/// Writes `tensors` to a safetensors file, atomically (as every save does).
///
/// - Throws: ``KilnError`` if the file cannot be written.
public func saveTensors(_ tensors: [String: Tensor], to path: String) throws {
    try writeAtomically(try Safetensors.encode(tensors.map { ($0.key, $0.value) }), to: path)
}
