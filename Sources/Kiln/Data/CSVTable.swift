import CSV
import Foundation
import KilnGraph

/// A numeric table read from a CSV file: every cell a number, every row as long as the first.
///
/// ```swift
/// let table = try CSVTable(contentsOf: "Examples/Data/digits.csv.gz")
/// let x = try table.tensor(columns: 0..<64)
/// let y = try table.tensor(columns: [64])
/// ```
/// gzip-compressed files are read transparently (recognised by their first bytes).
public struct CSVTable: Sendable {
    /// Where the table was read from (for messages).
    public let source: String
    /// The header's column names, when the file has a header line.
    public let header: [String]?
    /// The number of data rows.
    public let rowCount: Int
    /// The number of columns.
    public let columnCount: Int
    /// The cells, row by row.
    public let values: [Float]

    /// Reads a CSV file.
    ///
    /// - Parameters:
    ///   - path: The file, plain or gzip-compressed.
    ///   - hasHeader: Whether the first line names the columns.
    ///   - delimiter: The field separator (`,` by default; `" "` for space-separated files).
    /// - Throws: ``KilnError`` naming the file, and the row and column of a cell that is not a
    ///   number or a row with the wrong number of fields (rows count from 1, as lines do).
    public init(contentsOf path: String, hasHeader: Bool = false, delimiter: Character = ",") throws {
        try self.init(string: try readText(contentsOf: path), source: path, hasHeader: hasHeader, delimiter: delimiter)
    }

    /// Parses CSV text; `source` names it in errors.
    public init(string text: String, source: String = "CSV text", hasHeader: Bool = false,
                delimiter: Character = ",") throws {
        guard let scalar = delimiter.unicodeScalars.first, delimiter.unicodeScalars.count == 1 else {
            throw KilnError(.invalidArgument, "the delimiter must be one character, got \(String(reflecting: delimiter))")
        }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: text, hasHeaderRow: hasHeader, trimFields: true, delimiter: scalar)
        } catch {
            throw KilnError(.invalidData, "\(source): cannot read the header: \(error)")
        }
        let header = reader.headerRow
        var values: [Float] = []
        var width = header?.count
        var rows = 0
        var line = hasHeader ? 1 : 0
        while let row = reader.next() {
            line += 1
            if row.count == 1 && row[0].isEmpty { continue }  // a blank line
            if width == nil { width = row.count }
            guard row.count == width else {
                throw KilnError(.invalidData, "\(source), row \(line): \(row.count) fields, expected \(width!) "
                                + "like the \(hasHeader ? "header" : "first row")")
            }
            for (column, cell) in row.enumerated() {
                guard let value = Float(cell) else {
                    let name = header.map { " (\(String(reflecting: $0[column])))" } ?? ""
                    throw KilnError(.invalidData, "\(source), row \(line), column \(column + 1)\(name): "
                                    + "\(String(reflecting: cell)) is not a number")
                }
                values.append(value)
            }
            rows += 1
        }
        if let error = reader.error { throw KilnError(.invalidData, "\(source), row \(line + 1): \(error)") }
        guard rows > 0, let width else { throw KilnError(.invalidData, "\(source): there are no data rows") }
        self.source = source
        self.header = header
        self.rowCount = rows
        self.columnCount = width
        self.values = values
    }

    /// The columns at `columns` (0-based) as a `[rows, columns]` tensor.
    public func tensor(columns: some Sequence<Int>) throws -> Tensor {
        let chosen = Array(columns)
        for column in chosen where !(0..<columnCount).contains(column) {
            throw KilnError(.invalidArgument, "\(source): there is no column \(column); columns are 0..<\(columnCount)")
        }
        var out = [Float]()
        out.reserveCapacity(rowCount * chosen.count)
        for row in 0..<rowCount {
            for column in chosen { out.append(values[row * columnCount + column]) }
        }
        return try Tensor(shape: [rowCount, chosen.count], scalars: out)
    }

    /// The named columns (the header's names) as a `[rows, columns]` tensor.
    public func tensor(columns names: [String]) throws -> Tensor {
        guard let header else { throw KilnError(.invalidArgument, "\(source) has no header to name columns by") }
        let indices = try names.map { name in
            guard let index = header.firstIndex(of: name) else {
                throw KilnError(.invalidArgument, "\(source) has no column \(String(reflecting: name)); "
                                + "the header has \(header.map { String(reflecting: $0) }.joined(separator: ", "))")
            }
            return index
        }
        return try tensor(columns: indices)
    }

    /// One column as a `[rows]` tensor (labels or a regression target).
    public func column(_ index: Int) throws -> Tensor {
        let t = try tensor(columns: [index])
        return try Tensor(shape: [rowCount], scalars: t.scalars)
    }
}
