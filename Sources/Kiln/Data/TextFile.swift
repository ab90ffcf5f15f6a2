import Foundation

/// The UTF-8 text of a file, plain or gzip-compressed (recognised by its first bytes): a
/// corpus for a text model, or a table for ``CSVTable``.
///
/// - Throws: ``KilnError`` naming the file if it cannot be read, its compressed data is
///   broken, or it is not UTF-8.
public func readText(contentsOf path: String) throws -> String {
    var data = try readFile(path)
    if Gzip.isCompressed(data) { data = try Gzip.decompress(data, path: path) }
    guard let text = String(data: data, encoding: .utf8) else {
        throw KilnError(.invalidData, "\(path): the file is not UTF-8 text")
    }
    return text
}
