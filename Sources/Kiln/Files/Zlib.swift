import CKilnZlib

/// Inflating deflate data and computing CRC-32 with zlib: the raw streams inside zip entries
/// and gzip files (every member, with zlib checking each member's CRC-32 and length).
enum Zlib {
    /// How the compressed bytes are framed.
    enum Format {
        /// A bare deflate stream (a zip entry), which must end exactly at the end of the input.
        case raw
        /// One or more gzip members, one after another.
        case gzip
    }

    /// Why inflating failed, in words for an error message.
    struct Failure: Error {
        let reason: String
    }

    /// The inflated bytes of `input`.
    ///
    /// - Parameter limit: The most bytes the output may have; more is a failure (a size
    ///   recorded in a header that the data does not keep to, or a decompression bomb).
    /// - Throws: ``Failure`` if the data is corrupt, cut short, followed by other bytes, or
    ///   inflates to more than `limit`.
    static func inflate(_ input: UnsafeRawBufferPointer, format: Format, limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard kiln_inflate_init(&stream, format == .raw ? -MAX_WBITS : 16 + MAX_WBITS) == Z_OK else {
            throw Failure(reason: "zlib could not start (out of memory?)")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(Swift.min(limit, Swift.max(input.count * 4, 1 << 16)))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var consumed = 0
        func feed() {
            guard stream.avail_in == 0, consumed < input.count, let base = input.baseAddress else { return }
            let size = Swift.min(input.count - consumed, Int(UInt32.max))
            stream.next_in = UnsafeMutablePointer(mutating: (base + consumed).assumingMemoryBound(to: Bytef.self))
            stream.avail_in = UInt32(size)
            consumed += size
        }
        var remaining: Int { Int(stream.avail_in) + input.count - consumed }
        while true {
            feed()
            let before = remaining
            let (status, produced) = chunk.withUnsafeMutableBufferPointer { buffer in
                stream.next_out = buffer.baseAddress
                stream.avail_out = UInt32(buffer.count)
                let status = CKilnZlib.inflate(&stream, Z_NO_FLUSH)
                return (status, buffer.count - Int(stream.avail_out))
            }
            guard output.count + produced <= limit else {
                throw Failure(reason: "it inflates to more than the \(limit) bytes expected")
            }
            output.append(contentsOf: chunk[..<produced])
            switch status {
            case Z_STREAM_END:
                guard remaining > 0 else { return output }
                guard format == .gzip else { throw Failure(reason: "\(remaining) bytes follow the end of the compressed data") }
                feed()
                guard stream.avail_in >= 2, stream.next_in[0] == 0x1F, stream.next_in[1] == 0x8B else {
                    throw Failure(reason: "\(remaining) bytes after the last gzip member are not another member")
                }
                inflateReset(&stream)
            case Z_OK, Z_BUF_ERROR:
                if remaining == 0 && produced == 0 { throw Failure(reason: "the data is cut short") }
                if remaining == before && produced == 0 { throw Failure(reason: "zlib made no progress") }
            case Z_DATA_ERROR:
                throw Failure(reason: stream.msg.map { String(cString: $0) } ?? "the compressed data is corrupt")
            case Z_MEM_ERROR:
                throw Failure(reason: "out of memory")
            default:
                throw Failure(reason: "zlib failed with status \(status)")
            }
        }
    }

    /// The CRC-32 of `bytes` (as zip and gzip record it).
    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CKilnZlib.crc32(0, nil, 0)
        var offset = 0
        while offset < bytes.count, let base = bytes.baseAddress {
            let size = Swift.min(bytes.count - offset, Int(UInt32.max))
            crc = CKilnZlib.crc32(crc, (base + offset).assumingMemoryBound(to: Bytef.self), UInt32(size))
            offset += size
        }
        return UInt32(crc)
    }
}
