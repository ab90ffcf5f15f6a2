import Foundation

/// Reading gzip files (RFC 1952) with zlib's own gzip support: every member of a
/// multi-member file, each member's CRC-32 and length checked.
enum Gzip {
    /// Whether `data` starts with gzip's magic bytes.
    static func isCompressed(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B
    }

    /// The most bytes a gzip file may inflate to: 16 GiB, far beyond any table Kiln reads
    /// into memory, so that a decompression bomb is an error rather than an abort.
    static let inflatedLimit = 1 << 34

    /// The decompressed contents of a gzip file.
    ///
    /// - Throws: ``KilnError`` naming `path` if a header, the compressed data or a checksum
    ///   is wrong, the file is cut short, or bytes follow the last member.
    static func decompress(_ data: Data, path: String) throws -> Data {
        let inflated = data.withUnsafeBytes { raw in
            Result { () throws(Zlib.Failure) in try Zlib.inflate(raw, format: .gzip, limit: inflatedLimit) }
        }
        switch inflated {
        case .success(let bytes): return Data(bytes)
        case .failure(let failure): throw KilnError(.file, "\(path): not a valid gzip file: \(failure.reason)")
        }
    }
}
