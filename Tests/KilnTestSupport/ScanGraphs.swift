import KilnGraph

/// A running sum: `c' = c + x`, with per-step output `2c'`, over `[steps, ?, 2]`.
package func runningSum(_ graph: Graph, _ c0: Node, _ xs: Node, steps: Int, reverse: Bool = false) throws -> ScanOutputs {
    let body = Graph()
    let c = try body.placeholder("c", shape: [.batch, 2])
    let x = try body.placeholder("x", shape: [.batch, 2])
    let next = try c + x
    let loop = try Scan(body: body, carries: [c], steps: [x], invariants: [], newCarries: [next], outputs: [next * 2],
                        length: steps, reverse: reverse)
    return try graph.scan(loop, carries: [c0], sequences: [xs], invariants: [])
}

/// An Elman network: `h' = tanh(x·w + h·u + b)`, output `h'`, over `xs: [steps, ?, features]`.
package func elman(_ h0: Node, _ xs: Node, _ w: Node, _ u: Node, _ b: Node, reverse: Bool = false) throws -> ScanOutputs {
    guard case .size(let steps) = xs.shape[0] else { throw KilnError(.invalidArgument, "static steps") }
    let body = Graph()
    let h = try body.placeholder("h", type: h0.type)
    let x = try body.placeholder("x", shape: Shape(Array(xs.shape.dims.dropFirst())))
    let wb = try body.placeholder("w", type: w.type), ub = try body.placeholder("u", type: u.type)
    let bb = try body.placeholder("b", type: b.type)
    let next = try tanh(matmul(x, wb) + matmul(h, ub) + bb)
    let loop = try Scan(body: body, carries: [h], steps: [x], invariants: [wb, ub, bb], newCarries: [next], outputs: [next],
                        length: steps, reverse: reverse)
    return try h0.graph.scan(loop, carries: [h0], sequences: [xs], invariants: [w, u, b])
}

extension Graph {
    fileprivate func placeholder(_ name: String, type: TensorType) throws -> Node {
        try placeholder(name, shape: type.shape, dtype: type.dtype)
    }
}

/// A recurrent network whose input product is computed ahead of the loop, as recurrent layers
/// do: `h' = tanh(p_t + h·u + b)` with `p = xs·w` (`[steps, ?, units]`), output `h'`. Unless
/// `differentiableInput`, the input is read through `stopGradient`, so that `w`'s gradient is
/// the only reader of the loop's per-step gradient.
package func inputProductNetwork(_ h0: Node, _ xs: Node, _ w: Node, _ u: Node, _ b: Node, reverse: Bool = false,
                                 differentiableInput: Bool = false) throws -> ScanOutputs {
    guard case .size(let steps) = xs.shape[0] else { throw KilnError(.invalidArgument, "static steps") }
    let products = try matmul(differentiableInput ? xs : stopGradient(xs), w)
    let body = Graph()
    let h = try body.placeholder("h", type: h0.type)
    let p = try body.placeholder("p", shape: Shape(Array(products.shape.dims.dropFirst())))
    let ub = try body.placeholder("u", type: u.type), bb = try body.placeholder("b", type: b.type)
    let next = try tanh(p + matmul(h, ub) + bb)
    let loop = try Scan(body: body, carries: [h], steps: [p], invariants: [ub, bb], newCarries: [next], outputs: [next],
                        length: steps, reverse: reverse)
    return try h0.graph.scan(loop, carries: [h0], sequences: [products], invariants: [u, b])
}
