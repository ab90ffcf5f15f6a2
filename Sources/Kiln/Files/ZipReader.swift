import Foundation

/// A zip archive read defensively, for `.kiln` files: the end-of-central-directory record,
/// every central-directory entry and every local header are checked against the file's
/// size before anything is read through them, and each entry's contents are checked against
/// its recorded size and CRC-32. Stored and deflated entries, ZIP64 sizes and offsets; not
/// encryption or archives split over several disks.
package struct ZipReader {
    /// One file in the archive.
    package struct Entry {
        let name: String
        /// 0 stored, 8 deflated.
        let method: UInt16
        let crc: UInt32
        let compressedSize: Int
        let size: Int
        /// Where the entry's compressed bytes start.
        let dataOffset: Int
    }

    /// The archive's path, for messages.
    let file: String
    private let data: Data
    /// The entries in central-directory order.
    package let entries: [Entry]

    /// The names of the entries, in order.
    package var names: [String] { entries.map(\.name) }

    /// Reads the structure of the zip archive in `data`.
    ///
    /// - Throws: ``KilnError`` naming `file` and what is wrong, if any record is missing,
    ///   out of place, or points outside the file.
    package init(_ data: Data, file: String) throws {
        self.file = file
        self.data = data
        entries = try Self.readEntries(ByteReader(data), file: file)
    }

    /// The contents of entry `name`, inflated and checked.
    ///
    /// - Throws: ``KilnError`` naming the file and entry if there is no such entry, or its
    ///   data is corrupt, of the wrong size or fails its checksum.
    package func contents(_ name: String) throws -> Data {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw KilnError(.file, "\(file): the archive has no \(name); it holds \(names.joined(separator: ", "))")
        }
        func fail(_ why: String) -> KilnError { KilnError(.file, "\(file): entry \(name) is corrupted: \(why)") }
        let bytes = try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> [UInt8] in
            let compressed = UnsafeRawBufferPointer(rebasing: raw[entry.dataOffset..<(entry.dataOffset + entry.compressedSize)])
            if entry.method == 0 {
                guard entry.compressedSize == entry.size else {
                    throw fail("a stored entry of \(entry.compressedSize) bytes records a size of \(entry.size)")
                }
                return [UInt8](compressed)
            }
            do throws(Zlib.Failure) {
                return try Zlib.inflate(compressed, format: .raw, limit: entry.size)
            } catch {
                throw fail(error.reason)
            }
        }
        guard bytes.count == entry.size else { throw fail("it inflates to \(bytes.count) bytes, not the \(entry.size) recorded") }
        let crc = bytes.withUnsafeBytes { Zlib.crc32($0) }
        guard crc == entry.crc else {
            throw fail("its checksum is wrong (CRC-32 \(hex(crc)), the archive records \(hex(entry.crc)))")
        }
        return Data(bytes)
    }

    private func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16, uppercase: true) }

    // MARK: Structure

    private static let endSignature: UInt64 = 0x0605_4B50, locator64Signature: UInt64 = 0x0706_4B50
    private static let end64Signature: UInt64 = 0x0606_4B50, centralSignature: UInt64 = 0x0201_4B50
    private static let localSignature: UInt64 = 0x0403_4B50

    private static func readEntries(_ bytes: ByteReader, file: String) throws -> [Entry] {
        func fail(_ why: String) -> KilnError { KilnError(.file, "\(file): the zip archive is damaged: \(why)") }
        func int(_ value: UInt64?, _ what: String) throws -> Int {
            guard let value, value <= UInt64(Int.max) else { throw fail("\(what) is outside the file") }
            return Int(value)
        }
        // The end-of-central-directory record: the last one whose comment ends the file.
        var end: Int?
        for offset in stride(from: bytes.count - 22, through: Swift.max(0, bytes.count - 22 - 0xFFFF), by: -1)
            where bytes.uint(offset, 4) == endSignature && bytes.uint(offset + 20, 2).map({ offset + 22 + Int($0) }) == bytes.count {
            end = offset
            break
        }
        guard let end else { throw fail("it has no end-of-central-directory record (truncated, or not a zip)") }
        guard bytes.uint(end + 4, 2) == 0, bytes.uint(end + 6, 2) == 0 else { throw fail("it is split over several disks") }
        var count = try int(bytes.uint(end + 10, 2), "the entry count")
        var directorySize = try int(bytes.uint(end + 12, 4), "the central directory's size")
        var directoryOffset = try int(bytes.uint(end + 16, 4), "the central directory")
        var directoryLimit = end
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            guard bytes.uint(end - 20, 4) == locator64Signature else { throw fail("its ZIP64 locator is missing") }
            let record = try int(bytes.uint(end - 12, 8), "the ZIP64 end record")
            guard record <= end - 20 - 56, bytes.uint(record, 4) == end64Signature else {
                throw fail("its ZIP64 end record is missing or out of place")
            }
            count = try int(bytes.uint(record + 32, 8), "the entry count")
            directorySize = try int(bytes.uint(record + 40, 8), "the central directory's size")
            directoryOffset = try int(bytes.uint(record + 48, 8), "the central directory")
            directoryLimit = record
        }
        guard directoryOffset <= directoryLimit, directorySize == directoryLimit - directoryOffset else {
            throw fail("its central directory (\(directorySize) bytes at offset \(directoryOffset)) does not end where the "
                       + "end record starts (offset \(directoryLimit))")
        }
        guard count <= directorySize / 46 else { throw fail("\(count) entries cannot fit in a \(directorySize)-byte directory") }
        var entries: [Entry] = []
        var position = directoryOffset
        for index in 0..<count {
            let entry = try readEntry(bytes, at: &position, limit: directoryLimit, dataLimit: directoryOffset, fail: {
                fail("central-directory entry \(index): \($0)")
            })
            guard !entries.contains(where: { $0.name == entry.name }) else { throw fail("it holds \(entry.name) twice") }
            entries.append(entry)
        }
        guard position == directoryLimit else { throw fail("its central directory has bytes after the last entry") }
        return entries
    }

    /// Reads the central-directory entry at `position` (moving past it) and checks its local header.
    private static func readEntry(_ bytes: ByteReader, at position: inout Int, limit: Int, dataLimit: Int,
                                  fail: (String) -> KilnError) throws -> Entry {
        let p = position
        guard p <= limit - 46, bytes.uint(p, 4) == centralSignature else { throw fail("missing or out of place") }
        let flags = bytes.field(p + 8, 2), method = UInt16(bytes.field(p + 10, 2)), crc = UInt32(bytes.field(p + 16, 4))
        var compressed = bytes.field(p + 20, 4), size = bytes.field(p + 24, 4), local = bytes.field(p + 42, 4)
        let nameLength = Int(bytes.field(p + 28, 2)), extraLength = Int(bytes.field(p + 30, 2))
        let commentLength = Int(bytes.field(p + 32, 2))
        let next = p + 46 + nameLength + extraLength + commentLength
        guard next <= limit else { throw fail("its name, extra field or comment runs past the directory") }
        guard let name = bytes.text((p + 46)..<(p + 46 + nameLength)) else {
            throw fail("its name is not UTF-8")
        }
        guard flags & 1 == 0 else { throw fail("\(name) is encrypted") }
        guard method == 0 || method == 8 else { throw fail("\(name) uses compression method \(method), not stored or deflate") }
        // ZIP64: the extra field holds, in order, each 32-bit field that is all ones.
        if size == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
            var extra = p + 46 + nameLength
            let extraEnd = extra + extraLength
            var found = false
            while extra + 4 <= extraEnd, let id = bytes.uint(extra, 2), let length = bytes.uint(extra + 2, 2) {
                let body = extra + 4
                guard body + Int(length) <= extraEnd else { break }
                if id == 1 {
                    var field = body
                    func next64() throws -> UInt64 {
                        guard field + 8 <= body + Int(length), let value = bytes.uint(field, 8) else {
                            throw fail("\(name): its ZIP64 extra field is too short")
                        }
                        field += 8
                        return value
                    }
                    if size == 0xFFFF_FFFF { size = try next64() }
                    if compressed == 0xFFFF_FFFF { compressed = try next64() }
                    if local == 0xFFFF_FFFF { local = try next64() }
                    found = true
                    break
                }
                extra = body + Int(length)
            }
            guard found else { throw fail("\(name): its ZIP64 sizes are missing") }
        }
        guard local <= UInt64(dataLimit), compressed <= UInt64(dataLimit), size <= UInt64(Int.max) else {
            throw fail("\(name): its local header or size is outside the file")
        }
        let header = Int(local)
        guard header <= dataLimit - 30, bytes.uint(header, 4) == localSignature else {
            throw fail("\(name): its local header is missing or out of place")
        }
        let dataOffset = header + 30 + Int(bytes.field(header + 26, 2)) + Int(bytes.field(header + 28, 2))
        guard dataOffset <= dataLimit, Int(compressed) <= dataLimit - dataOffset else {
            throw fail("\(name): its \(compressed) bytes of data run into the central directory")
        }
        position = next
        return Entry(name: name, method: method, crc: crc, compressedSize: Int(compressed), size: Int(size),
                     dataOffset: dataOffset)
    }
}
