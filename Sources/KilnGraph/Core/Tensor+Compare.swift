/// How close a tensor is to an expected one, element by element: what
/// ``Tensor/compared(to:rtol:atol:)`` finds.
///
/// An element passes when `|actual - expected| <= atol + rtol * |expected|`, or when both
/// are NaN, or both are the same infinity. `KILN_VALIDATE`, `kiln compare` and the tests all
/// judge with this one rule.
public struct TensorComparison: Sendable, CustomStringConvertible {
    /// One element of both tensors.
    public struct Element: Sendable, Equatable {
        /// The row-major index.
        public let index: Int
        /// The position in the expected tensor's shape.
        public let position: [Int]
        /// The value compared.
        public let actual: Float
        /// The value it was compared with.
        public let expected: Float
    }

    /// The relative tolerance.
    public let rtol: Float
    /// The absolute tolerance.
    public let atol: Float
    /// The compared tensor's type.
    public let actualType: TensorType
    /// The expected tensor's type.
    public let expectedType: TensorType
    /// How many elements are outside the tolerance.
    public let mismatches: Int
    /// The element furthest outside its tolerance or, when all pass, the one nearest its
    /// bound (`|actual - expected| - (atol + rtol * |expected|)` the largest); `nil` when
    /// every element is exactly equal (or the types differ).
    public let worst: Element?
    /// The largest `|actual - expected|` (infinite where one side is NaN or an infinity
    /// the other is not).
    public let maxAbsoluteError: Float
    /// The largest `|actual - expected| / |expected|` over nonzero expected values.
    public let maxRelativeError: Float

    /// Whether the types agree and every element passes.
    public var passes: Bool { actualType == expectedType && mismatches == 0 }

    /// `element 3 (position [1, 0]) is 0.5, expected 0.49: 1 of 6 elements outside atol 1e-05 + rtol 0.0001 * |expected|`.
    public var description: String {
        guard actualType == expectedType else { return "type \(actualType), expected \(expectedType)" }
        guard let worst else { return "every element equal" }
        let element = "element \(worst.index)" + (worst.position.count > 1 ? " (position \(worst.position))" : "")
            + " is \(worst.actual), expected \(worst.expected)"
        guard mismatches > 0 else { return "within tolerance; nearest its bound: \(element)" }
        let count = expectedType.shape.staticProduct.map { " of \($0)" } ?? ""
        return "\(element): \(mismatches)\(count) element\(mismatches == 1 ? "" : "s") outside atol \(atol) + rtol \(rtol) * |expected|"
    }
}

extension Tensor {
    /// Compares this tensor, element by element, with `expected` (see ``TensorComparison``).
    public func compared(to expected: Tensor, rtol: Float, atol: Float) -> TensorComparison {
        let (a, e) = (scalars, expected.scalars)
        var mismatches = 0, maxAbsolute: Float = 0, maxRelative: Float = 0
        var worst: (index: Int, excess: Float, passes: Bool)?
        if type == expected.type {
            for index in e.indices where !(a[index] == e[index] || (a[index].isNaN && e[index].isNaN)) {
                let difference = Swift.abs(a[index] - e[index])
                let error = difference.isNaN || !e[index].isFinite ? Float.infinity : difference
                let bound = atol + rtol * Swift.abs(e[index])
                let passes = e[index].isFinite && difference <= bound
                if !passes { mismatches += 1 }
                maxAbsolute = Swift.max(maxAbsolute, error)
                if e[index] != 0 { maxRelative = Swift.max(maxRelative, error / Swift.abs(e[index])) }
                let excess = (error - bound).isNaN ? Float.infinity : error - bound
                // A failing element beats any passing one; among equals, the larger excess.
                if let current = worst, current.passes == passes ? current.excess >= excess : passes { continue }
                worst = (index, excess, passes)
            }
        }
        let element = worst.map { worst in
            TensorComparison.Element(index: worst.index, position: Indexing.unravel(worst.index, in: expected.shape),
                                     actual: a[worst.index], expected: e[worst.index])
        }
        return TensorComparison(rtol: rtol, atol: atol, actualType: type, expectedType: expected.type,
                                mismatches: mismatches, worst: element, maxAbsoluteError: maxAbsolute,
                                maxRelativeError: maxRelative)
    }
}
