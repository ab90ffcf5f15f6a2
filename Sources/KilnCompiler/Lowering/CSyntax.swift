import KilnGraph

/// Spelling of types, sizes and literals in generated C.
enum CSyntax {
    /// `float`, `int32_t` or `uint8_t` (a `bool` is 0 or 1).
    static func type(_ dtype: DType) -> String {
        switch dtype {
        case .float32: "float"
        case .int32: "int32_t"
        case .bool: "uint8_t"
        }
    }

    /// A dimension: its size, or `n` for the batch dimension.
    static func dim(_ dim: Dim) -> String { dim.staticSize.map(String.init) ?? "n" }

    /// The product of `dims` as a C expression: `16*n`, `n*n`, `784`.
    static func product(_ dims: some Sequence<Dim>) -> String {
        var constant = 1, batch = 0
        for dim in dims {
            if let size = dim.staticSize { constant *= size } else { batch += 1 }
        }
        let factors = [String](repeating: "n", count: batch)
        if factors.isEmpty { return "\(constant)" }
        return (constant == 1 ? factors : ["\(constant)"] + factors).joined(separator: "*")
    }

    /// Row-major strides of `shape`, as C expressions.
    static func strides(_ shape: Shape) -> [String] {
        shape.dims.indices.map { product(shape.dims[($0 + 1)...]) }
    }

    /// A literal of the element at `index` of a constant.
    static func literal(_ value: Tensor, at index: Int = 0) -> String {
        switch value.storage {
        case .float32(let a): floatLiteral(a[index])
        case .int32(let a): a[index] == .min ? "(-2147483647 - 1)" : (a[index] < 0 ? "(\(a[index]))" : "\(a[index])")
        case .bool(let a): a[index] ? "1" : "0"
        }
    }

    /// `0.5f`, `(-2.0f)`, `(1.0f/0.0f)`.
    static func floatLiteral(_ x: Float) -> String {
        if x.isNaN { return "(0.0f/0.0f)" }
        if x.isInfinite { return x < 0 ? "(-1.0f/0.0f)" : "(1.0f/0.0f)" }
        var text = x.description
        if !text.contains(".") && !text.contains("e") { text += ".0" }
        return x.sign == .minus ? "(\(text)f)" : "\(text)f"
    }

    /// A C identifier made of `name`'s letters, digits and underscores.
    static func identifier(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// `name` as a C comment-safe string.
    static func commentSafe(_ text: String) -> String { text.replacing("*/", with: "* /") }
}
