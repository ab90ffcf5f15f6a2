import Foundation

extension Kiln {
    /// Runs a program's body and turns an error into one line on standard error and exit
    /// status 1, instead of a crash with a stack trace:
    ///
    /// ```swift
    /// Kiln.run {
    ///     let table = try CSVTable(contentsOf: "digits.csv.gz")   // missing → "error: digits.csv.gz: ..."
    ///     ...
    /// }
    /// ```
    public static func run(_ body: () throws -> Void) {
        do {
            try body()
        } catch {
            let message = (error as? KilnError)?.message ?? String(describing: error)
            let line = message.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? message
            FileHandle.standardError.write(Data("error: \(line)\n".utf8))
            exit(1)
        }
    }

    /// The value after `--name` on the command line (`--epochs 5`), or `fallback`; a value
    /// that does not parse is an error naming the option.
    public static func option<T: LosslessStringConvertible>(_ name: String, default fallback: T) throws -> T {
        let arguments = CommandLine.arguments
        guard let index = arguments.firstIndex(of: "--" + name) else { return fallback }
        guard index + 1 < arguments.count, let value = T(arguments[index + 1]) else {
            throw KilnError(.invalidArgument, "--\(name) needs a \(T.self) value")
        }
        return value
    }
}
