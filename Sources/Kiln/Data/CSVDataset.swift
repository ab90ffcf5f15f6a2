import Foundation
import KilnGraph

/// Batches of rows read from a numeric CSV file as they are needed: only the batch being
/// trained on and the next are in memory, whatever the file's size. The file is scanned
/// once when made, to count its rows and note where each batch starts.
///
/// ```swift
/// let train = try CSVDataset(path: "sensors.csv", targetColumns: ["failure"], batchSize: 256)
/// try model.fit(train, epochs: 3)
/// ```
///
/// Every cell must be a number (quotes around a number are allowed); the file must be
/// uncompressed, so that a batch can be read from the middle.
public final class CSVDataset: Dataset {
    /// The file.
    public let path: String
    /// The header's column names, when the file has a header line.
    public let header: [String]?
    /// The columns of the inputs and of the targets, by index.
    public let featureColumns: [Int], targetColumns: [Int]
    /// The samples in each batch (the last may have fewer).
    public let batchSize: Int
    /// The number of data rows.
    public let rows: Int
    private let delimiter: UInt8
    /// Each batch's byte offset and line number (1-based) in the file.
    private var starts: [(offset: UInt64, line: Int)] = []
    private let file: FileHandle
    private let width: Int

    /// Batches of `batchSize` rows of the CSV file at `path`; the targets are the columns
    /// named `targetColumns` (by the header), the inputs every other column unless
    /// `featureColumns` names them.
    ///
    /// - Throws: ``KilnError`` naming the file if it cannot be read or is gzipped, a column
    ///   name is unknown, or a row has a different number of cells than the first.
    public convenience init(path: String, targetColumns: [String], featureColumns: [String]? = nil, batchSize: Int = 32,
                            delimiter: Character = ",") throws {
        let names = try Self.headerNames(path: path, delimiter: delimiter)
        func indices(_ wanted: [String]) throws -> [Int] {
            try wanted.map { name in
                guard let index = names.firstIndex(of: name) else {
                    throw KilnError(.invalidArgument, "\(path) has no column \(String(reflecting: name)); its columns are: "
                                    + names.joined(separator: ", "))
                }
                return index
            }
        }
        let targets = try indices(targetColumns)
        let features = try featureColumns.map(indices) ?? names.indices.filter { !targets.contains($0) }
        try self.init(path: path, hasHeader: true, targetColumns: targets, featureColumns: features, batchSize: batchSize,
                      delimiter: delimiter)
    }

    /// Batches of `batchSize` rows of the CSV file at `path`, with columns given by index;
    /// `targetColumns` empty for inputs only (`predict`).
    ///
    /// - Throws: ``KilnError`` as the other initializer does, or naming a column index out of range.
    public init(path: String, hasHeader: Bool, targetColumns: [Int], featureColumns: [Int], batchSize: Int = 32,
                delimiter: Character = ",") throws {
        guard batchSize > 0 else { throw KilnError(.invalidArgument, "batchSize must be positive, got \(batchSize)") }
        guard let byte = delimiter.asciiValue else { throw KilnError(.invalidArgument, "the delimiter must be one ASCII character") }
        guard let file = FileHandle(forReadingAtPath: path) else { throw KilnError(.file, "cannot open \(path)") }
        self.path = path
        self.file = file
        self.delimiter = byte
        self.batchSize = batchSize
        self.featureColumns = featureColumns
        self.targetColumns = targetColumns
        // One pass: the header, the width, and where every batch starts.
        var header: [String]?
        var width = -1, rows = 0
        var starts: [(offset: UInt64, line: Int)] = []
        try Self.lines(file, path: path, from: 0) { line, offset, number in
            let cells = Self.split(line, byte)
            if hasHeader, header == nil {
                header = cells.map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces) }
                width = cells.count
                return true
            }
            if width < 0 { width = cells.count }
            guard cells.count == width else {
                throw KilnError(.invalidData, "\(path): line \(number) has \(cells.count) cells, the first has \(width)")
            }
            if rows % batchSize == 0 { starts.append((offset, number)) }
            rows += 1
            return true
        }
        self.header = header
        self.rows = rows
        self.starts = starts
        self.width = width
        if let bad = (featureColumns + targetColumns).first(where: { $0 < 0 || $0 >= width }) {
            throw KilnError(.invalidArgument, "\(path) has \(width) columns; column \(bad) is out of range")
        }
        guard !featureColumns.isEmpty else { throw KilnError(.invalidArgument, "\(path): no feature columns") }
    }

    deinit { try? file.close() }

    public var count: Int { starts.count }

    public func batch(at index: Int) throws -> Batch {
        guard index >= 0, index < count else { throw KilnError(.invalidArgument, "batch \(index) of a CSVDataset of \(count)") }
        let wanted = Swift.min(batchSize, rows - index * batchSize)
        var features: [Float] = [], targets: [Float] = []
        features.reserveCapacity(wanted * featureColumns.count)
        targets.reserveCapacity(wanted * targetColumns.count)
        var read = 0
        try Self.lines(file, path: path, from: starts[index].offset, firstLine: starts[index].line) { line, _, number in
            let cells = Self.split(line, delimiter)
            guard cells.count == width else {
                throw KilnError(.invalidData, "\(path): line \(number) has \(cells.count) cells, the first has \(width)")
            }
            func cell(_ column: Int) throws -> Float {
                var text = String(decoding: cells[column], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
                guard let value = Float(text) else {
                    throw KilnError(.invalidData, "\(path): line \(number), column \(column + 1): \(String(reflecting: text)) "
                                    + "is not a number")
                }
                return value
            }
            for column in featureColumns { features.append(try cell(column)) }
            for column in targetColumns { targets.append(try cell(column)) }
            read += 1
            return read < wanted
        }
        guard read == wanted else { throw KilnError(.file, "\(path) changed while it was read: batch \(index) has \(read) rows") }
        let x = try Tensor(shape: [wanted, featureColumns.count], scalars: features)
        guard !targetColumns.isEmpty else { return Batch(x: x) }
        return Batch(x: x, y: try Tensor(shape: [wanted, targetColumns.count], scalars: targets))
    }

    /// The header line's names of the file at `path`.
    private static func headerNames(path: String, delimiter: Character) throws -> [String] {
        guard let file = FileHandle(forReadingAtPath: path), let byte = delimiter.asciiValue else {
            throw KilnError(.file, "cannot open \(path)")
        }
        defer { try? file.close() }
        var names: [String] = []
        try lines(file, path: path, from: 0) { line, _, _ in
            names = split(line, byte).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces) }
            return false
        }
        return names
    }

    /// The cells of a line.
    private static func split(_ line: ArraySlice<UInt8>, _ delimiter: UInt8) -> [ArraySlice<UInt8>] {
        line.split(separator: delimiter, omittingEmptySubsequences: false)
    }

    /// Calls `body` with each non-empty line of `file` from byte `offset` (without its line
    /// ending), the line's offset and its 1-based number, until it returns `false` or the file ends.
    private static func lines(_ file: FileHandle, path: String, from offset: UInt64, firstLine: Int = 1,
                              _ body: (ArraySlice<UInt8>, UInt64, Int) throws -> Bool) throws {
        var buffer: [UInt8] = []
        var bufferOffset = offset, number = firstLine
        var atEnd = false
        do {
            try file.seek(toOffset: offset)
            let first = try file.read(upToCount: 2) ?? Data()
            if offset == 0, Gzip.isCompressed(first) {
                throw KilnError(.file, "\(path) is gzipped; a CSVDataset reads uncompressed files (gunzip -k it), or load it "
                                + "whole with CSVTable")
            }
            buffer = [UInt8](first)
        } catch let error as KilnError {
            throw error
        } catch {
            throw KilnError(.file, "cannot read \(path): \((error as NSError).localizedDescription)")
        }
        var start = 0
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) ?? (atEnd && start < buffer.count ? buffer.count : nil) {
                var line = buffer[start..<newline]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                let lineOffset = bufferOffset + UInt64(start)
                start = Swift.min(newline + 1, buffer.count)
                if !line.allSatisfy({ $0 == UInt8(ascii: " ") }) {
                    guard try body(line, lineOffset, number) else { return }
                }
                number += 1
                continue
            }
            if atEnd { return }
            // Keep the unfinished line and read on.
            buffer.removeSubrange(0..<start)
            bufferOffset += UInt64(start)
            start = 0
            let more: Data
            do {
                more = try file.read(upToCount: 1 << 16) ?? Data()
            } catch {
                throw KilnError(.file, "cannot read \(path): \((error as NSError).localizedDescription)")
            }
            if more.isEmpty { atEnd = true } else { buffer += more }
        }
    }
}
