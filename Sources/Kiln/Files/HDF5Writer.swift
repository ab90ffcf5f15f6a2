import Foundation

/// Writes float32 datasets at slash-separated paths as an HDF5 file in the format h5py writes
/// by default (the one ``HDF5Reader`` reads): superblock version 0, version-1 object headers,
/// groups as symbol tables (one version-1 B-tree node over symbol-table nodes and a local
/// heap of names), datasets stored contiguously. Any HDF5 library reads it.
package struct HDF5Writer {
    private indirect enum Node {
        case group([String: Node])
        case dataset(shape: [Int], values: [Float], integers: Bool)
    }

    private var root: [String: Node] = [:]

    /// The group B-tree's K: a node has up to 2K children (HDF5's default, 16).
    private static let internalK = 16
    private static let undefined = [UInt8](repeating: 0xFF, count: 8)

    package init() {}

    /// Adds the dataset `values` of `shape` at `path` (`layers/dense/vars/0`), making the
    /// groups on the way: float32, or with `integers` int64 (the values must be whole).
    ///
    /// - Throws: ``KilnError`` if a part of the path is empty, or the path is taken or runs
    ///   through a dataset, or the values do not fill the shape.
    package mutating func add(_ path: String, shape: [Int], values: [Float], integers: Bool = false) throws {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && !$0.utf8.contains(0) }) else {
            throw KilnError(.invalidArgument, "HDF5 path \(String(reflecting: path)) has an empty part")
        }
        guard shape.reduce(1, *) == values.count else {
            throw KilnError(.invalidArgument, "HDF5 dataset \(path): shape \(shape) does not hold \(values.count) values")
        }
        func insert(_ group: inout [String: Node], _ rest: ArraySlice<String>) throws {
            let name = rest.first!
            if rest.count == 1 {
                guard group[name] == nil else { throw KilnError(.invalidArgument, "HDF5 path \(path) is written twice") }
                group[name] = .dataset(shape: shape, values: values, integers: integers)
                return
            }
            var children: [String: Node] = [:]
            switch group[name] {
            case .dataset?: throw KilnError(.invalidArgument, "HDF5 path \(path) runs through a dataset")
            case .group(let existing)?: children = existing
            case nil: break
            }
            try insert(&children, rest.dropFirst())
            group[name] = .group(children)
        }
        try insert(&root, parts[...])
    }

    /// The file's bytes.
    package func encoded() -> Data {
        let leafK = Swift.max(4, (Self.mostMembers(root) + 4 * Self.internalK - 1) / (4 * Self.internalK))
        var out = Output()
        out.bytes = [UInt8](repeating: 0, count: 96)  // The superblock, written last.
        let (rootHeader, tree, heap) = writeGroup(root, leafK: leafK, into: &out)
        var superblock: [UInt8] = HDF5Reader.signature
        superblock += [0, 0, 0, 0, 0, 8, 8, 0]  // Versions, sizes of offsets and lengths.
        superblock += le(UInt64(leafK), 2) + le(UInt64(Self.internalK), 2) + le(0, 4)
        superblock += le(0, 8) + Self.undefined + le(UInt64(out.bytes.count), 8) + Self.undefined
        superblock += symbolEntry(nameOffset: 0, header: rootHeader, tree: tree, heap: heap)
        out.bytes.replaceSubrange(0..<96, with: superblock)
        return Data(out.bytes)
    }

    private struct Output {
        var bytes: [UInt8] = []
        var position: UInt64 { UInt64(bytes.count) }

        mutating func append(_ data: [UInt8]) -> UInt64 {
            let at = position
            bytes += data
            return at
        }
    }

    /// The largest number of members any group has.
    private static func mostMembers(_ group: [String: Node]) -> Int {
        group.values.reduce(group.count) { most, node in
            if case .group(let children) = node { return Swift.max(most, mostMembers(children)) }
            return most
        }
    }

    /// Writes the members, then the group's heap, nodes, B-tree and header; returns the
    /// header's, the B-tree's and the heap's addresses.
    private func writeGroup(_ members: [String: Node], leafK: Int, into out: inout Output) -> (UInt64, UInt64, UInt64) {
        let names = members.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var headers: [UInt64] = []
        var cached: [(UInt64, UInt64)?] = []
        for name in names {
            switch members[name]! {
            case .group(let children):
                let (header, tree, heap) = writeGroup(children, leafK: leafK, into: &out)
                headers.append(header)
                cached.append((tree, heap))
            case .dataset(let shape, let values, let integers):
                headers.append(writeDataset(shape: shape, values: values, integers: integers, into: &out))
                cached.append(nil)
            }
        }
        // The names, each NUL-terminated and padded to 8 bytes, after the empty name at 0.
        var heapData = [UInt8](repeating: 0, count: 8)
        var nameOffsets: [UInt64] = []
        for name in names {
            nameOffsets.append(UInt64(heapData.count))
            heapData += Array(name.utf8) + [0]
            heapData += [UInt8](repeating: 0, count: (8 - heapData.count % 8) % 8)
        }
        let heapSegment = out.append(heapData)
        // No free block: HDF5's end-of-free-list offset is 1.
        let heap = out.append(Array("HEAP".utf8) + [0, 0, 0, 0] + le(UInt64(heapData.count), 8) + le(1, 8) + le(heapSegment, 8))
        // Symbol-table nodes of up to 2·leafK members, each allocated at full size.
        let perNode = 2 * leafK
        var nodes: [(address: UInt64, lastName: UInt64)] = []
        for start in stride(from: 0, to: names.count, by: perNode) {
            let end = Swift.min(start + perNode, names.count)
            var node: [UInt8] = Array("SNOD".utf8) + [1, 0] + le(UInt64(end - start), 2)
            for k in start..<end {
                node += symbolEntry(nameOffset: nameOffsets[k], header: headers[k], tree: cached[k]?.0, heap: cached[k]?.1)
            }
            node += [UInt8](repeating: 0, count: (perNode - (end - start)) * 40)
            nodes.append((out.append(node), nameOffsets[end - 1]))
        }
        // One leaf B-tree node: key 0 (the empty name), then each node and its last name.
        var tree: [UInt8] = Array("TREE".utf8) + [0, 0] + le(UInt64(nodes.count), 2) + Self.undefined + Self.undefined
        tree += le(0, 8)
        for node in nodes { tree += le(node.address, 8) + le(node.lastName, 8) }
        tree += [UInt8](repeating: 0, count: (2 * Self.internalK - nodes.count) * 16)
        let treeAddress = out.append(tree)
        let header = out.append(objectHeader([(0x11, le(treeAddress, 8) + le(heap, 8))]))
        return (header, treeAddress, heap)
    }

    /// Writes the data and then the dataset's header; returns the header's address.
    private func writeDataset(shape: [Int], values: [Float], integers: Bool, into out: inout Output) -> UInt64 {
        let data = out.append(integers ? values.flatMap { le(UInt64(bitPattern: Int64($0)), 8) }
                                       : values.flatMap { le(UInt64($0.bitPattern), 4) })
        let space: [UInt8] = [1, UInt8(shape.count), 0, 0, 0, 0, 0, 0] + shape.flatMap { le(UInt64($0), 8) }
        // Little-endian signed 64-bit integers, or IEEE float32: 23-bit mantissa at bit 0,
        // 8-bit exponent at 23, bias 127.
        let type: [UInt8] = integers ? [0x10, 0x08, 0x00, 0x00] + le(8, 4) + le(0, 2) + le(64, 2)
            : [0x11, 0x20, 0x1F, 0x00] + le(4, 4) + le(0, 2) + le(32, 2) + [23, 8, 0, 23] + le(127, 4)
        let fill: [UInt8] = [2, 2, 2, 0]  // Version 2: allocated late, written if set, no value defined.
        let layout: [UInt8] = [3, 1] + le(data, 8) + le(UInt64(values.count * (integers ? 8 : 4)), 8)
        return out.append(objectHeader([(0x01, space), (0x03, type), (0x05, fill), (0x08, layout)]))
    }

    /// A version-1 object header holding `messages`, each padded to 8 bytes.
    private func objectHeader(_ messages: [(type: UInt64, data: [UInt8])]) -> [UInt8] {
        var body: [UInt8] = []
        for (type, data) in messages {
            let padded = data + [UInt8](repeating: 0, count: (8 - data.count % 8) % 8)
            body += le(type, 2) + le(UInt64(padded.count), 2) + [0, 0, 0, 0] + padded
        }
        return [1, 0] + le(UInt64(messages.count), 2) + le(1, 4) + le(UInt64(body.count), 4) + [0, 0, 0, 0] + body
    }

    /// A 40-byte symbol-table entry; a group's caches its B-tree and heap addresses.
    private func symbolEntry(nameOffset: UInt64, header: UInt64, tree: UInt64?, heap: UInt64?) -> [UInt8] {
        var entry = le(nameOffset, 8) + le(header, 8)
        if let tree, let heap {
            entry += le(1, 4) + le(0, 4) + le(tree, 8) + le(heap, 8)
        } else {
            entry += [UInt8](repeating: 0, count: 24)
        }
        return entry
    }

    private func le(_ value: UInt64, _ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }
}
