/// A size or offset that depends on the batch size `n`: `c0 + c1*n + c2*n² + ...`.
public struct BatchPolynomial: Hashable, Sendable, CustomStringConvertible {
    /// The coefficients, constant term first.
    public private(set) var coefficients: [Int]

    /// `c0 + c1*n + ...` from its coefficients.
    public init(_ coefficients: [Int] = []) {
        self.coefficients = coefficients
        trim()
    }

    /// `c * n^degree`.
    public static func monomial(_ c: Int, degree: Int) -> BatchPolynomial {
        BatchPolynomial([Int](repeating: 0, count: degree) + [c])
    }

    /// The value for batch size `n`, or `nil` if it overflows.
    public func value(n: Int) -> Int? {
        var total = 0, power = 1
        for (degree, c) in coefficients.enumerated() {
            if degree > 0 {
                let (p, overflow) = power.multipliedReportingOverflow(by: n)
                if overflow { return nil }
                power = p
            }
            let (term, o1) = c.multipliedReportingOverflow(by: power)
            let (sum, o2) = total.addingReportingOverflow(term)
            if o1 || o2 { return nil }
            total = sum
        }
        return total
    }

    /// The sum.
    public static func + (a: BatchPolynomial, b: BatchPolynomial) -> BatchPolynomial {
        var c = [Int](repeating: 0, count: max(a.coefficients.count, b.coefficients.count))
        for (i, x) in a.coefficients.enumerated() { c[i] += x }
        for (i, x) in b.coefficients.enumerated() { c[i] += x }
        return BatchPolynomial(c)
    }

    /// The larger coefficient of each power: at least both for every batch size.
    public static func maximum(_ a: BatchPolynomial, _ b: BatchPolynomial) -> BatchPolynomial {
        var c = [Int](repeating: 0, count: max(a.coefficients.count, b.coefficients.count))
        for (i, x) in a.coefficients.enumerated() { c[i] = max(c[i], x) }
        for (i, x) in b.coefficients.enumerated() { c[i] = max(c[i], x) }
        return BatchPolynomial(c)
    }

    /// The C expression, with `n` for the batch size: `256 + 64*n`.
    public var description: String { cExpression(batch: "n") }

    /// The C expression with `batch` standing for the batch size.
    public func cExpression(batch: String) -> String {
        var terms: [String] = []
        for (degree, c) in coefficients.enumerated() where c != 0 {
            let power = [String](repeating: batch, count: degree).joined(separator: "*")
            terms.append(degree == 0 ? "\(c)" : (c == 1 ? power : "\(c)*\(power)"))
        }
        return terms.isEmpty ? "0" : terms.joined(separator: " + ")
    }

    private mutating func trim() {
        while coefficients.last == 0 { coefficients.removeLast() }
    }
}
