import Glibc

/// `printf`-style formatting without Foundation, for the numbers debug output, progress bars
/// and the tool print: `cFormat("%.2f ms", 1.234)` is `"1.23 ms"`.
package func cFormat(_ format: String, _ arguments: CVarArg...) -> String {
    withVaList(arguments) { list in
        var buffer = [CChar](repeating: 0, count: 512)
        let length = Int(vsnprintf(&buffer, buffer.count, format, list))
        return String(decoding: buffer.prefix(max(0, min(length, buffer.count - 1))).map { UInt8(bitPattern: $0) },
                      as: UTF8.self)
    }
}
