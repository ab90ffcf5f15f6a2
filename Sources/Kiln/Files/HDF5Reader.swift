import Foundation

/// Reads the part of HDF5 that h5py writes by default, and that Keras' `model.weights.h5`
/// uses: superblock version 0 or 1, version-1 object headers with their continuation blocks,
/// groups as symbol tables (a version-1 B-tree of symbol-table nodes over a local heap), and
/// datasets of little-endian floats or integers stored contiguously or compactly.
///
/// Every address and size is checked against the file before it is followed, every walk is
/// bounded (B-tree depth, visited nodes, message counts), so a damaged file is an error that
/// names the file, the object and what is wrong, never a trap or a hang. What the reader does
/// not implement (chunked or compressed datasets, the newer object headers and link storage,
/// big-endian or 16-bit data) is an error that says so.
package struct HDF5Reader {
    /// A dataset's shape and elements, converted to `Float`.
    package struct Dataset {
        package let shape: [Int]
        /// `float32`, `float64`, `int64`, ...: what the file stores.
        package let storedType: String
        package let values: [Float]
    }

    /// The file's name, for messages.
    let file: String
    private let bytes: ByteReader
    private let offsetSize: Int, lengthSize: Int, base: Int
    private let rootHeader: Int

    /// The 8-byte signature every HDF5 file starts with (at 0, 512, 1024, ...).
    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Reads the superblock of the HDF5 file in `data`.
    ///
    /// - Throws: ``KilnError`` naming `file` if there is no superblock, or one of a version
    ///   or with field sizes the reader does not handle.
    package init(_ data: Data, file: String) throws {
        self.file = file
        let bytes = ByteReader(data)
        self.bytes = bytes
        var start: Int?
        var candidate = 0
        while candidate + 8 <= bytes.count {
            if bytes.matches(candidate, Self.signature) {
                start = candidate
                break
            }
            candidate = candidate == 0 ? 512 : candidate * 2
        }
        guard let start else { throw KilnError(.file, "\(file) is not an HDF5 file (no HDF5 signature)") }
        let version = bytes.uint(start + 8, 1) ?? 255
        guard version <= 1 else {
            throw KilnError(.file, "\(file): HDF5 superblock version \(version) is not supported; Kiln reads the format h5py "
                            + "and Keras write by default (superblock version 0 or 1)")
        }
        guard let offsets = bytes.uint(start + 13, 1), let lengths = bytes.uint(start + 14, 1),
              [2, 4, 8].contains(offsets), [2, 4, 8].contains(lengths) else {
            throw KilnError(.file, "\(file): the HDF5 superblock is damaged (sizes of offsets and lengths)")
        }
        offsetSize = Int(offsets)
        lengthSize = Int(lengths)
        // Version 1 adds two bytes of indexed-storage K and two reserved bytes.
        let addresses = start + 24 + (version == 1 ? 4 : 0)
        guard let baseAddress = bytes.uint(addresses, offsetSize), baseAddress <= UInt64(bytes.count) else {
            throw KilnError(.file, "\(file): the HDF5 superblock is damaged (base address)")
        }
        base = Int(baseAddress)
        // Base, free-space, end-of-file and driver addresses, then the root group's symbol-table entry.
        let rootEntry = addresses + 4 * offsetSize
        guard let root = bytes.uint(rootEntry + offsetSize, offsetSize) else {
            throw KilnError(.file, "\(file): the HDF5 file is truncated in its superblock")
        }
        rootHeader = try Self.address(root, base: base, in: bytes, file: file, what: "the root group")
    }

    /// The dataset at `path` (`layers/dense/vars/0`), or `nil` when nothing is there.
    ///
    /// - Throws: ``KilnError`` naming the file and path if the path names a group, or the
    ///   structure on the way or the dataset is damaged or of a kind the reader does not read.
    package func dataset(_ path: String) throws -> Dataset? {
        guard let header = try object(path) else { return nil }
        let messages = try self.messages(header, path: path)
        if messages.contains(where: { $0.type == MessageType.symbolTable }) {
            throw KilnError(.file, "\(file): \(path) is a group, not a dataset")
        }
        return try readDataset(messages, path: path)
    }

    /// The names of the members of the group at `path` (`""` for the root), sorted, or
    /// `nil` when there is no such group.
    package func members(_ path: String) throws -> [String]? {
        guard let header = try object(path) else { return nil }
        guard let entries = try groupEntries(header, path: path) else { return nil }
        return entries.map(\.name).sorted()
    }

    // MARK: Paths and groups

    /// The object header address of the object at `path`, or `nil` if some part is missing.
    private func object(_ path: String) throws -> Int? {
        var header = rootHeader
        var walked = ""
        for part in path.split(separator: "/") {
            guard let entries = try groupEntries(header, path: walked.isEmpty ? "/" : walked) else { return nil }
            walked += (walked.isEmpty ? "" : "/") + part
            guard let entry = entries.first(where: { $0.name == part }) else { return nil }
            header = entry.header
        }
        return header
    }

    /// The members of the group whose object header is at `header`, or `nil` if it is not a group.
    private func groupEntries(_ header: Int, path: String) throws -> [(name: String, header: Int)]? {
        let messages = try self.messages(header, path: path)
        if messages.contains(where: { $0.type == MessageType.linkInfo || $0.type == MessageType.link }) {
            throw KilnError(.file, "\(file): group \(path) stores its members as links (HDF5 1.8 format), which Kiln "
                            + "does not read; save it with h5py's default format (libver \"earliest\")")
        }
        guard let table = messages.first(where: { $0.type == MessageType.symbolTable }) else { return nil }
        func fail(_ why: String) -> KilnError { KilnError(.file, "\(file): group \(path) is damaged: \(why)") }
        guard table.size >= 2 * offsetSize, let tree = bytes.uint(table.offset, offsetSize),
              let heap = bytes.uint(table.offset + offsetSize, offsetSize) else { throw fail("its symbol-table message is short") }
        let heapAddress = try address(heap, what: "group \(path)'s local heap")
        guard bytes.matches(heapAddress, Array("HEAP".utf8)),
              let segmentSize = bytes.uint(heapAddress + 8, lengthSize),
              let segment = bytes.uint(heapAddress + 8 + 2 * lengthSize, offsetSize) else {
            throw fail("its local heap is missing or truncated")
        }
        let segmentStart = try address(segment, what: "group \(path)'s name heap")
        guard segmentSize <= UInt64(bytes.count - segmentStart) else { throw fail("its name heap runs past the end of the file") }
        let segmentEnd = segmentStart + Int(segmentSize)
        var entries: [(name: String, header: Int)] = []
        var visited: Set<Int> = []
        try walkTree(try address(tree, what: "group \(path)'s B-tree"), depth: 0, visited: &visited, fail: fail) { node in
            guard bytes.matches(node, Array("SNOD".utf8)), let count = bytes.uint(node + 6, 2) else {
                throw fail("a symbol-table node is missing")
            }
            let entrySize = 2 * offsetSize + 24
            for k in 0..<Int(count) {
                let entry = node + 8 + k * entrySize
                guard let nameOffset = bytes.uint(entry, offsetSize), let objectHeader = bytes.uint(entry + offsetSize, offsetSize)
                else { throw fail("a symbol-table node is truncated") }
                guard nameOffset < segmentSize, let name = bytes.cString(segmentStart + Int(nameOffset), limit: segmentEnd) else {
                    throw fail("a member's name is outside its name heap")
                }
                entries.append((name, try address(objectHeader, what: "\(path)/\(name)")))
                guard entries.count <= 1 << 20 else { throw fail("it has more than a million members") }
            }
        }
        return entries
    }

    /// Calls `leaf` with the address of each symbol-table node under the group B-tree node
    /// at `node`, left to right.
    private func walkTree(_ node: Int, depth: Int, visited: inout Set<Int>, fail: (String) -> KilnError,
                          leaf: (Int) throws -> Void) throws {
        guard depth < 32, visited.insert(node).inserted else { throw fail("its B-tree has a cycle or is too deep") }
        guard bytes.matches(node, Array("TREE".utf8)), bytes.uint(node + 4, 1) == 0,
              let level = bytes.uint(node + 5, 1), let used = bytes.uint(node + 6, 2) else {
            throw fail("a B-tree node is missing or is not a group node")
        }
        // Header, two sibling addresses, then key, child, key, ..., child, key.
        var position = node + 8 + 2 * offsetSize + lengthSize
        for _ in 0..<Int(used) {
            guard let child = bytes.uint(position, offsetSize) else { throw fail("a B-tree node is truncated") }
            let childAddress = try address(child, what: "a B-tree child")
            if level == 0 {
                try leaf(childAddress)
            } else {
                try walkTree(childAddress, depth: depth + 1, visited: &visited, fail: fail, leaf: leaf)
            }
            position += offsetSize + lengthSize
        }
    }

    // MARK: Object headers

    enum MessageType {
        static let dataspace = 0x01, linkInfo = 0x02, datatype = 0x03, link = 0x06, layout = 0x08
        static let filters = 0x0B, continuation = 0x10, symbolTable = 0x11
    }

    /// One header message: its type and where its data is.
    private struct Message {
        let type: Int
        let offset: Int
        let size: Int
    }

    /// The messages of the version-1 object header at `header`, with those of its continuation blocks.
    private func messages(_ header: Int, path: String) throws -> [Message] {
        func fail(_ why: String) -> KilnError { KilnError(.file, "\(file): the object header of \(path) is damaged: \(why)") }
        if bytes.matches(header, Array("OHDR".utf8)) {
            throw KilnError(.file, "\(file): \(path) has a version-2 object header (HDF5 1.8 format), which Kiln does not "
                            + "read; save it with h5py's default format (libver \"earliest\")")
        }
        guard bytes.uint(header, 1) == 1, let size = bytes.uint(header + 8, 4) else {
            throw fail("it is missing or is not a version-1 header")
        }
        var blocks: [(start: Int, end: Int)] = []
        var seen: Set<Int> = []
        func addBlock(_ start: Int, _ length: UInt64) throws {
            guard length <= UInt64(bytes.count), start <= bytes.count - Int(length) else { throw fail("a block runs past the end") }
            guard seen.insert(start).inserted, seen.count <= 4096 else { throw fail("its continuation blocks loop") }
            blocks.append((start, start + Int(length)))
        }
        try addBlock(header + 16, size)
        var messages: [Message] = []
        var index = 0
        while index < blocks.count {
            var position = blocks[index].start
            let end = blocks[index].end
            index += 1
            while position + 8 <= end {
                let type = Int(bytes.field(position, 2)), length = Int(bytes.field(position + 2, 2))
                guard length <= end - position - 8 else { throw fail("a message runs past its block") }
                let message = Message(type: type, offset: position + 8, size: length)
                if type == MessageType.continuation {
                    guard length >= offsetSize + lengthSize, let next = bytes.uint(message.offset, offsetSize),
                          let nextLength = bytes.uint(message.offset + offsetSize, lengthSize) else {
                        throw fail("a continuation message is short")
                    }
                    try addBlock(try address(next, what: "\(path)'s header continuation"), nextLength)
                } else if type != 0 {
                    messages.append(message)
                }
                position += 8 + length
            }
        }
        return messages
    }

    // MARK: Datasets

    private func readDataset(_ messages: [Message], path: String) throws -> Dataset {
        func fail(_ why: String) -> KilnError { KilnError(.file, "\(file): dataset \(path): \(why)") }
        func message(_ type: Int, _ name: String) throws -> Message {
            guard let found = messages.first(where: { $0.type == type }) else { throw fail("it has no \(name) message") }
            return found
        }
        if messages.contains(where: { $0.type == MessageType.filters }) {
            throw fail("it is compressed or filtered, which Kiln does not read; save it without compression")
        }
        // Dataspace.
        let space = try message(MessageType.dataspace, "dataspace")
        guard space.size >= 4, let version = bytes.uint(space.offset, 1), let rank = bytes.uint(space.offset + 1, 1),
              [1, 2].contains(version), rank <= 32 else { throw fail("its dataspace is damaged") }
        var shape: [Int] = []
        let dims = space.offset + (version == 1 ? 8 : 4)
        let spaceKind = version == 2 ? bytes.field(space.offset + 3, 1) : (rank == 0 ? 0 : 1)
        guard spaceKind != 2 else { throw fail("it has a null dataspace (no elements)") }
        var count = 1
        for axis in 0..<Int(rank) {
            guard dims + (axis + 1) * lengthSize <= space.offset + space.size, let size = bytes.uint(dims + axis * lengthSize, lengthSize),
                  size < 1 << 40 else { throw fail("its dataspace is damaged") }
            shape.append(Int(size))
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(size))
            guard !overflow, product < 1 << 40 else { throw fail("its shape \(shape) is too large") }
            count = product
        }
        // Datatype.
        let type = try message(MessageType.datatype, "datatype")
        guard type.size >= 8, let classByte = bytes.uint(type.offset, 1), let size = bytes.uint(type.offset + 4, 4) else {
            throw fail("its datatype is damaged")
        }
        let typeClass = Int(classByte & 0x0F), bits = bytes.field(type.offset + 1, 1)
        let element: ByteReader.Element
        switch (typeClass, size) {
        case (1, 4), (1, 8):
            guard bits & 0x41 == 0 else { throw fail("its floats are big-endian, which Kiln does not read") }
            element = size == 4 ? .float32 : .float64
        case (1, 2):
            throw fail("it holds 16-bit floats (float16 or bfloat16), which Kiln does not read; save the model in float32")
        case (0, 1), (0, 2), (0, 4), (0, 8):
            guard bits & 0x01 == 0 else { throw fail("its integers are big-endian, which Kiln does not read") }
            element = .integer(size: Int(size), signed: bits & 0x08 != 0)
        default:
            let names = ["integer", "float", "time", "string", "bit field", "opaque", "compound", "reference", "enum",
                         "variable-length", "array"]
            let name = typeClass < names.count ? names[typeClass] : "class \(typeClass)"
            throw fail("it holds \(name) elements of \(size) bytes; Kiln reads float and integer datasets")
        }
        let elementSize = Int(size)
        // Layout.
        let layout = try message(MessageType.layout, "layout")
        guard layout.size >= 2, let layoutVersion = bytes.uint(layout.offset, 1), (1...4).contains(layoutVersion) else {
            throw fail("its layout message is damaged")
        }
        var dataStart: Int? = nil
        var storedBytes = 0
        let layoutEnd = layout.offset + layout.size
        if layoutVersion >= 3 {
            switch bytes.field(layout.offset + 1, 1) {
            case 0:
                guard layout.offset + 4 <= layoutEnd else { throw fail("its layout message is damaged") }
                storedBytes = Int(bytes.field(layout.offset + 2, 2))
                guard layout.offset + 4 + storedBytes <= layoutEnd else { throw fail("its compact data runs past its header") }
                dataStart = layout.offset + 4
            case 1:
                guard layout.offset + 2 + offsetSize + lengthSize <= layoutEnd, let where_ = bytes.uint(layout.offset + 2, offsetSize),
                      let length = bytes.uint(layout.offset + 2 + offsetSize, lengthSize) else {
                    throw fail("its layout message is damaged")
                }
                if !ByteReader.isUndefined(where_, size: offsetSize) {
                    dataStart = try address(where_, what: "dataset \(path)'s data")
                    guard length <= UInt64(bytes.count - dataStart!) else { throw fail("its data runs past the end of the file") }
                    storedBytes = Int(length)
                }
            case 2: throw fail("it is stored in chunks, which Kiln does not read; save it contiguously (h5py's default)")
            default: throw fail("its storage layout is unknown")
            }
        } else {
            let dimensionality = Int(bytes.field(layout.offset + 1, 1)), layoutClass = bytes.field(layout.offset + 2, 1)
            switch layoutClass {
            case 1:
                guard let where_ = bytes.uint(layout.offset + 8, offsetSize) else { throw fail("its layout message is damaged") }
                if !ByteReader.isUndefined(where_, size: offsetSize) {
                    dataStart = try address(where_, what: "dataset \(path)'s data")
                    storedBytes = bytes.count - dataStart!
                }
            case 0:
                let sizeField = layout.offset + 8 + 4 * dimensionality
                guard let compact = bytes.uint(sizeField, 4), compact <= UInt64(layoutEnd - sizeField - 4) else {
                    throw fail("its compact data runs past its header")
                }
                dataStart = sizeField + 4
                storedBytes = Int(compact)
            default: throw fail("it is stored in chunks, which Kiln does not read; save it contiguously (h5py's default)")
            }
        }
        let needed = count * elementSize
        // A dataset whose data was never written (no address) has no values to read either.
        guard let dataStart else { throw fail("its data was never written (no storage address)") }
        guard storedBytes >= needed else {
            throw fail("its shape \(shape) needs \(needed) bytes of \(element.description) but \(storedBytes) are stored")
        }
        return Dataset(shape: shape, storedType: element.description,
                       values: bytes.floats(dataStart, count: count, element: element))
    }

    // MARK: Addresses

    private func address(_ value: UInt64, what: String) throws -> Int {
        try Self.address(value, base: base, in: bytes, file: file, what: what)
    }

    /// `value` relative to the base address, checked to be inside the file.
    private static func address(_ value: UInt64, base: Int, in bytes: ByteReader, file: String, what: String) throws -> Int {
        guard value < UInt64(bytes.count), Int(value) <= bytes.count - base else {
            throw KilnError(.file, "\(file): the address of \(what) (\(value)) is outside the file (\(bytes.count) bytes); "
                            + "the file is truncated or damaged")
        }
        return base + Int(value)
    }
}
