import KilnGraph
import Testing

/// Whether `actual` has `expected`'s type and every element within `atol + rtol * |expected|`
/// (``Tensor/compared(to:rtol:atol:)``); records an issue naming the worst element otherwise.
@discardableResult
package func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Float, atol: Float, _ context: String = "",
                         sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    let comparison = actual.compared(to: expected, rtol: rtol, atol: atol)
    if !comparison.passes {
        Issue.record("\(context): \(comparison)", sourceLocation: sourceLocation)
    }
    return comparison.passes
}
