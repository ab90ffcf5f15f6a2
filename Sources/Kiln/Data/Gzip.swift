import Foundation
import ZIPFoundation

/// Reading gzip files (RFC 1952): the header is parsed here, the deflate stream is inflated
/// by ZIPFoundation (zlib), and the trailer's CRC-32 and length are checked.
enum Gzip {
    /// Whether `data` starts with gzip's magic bytes.
    static func isCompressed(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B }

    /// The decompressed contents of a gzip file (one member).
    ///
    /// - Throws: ``KilnError`` naming `path` if the header, the stream or the checksum is wrong.
    static func decompress(_ data: Data, path: String) throws -> Data {
        let bytes = [UInt8](data)
        func fail(_ why: String) -> KilnError { KilnError(.file, "\(path): not a valid gzip file: \(why)") }
        guard bytes.count >= 18, bytes[0] == 0x1F, bytes[1] == 0x8B else { throw fail("too short or no gzip header") }
        guard bytes[2] == 8 else { throw fail("compression method \(bytes[2]) is not deflate") }
        let flags = bytes[3]
        var offset = 10
        if flags & 0x04 != 0 {  // FEXTRA
            guard offset + 2 <= bytes.count else { throw fail("truncated extra field") }
            offset += 2 + Int(bytes[offset]) + Int(bytes[offset + 1]) << 8
        }
        for flag in [UInt8(0x08), 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT: zero-terminated
            guard let end = bytes[offset...].firstIndex(of: 0) else { throw fail("truncated header") }
            offset = end + 1
        }
        if flags & 0x02 != 0 { offset += 2 }  // FHCRC
        guard offset + 8 <= bytes.count else { throw fail("truncated header") }
        let stream = data.subdata(in: (data.startIndex + offset)..<(data.endIndex - 8))
        var output = Data()
        let crc: CRC32
        do {
            crc = try Data.decompress(size: Int64(stream.count), bufferSize: 1 << 16, skipCRC32: false,
                                      provider: { position, size in
                                          let start = stream.startIndex + Int(position)
                                          return stream.subdata(in: start..<Swift.min(stream.endIndex, start + size))
                                      },
                                      consumer: { output.append($0) })
        } catch {
            throw fail("the compressed data is corrupt (\(error))")
        }
        let trailer = bytes[(bytes.count - 8)...].map(UInt32.init)
        let expectedCRC = trailer[0] | trailer[1] << 8 | trailer[2] << 16 | trailer[3] << 24
        let expectedSize = trailer[4] | trailer[5] << 8 | trailer[6] << 16 | trailer[7] << 24
        guard crc == expectedCRC, UInt32(truncatingIfNeeded: output.count) == expectedSize else {
            throw fail("checksum mismatch (the file is truncated or corrupt)")
        }
        return output
    }
}
