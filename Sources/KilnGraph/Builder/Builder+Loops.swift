/// The results of a scan node (see ``Scan``).
public struct ScanOutputs {
    /// The carries after the last step, each of its carry's type.
    public let finalCarries: [Node]
    /// Each per-step output stacked into `[length, ...]`, step `t`'s at index `t`.
    public let outputs: [Node]
    /// The carries each step began with, stacked into `[length, ...]`.
    public let stepCarries: [Node]
}

extension Graph {
    /// Appends a loop running `scan`'s body once per step (see ``Scan``).
    ///
    /// ```swift
    /// // h_t = tanh(x_t · w + h_{t-1} · u), over xs: [steps, batch, features] (time-major)
    /// let body = Graph()
    /// let h = try body.placeholder("h", shape: [.batch, 4])
    /// let x = try body.placeholder("x", shape: [.batch, 3])
    /// let w = try body.placeholder("w", shape: [3, 4]), u = try body.placeholder("u", shape: [4, 4])
    /// let next = try tanh(matmul(x, w) + matmul(h, u))
    /// let loop = try Scan(body: body, carries: [h], steps: [x], invariants: [w, u],
    ///                     newCarries: [next], outputs: [next], length: 10)
    /// let out = try graph.scan(loop, carries: [h0], sequences: [xs], invariants: [wVar, uVar])
    /// // out.outputs[0]: f32[10,?,4], out.finalCarries[0]: f32[?,4]
    /// ```
    ///
    /// - Parameters:
    ///   - carries: The carries' initial values, of the body's carry types.
    ///   - sequences: `[length, ...]` each, of the body's step types with a leading axis of `length`.
    ///   - invariants: Values every step reads, of the body's invariant types.
    /// - Throws: ``KilnError`` naming the operand whose type does not fit the body.
    public func scan(_ scan: Scan, carries: [Node], sequences: [Node], invariants: [Node]) throws -> ScanOutputs {
        let loop = try append(.scan(scan), carries + sequences + invariants)
        let results = try scan.resultTypes.enumerated().map { index, type in
            try append(.scanResult(index: index, type: type), [loop])
        }
        let k = scan.carryCount, m = scan.outputCount
        return ScanOutputs(finalCarries: Array(results.prefix(k)), outputs: Array(results[k..<(k + m)]),
                           stepCarries: Array(results.suffix(k)))
    }
}
