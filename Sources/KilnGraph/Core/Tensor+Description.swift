extension Tensor: CustomStringConvertible {
    /// The type on the first line, then the elements nested by dimension like NumPy prints
    /// them; long dimensions are summarised with `...`.
    ///
    /// ```
    /// f32[2,3]
    /// [[1.0, 2.0, 3.0],
    ///  [4.0, 5.0, 6.0]]
    /// ```
    public var description: String {
        let elements: [String]
        switch storage {
        case .float32(let a): elements = a.map { $0.description }
        case .int32(let a): elements = a.map { $0.description }
        case .bool(let a): elements = a.map { $0.description }
        }
        let summarise = elements.count > 1000
        return "\(type)\n" + Tensor.render(elements, shape: shape[...], offset: 0, depth: 0, summarise: summarise)
    }

    private static func render(_ elements: [String], shape: ArraySlice<Int>, offset: Int, depth: Int,
                               summarise: Bool) -> String {
        guard let size = shape.first else { return elements[offset] }
        let inner = shape.dropFirst()
        let stride = inner.reduce(1, *)
        var indices = Array(0..<size)
        var gapAfter: Int? = nil
        if summarise && size > 6 {
            indices = [0, 1, 2, size - 3, size - 2, size - 1]
            gapAfter = 2
        }
        let separator = inner.isEmpty ? ", " : "," + String(repeating: "\n", count: inner.count) +
            String(repeating: " ", count: depth + 1)
        var parts: [String] = []
        for (position, index) in indices.enumerated() {
            parts.append(render(elements, shape: inner, offset: offset + index * stride, depth: depth + 1,
                                summarise: summarise))
            if position == gapAfter { parts.append("...") }
        }
        return "[" + parts.joined(separator: separator) + "]"
    }
}
