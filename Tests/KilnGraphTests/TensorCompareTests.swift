import KilnGraph
import KilnTestSupport
import Testing

/// The one tolerance rule: `|actual - expected| <= atol + rtol * |expected|`, NaN matching
/// NaN, infinities matching only themselves; the worst element reported with its position.
@Suite("Comparing tensors with tolerances")
struct TensorCompareTests {
    @Test func withinToleranceAndExactlyEqual() {
        let expected = f32([2, 2], [1, -2, 100, 0])
        let equal = expected.compared(to: expected, rtol: 0, atol: 0)
        #expect(equal.passes && equal.worst == nil && equal.maxAbsoluteError == 0 && "\(equal)" == "every element equal")
        let close = f32([2, 2], [1.00001, -2, 100.005, 0]).compared(to: expected, rtol: 1e-4, atol: 0)
        #expect(close.passes && close.mismatches == 0)
        #expect(close.worst?.index == 0)  // nearest its bound: 1e-5 of 1e-4, where element 2 is 0.005 of 0.01
    }

    @Test("the worst element is the one furthest outside the tolerance, with its index and position")
    func worstElement() {
        let expected = f32([2, 3], [1, 2, 3, 4, 5, 6])
        let actual = f32([2, 3], [1.1, 2, 3, 4, 5.4, 6])
        let comparison = actual.compared(to: expected, rtol: 0, atol: 0.05)
        #expect(!comparison.passes && comparison.mismatches == 2)
        #expect(comparison.worst?.index == 4 && comparison.worst?.position == [1, 1])
        #expect(comparison.worst?.actual == 5.4 && comparison.worst?.expected == 5)
        #expect(Swift.abs(comparison.maxAbsoluteError - 0.4) < 1e-6)
        #expect("\(comparison)".hasPrefix("element 4 (position [1, 1]) is 5.4, expected 5.0: 2 of 6 elements outside"))
    }

    @Test("NaN matches NaN; infinities match only themselves and count as infinitely far otherwise")
    func specialValues() {
        let expected = f32([4], [.nan, .infinity, -.infinity, 1])
        #expect(expected.compared(to: expected, rtol: 0, atol: 0).passes)
        let nanWhereOne = f32([4], [.nan, .infinity, -.infinity, .nan]).compared(to: expected, rtol: 1, atol: 1)
        #expect(!nanWhereOne.passes && nanWhereOne.worst?.index == 3 && nanWhereOne.maxAbsoluteError == .infinity)
        let finiteWhereInfinite = f32([4], [.nan, 1e30, -.infinity, 1]).compared(to: expected, rtol: 1, atol: 1)
        #expect(!finiteWhereInfinite.passes && finiteWhereInfinite.worst?.index == 1)
    }

    @Test func typesMustAgree() {
        let comparison = f32([2, 3], Array(repeating: 0, count: 6)).compared(to: f32([3, 2], Array(repeating: 0, count: 6)),
                                                                           rtol: 1, atol: 1)
        #expect(!comparison.passes && "\(comparison)" == "type f32[2,3], expected f32[3,2]")
        #expect(!i32([1], [1]).compared(to: f32([1], [1]), rtol: 1, atol: 1).passes)
    }
}
